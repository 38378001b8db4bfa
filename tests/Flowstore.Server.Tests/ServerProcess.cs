using System.Diagnostics;
using Flowstore.Backend.Http;
using Flowstore.Engine;

namespace Flowstore.Server.Tests;

/// <summary>
/// The real Flowstore.Server as a process of its own (started the way Start-FlowServer starts it, by
/// <see cref="FlowServerLauncher"/>), over a home and a backend that outlive it: stopped cleanly (SIGTERM) or killed
/// (SIGKILL, as a crash or a power cut would) and started again on the same port over the same home and database.
/// Waits are on conditions (the process, /health) with deadlines, never on a fixed time.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly string _backend;
    private readonly string? _connectionString;
    private FlowServerProcess? _process;

    private ServerProcess(string home, string backend, string? connectionString)
    {
        Home = home;
        _backend = backend;
        _connectionString = connectionString;
    }

    /// <summary>The server's home (server.json, server.log, and for SQLite its database).</summary>
    public string Home { get; }

    /// <summary>Where it listens (the same port across restarts).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The running server's process id.</summary>
    public int ProcessId => _process?.ProcessId ?? throw new InvalidOperationException("The server is not running.");

    /// <summary>The server's log file.</summary>
    public string LogFile => Path.Combine(Home, FlowServerLauncher.LogFileName);

    /// <summary>Starts a server on a free port over <paramref name="home"/> (Sqlite) or a PostgreSQL connection string.</summary>
    public static async Task<ServerProcess> StartAsync(string home, string backend = "Sqlite", string? connectionString = null)
    {
        var server = new ServerProcess(home, backend, connectionString);
        await server.StartAsync(PortOutsideEphemeralRange());
        return server;
    }

    /// <summary>
    /// A free port below the kernel's ephemeral range: a server stopped and started again on its port must find it
    /// free, and a port the kernel hands out (another test's server on port 0, an outgoing connection) could take it
    /// meanwhile on a busy machine. Picked at random in 10000..(start of the range), checked by binding it.
    /// </summary>
    private static int PortOutsideEphemeralRange()
    {
        var low = 32768;
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            low = int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(10000, Math.Max(10001, low));
            try
            {
                using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }
        return 0; // the kernel's choice, as Start-FlowServer makes it
    }

    /// <summary>A client of the server with quick retries and a bounded wait per request (a test should not wait long for an expected failure).</summary>
    public HttpFlowBackend Client(int attempts = 4, TimeSpan? retryDelay = null)
        => new(Url, apiKey: null, new HttpFlowBackendOptions { Attempts = attempts, RetryDelay = retryDelay ?? TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(30) });

    /// <summary>Starts the server again on the port it had (after <see cref="StopAsync"/> or <see cref="KillAsync"/>).</summary>
    public Task StartAgainAsync() => StartAsync(Url.Port);

    /// <summary>Stops the server as a service manager does (SIGTERM: it finishes what it answers and ends).</summary>
    public async Task StopAsync()
    {
        using var timeout = new CancellationTokenSource(Deadline);
        await FlowServerLauncher.StopAsync(Home, TimeSpan.FromSeconds(30), timeout.Token);
        _process = null;
    }

    /// <summary>Kills the server (SIGKILL): whatever it was doing stops mid-way, as in a crash.</summary>
    public async Task KillAsync()
    {
        using var process = Process.GetProcessById(ProcessId);
        process.Kill(entireProcessTree: true);
        using var timeout = new CancellationTokenSource(Deadline);
        await process.WaitForExitAsync(timeout.Token);
        File.Delete(Path.Combine(Home, FlowServer.ServerFileName)); // a killed server cannot remove its own file
        _process = null;
    }

    /// <summary>Waits until /health says <paramref name="status"/> (Healthy, Unhealthy), failing after a deadline.</summary>
    public async Task WaitForHealthAsync(string status = "Healthy")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTimeOffset.UtcNow + Deadline;
        string? last = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                // Healthy is 200, Unhealthy 503; both carry the same JSON body.
                using var response = await http.GetAsync(new Uri(Url, FlowstoreApi.HealthPath));
                var health = System.Text.Json.JsonSerializer.Deserialize<HealthAnswer>(await response.Content.ReadAsStringAsync(), FlowstoreApi.ClientOptions);
                if (health?.Status == status)
                {
                    return;
                }
                last = $"{health?.Status}: {health?.Error}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                last = e.Message;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"The server at {Url} did not report {status} within {Deadline.TotalSeconds:0} s (last: {last}).");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await StopAsync();
        }
    }

    private async Task StartAsync(int port)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        _process = await FlowServerLauncher.StartAsync(new FlowServerStartOptions
        {
            Home = Home,
            Port = port,
            Backend = _backend,
            ConnectionString = _connectionString,
            RequireApiKeys = false, // an open server (Start-FlowServer -NoApiKeys): these tests are about faults, not keys
            StartTimeout = Deadline,
        }, timeout.Token);
        Url = _process.Url;
    }
}
