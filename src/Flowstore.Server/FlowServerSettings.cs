using System.Net;

namespace Flowstore.Server;

/// <summary>
/// The server's settings, section "Flowstore" of the configuration: appsettings.json, environment variables
/// (<c>Flowstore__Port=5080</c>; also <c>FLOWSTORE_HOME</c>), or arguments (<c>--Flowstore:Port=5080</c>).
/// </summary>
public sealed class FlowServerSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Flowstore";

    /// <summary>The port to listen on; 0 picks a free one (written to the server file in the home).</summary>
    public int Port { get; set; } = 5080;

    /// <summary>The address to listen on: 127.0.0.1 by default (this machine only); 0.0.0.0 or * for every interface.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Sqlite (a file in the home, or the path in <see cref="ConnectionString"/>) or Postgres.</summary>
    public string Backend { get; set; } = "Sqlite";

    /// <summary>For Sqlite the database file (default: flowstore.db in the home); for Postgres an Npgsql connection string.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The server's home: its SQLite database, its server file and log. Default: FLOWSTORE_HOME, else ~/.flowstore.</summary>
    public string? Home { get; set; }

    /// <summary>The largest request body accepted, in megabytes (a bigger one is 413 RequestTooLarge).</summary>
    public double MaxRequestBodyMegabytes { get; set; } = 16;

    /// <summary>Simple (one line per entry) or Json (structured, one object per line) console logs; None for no console log.</summary>
    public string LogFormat { get; set; } = "Simple";

    /// <summary>Also write the log to this file (relative paths are under the home); none when empty.</summary>
    public string? LogFile { get; set; }

    /// <summary>
    /// Required (the default): every /api/v1 call needs an API key of the backend's key store with a role that allows it;
    /// the first start over an empty key store writes an admin key to admin.key in the home (owner-only) and logs that
    /// file's path, never the key. None: an open server, for one user on one box (anyone who reaches the port may do
    /// anything); it must be set explicitly. Any other value refuses to start (ServerSettingInvalid).
    /// </summary>
    public string ApiKeys { get; set; } = "Required";

    /// <summary>Whether <see cref="ApiKeys"/> asks for keys; ServerSettingInvalid for a value that is neither Required nor None.</summary>
    public bool RequireApiKeys => ApiKeys?.Trim() switch
    {
        var value when string.Equals(value, "Required", StringComparison.OrdinalIgnoreCase) => true,
        var value when string.Equals(value, "None", StringComparison.OrdinalIgnoreCase) => false,
        _ => throw new FlowstoreException(ErrorIds.ServerSettingInvalid, FlowErrorKind.InvalidArgument,
            $"The server setting {Section}:ApiKeys is '{ApiKeys}'; use Required (API keys, the default) or None (an open server for one user on one box).")
        {
            Target = Section + ":ApiKeys",
        },
    };

    /// <summary>
    /// On (default): the server runs the scheduler that creates the runs of flow schedules (any number of servers on one
    /// database may; they take turns). Off: it does not (another server does).
    /// </summary>
    public string Scheduler { get; set; } = "On";

    /// <summary>Whether <see cref="Scheduler"/> is On; ServerSettingInvalid for a value that is neither On nor Off.</summary>
    public bool RunsScheduler => Scheduler?.Trim() switch
    {
        var value when string.Equals(value, "On", StringComparison.OrdinalIgnoreCase) => true,
        var value when string.Equals(value, "Off", StringComparison.OrdinalIgnoreCase) => false,
        _ => throw new FlowstoreException(ErrorIds.ServerSettingInvalid, FlowErrorKind.InvalidArgument,
            $"The server setting {Section}:Scheduler is '{Scheduler}'; use On (the server creates scheduled runs, the default) or Off.")
        {
            Target = Section + ":Scheduler",
        },
    };

    /// <summary>Whether <see cref="Address"/> is reachable from this machine only.</summary>
    public bool IsLoopbackOnly => Address.Trim() switch
    {
        "localhost" => true,
        var address => IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip),
    };

    /// <summary>The home folder these settings name.</summary>
    public string ResolveHome() => string.IsNullOrWhiteSpace(Home) ? FlowstoreHome.Path : Path.GetFullPath(FlowstoreHome.ExpandTilde(Home.Trim()));
}
