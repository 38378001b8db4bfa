using Flowstore.Backend.Http;
using Microsoft.AspNetCore.Builder;

namespace Flowstore.Server.Tests;

/// <summary>
/// The real Flowstore server, Kestrel on a free port of 127.0.0.1 in this process (a real socket, no test host), over a
/// SQLite file in a home of its own. Stopped and started again on the same port by <see cref="RestartAsync"/>.
/// </summary>
public sealed class RunningServer : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _home = new("flowstore-server-tests");
    private readonly string[] _extraArgs;
    private readonly Action<WebApplicationBuilder>? _configure;
    private WebApplication? _app;

    public RunningServer() : this(null)
    {
    }

    /// <summary>
    /// A server with <paramref name="extraArgs"/> after the test defaults, which include an open server
    /// (<c>--Flowstore:ApiKeys=None</c>, as Start-FlowServer -NoApiKeys): a later <c>--Flowstore:ApiKeys=Required</c> wins.
    /// </summary>
    internal RunningServer(Action<WebApplicationBuilder>? configure, params string[] extraArgs)
        : this(configure, openByDefault: true, extraArgs)
    {
    }

    private RunningServer(Action<WebApplicationBuilder>? configure, bool openByDefault, string[] extraArgs)
    {
        _configure = configure;
        _extraArgs = openByDefault ? ["--Flowstore:ApiKeys=None", .. extraArgs] : extraArgs;
    }

    /// <summary>A server with the executable's own defaults for what <paramref name="extraArgs"/> does not set (API keys required).</summary>
    internal static RunningServer WithServerDefaults(params string[] extraArgs) => new(null, openByDefault: false, extraArgs);

    /// <summary>The server's log file.</summary>
    public string LogFile => Path.Combine(Home, "server.log");

    /// <summary>Where the server listens (a trailing slash).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The server's home (its database, server file and log).</summary>
    public string Home => _home.Path;

    public async Task InitializeAsync() => await StartAsync(port: 0);

    /// <summary>A client of this server (fast retries, so unreachable cases end quickly).</summary>
    public HttpFlowBackend Client(string? apiKey = null, int attempts = 4)
        => new(Url, apiKey, new HttpFlowBackendOptions { Attempts = attempts, RetryDelay = TimeSpan.FromMilliseconds(50) });

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Stops the server and starts a new one on the same port over the same database.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync(Url.Port);
    }

    private async Task StartAsync(int port)
    {
        string[] args =
        [
            $"--Flowstore:Port={port}",
            $"--Flowstore:Home={_home.Path}",
            "--Flowstore:LogFile=server.log",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Flowstore=Information",
            .. _extraArgs,
        ];
        _app = FlowServer.Create(args, _configure);
        await _app.StartAsync();
        Url = FlowServer.Url(_app);
    }

    public async Task DisposeAsync() => await StopAsync();

    public void Dispose() => _home.Dispose();
}
