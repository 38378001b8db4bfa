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
    /// None (the default: an open server, for one user on 127.0.0.1) or Required: every /api/v1 call needs an API key of
    /// the backend's key store with a role that allows it; the first start over an empty store writes an admin key to
    /// admin.key in the home (owner-only).
    /// </summary>
    public string ApiKeys { get; set; } = "None";

    /// <summary>Whether <see cref="ApiKeys"/> asks for keys.</summary>
    public bool RequireApiKeys => string.Equals(ApiKeys?.Trim(), "Required", StringComparison.OrdinalIgnoreCase);

    /// <summary>The home folder these settings name.</summary>
    public string ResolveHome() => string.IsNullOrWhiteSpace(Home) ? FlowstoreHome.Path : Path.GetFullPath(FlowstoreHome.ExpandTilde(Home.Trim()));
}
