namespace Flowstore.Commands;

/// <summary>
/// Start-FlowServer: starts the Flowstore server as a process of its own, which keeps running after this session ends,
/// waits until it answers, and outputs where it listens (Url, ProcessId, Backend, ApiKeys; on the first start over an empty
/// database the admin key it made, as a SecureString). Keys are required unless -NoApiKeys. Stop it with Stop-FlowServer.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "FlowServer", SupportsShouldProcess = true)]
[OutputType(typeof(FlowServerProcess))]
public sealed class StartFlowServerCommand : FlowCmdlet
{
    /// <summary>The port on 127.0.0.1 (or -Address); a free one when not given.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(0, 65535)]
    public int Port { get; set; }

    /// <summary>Sqlite (a file in the server's home) or Postgres (-ConnectionString).</summary>
    [Parameter]
    [ValidateSet("Sqlite", "Postgres")]
    public string Backend { get; set; } = "Sqlite";

    /// <summary>For Sqlite a database file; for Postgres an Npgsql connection string (passed to the server in its environment).</summary>
    [Parameter]
    public string? ConnectionString { get; set; }

    /// <summary>The server's home: its SQLite database, server.json and server.log. Default: this session's Flowstore home.</summary>
    [Parameter]
    public string? Home { get; set; }

    /// <summary>The address to listen on: 127.0.0.1 by default; 0.0.0.0 for every interface.</summary>
    [Parameter]
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>An open server that asks for no API key (one user on one box); by default every call needs a key.</summary>
    [Parameter]
    public SwitchParameter NoApiKeys { get; set; }

    protected override void ProcessRecord()
    {
        if (Backend == "Postgres" && string.IsNullOrWhiteSpace(ConnectionString))
        {
            Terminate(new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidArgument,
                "A Postgres server needs a connection string.") { Target = "ConnectionString" });
        }
        var home = Home is null ? FlowstoreHome.Path : GetUnresolvedProviderPathFromPSPath(Home);
        if (!ShouldProcess(home, $"Start a Flowstore server ({Backend}, {(NoApiKeys ? "open, no API keys" : "API keys required")}) for the home"))
        {
            return;
        }
        var options = new FlowServerStartOptions
        {
            Port = Port,
            Backend = Backend,
            ConnectionString = ConnectionString,
            Home = home,
            Address = Address,
            RequireApiKeys = !NoApiKeys,
        };
        WriteObject(RunOrTerminate(ct => FlowServerLauncher.StartAsync(options, ct), home));
    }
}
