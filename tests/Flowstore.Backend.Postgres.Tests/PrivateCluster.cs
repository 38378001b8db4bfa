using System.Diagnostics;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>
/// A PostgreSQL cluster of one test's own (initdb into a temporary folder, pg_ctl on a free port of 127.0.0.1), for
/// faults the shared test server must not suffer: stopping and restarting the server. Uses the binaries named by
/// FLOWSTORE_TEST_POSTGRES_BIN; as root, initdb and pg_ctl run as the 'postgres' user (PostgreSQL refuses root).
/// </summary>
internal sealed class PrivateCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly string _data;
    private readonly string? _runAs;

    private PrivateCluster(string root, int port, string? runAs)
    {
        _root = root;
        _data = Path.Combine(root, "data");
        Port = port;
        _runAs = runAs;
    }

    public int Port { get; }

    /// <summary>The cluster's 'postgres' database, with a password that trust authentication ignores (never shown).</summary>
    public string ConnectionString(string password = "unused", string database = "postgres")
        => $"Host=127.0.0.1;Port={Port};Username=postgres;Password={password};Database={database};Timeout=5";

    public static async Task<PrivateCluster> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "flowstore-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        if (runAs is not null)
        {
            await RunAsync("chown", [$"{runAs}:", root], null);
        }
        var cluster = new PrivateCluster(root, Ports.Free(), runAs);
        try
        {
            await RunAsync(Path.Combine(PostgresTestServer.BinDirectory, "initdb"),
                ["-D", cluster._data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"], runAs);
            await cluster.StartServerAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the (stopped) server again on the same port, and waits until it accepts connections.</summary>
    public Task StartServerAsync() => RunAsync(Path.Combine(PostgresTestServer.BinDirectory, "pg_ctl"),
        ["-D", _data, "-l", Path.Combine(_root, "postgres.log"), "-w", "-t", "60",
         "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {_root} -c fsync=off", "start"], _runAs);

    /// <summary>Stops the server (fast shutdown: connected sessions are ended) and waits until it is gone.</summary>
    public Task StopServerAsync() => RunAsync(Path.Combine(PostgresTestServer.BinDirectory, "pg_ctl"),
        ["-D", _data, "-m", "fast", "-w", "-t", "60", "stop"], _runAs);

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(_data, "postmaster.pid")))
        {
            try
            {
                await StopServerAsync();
            }
            catch (InvalidOperationException)
            {
                // Already stopped.
            }
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover folder in the temporary directory.
        }
    }

    private static async Task RunAsync(string command, string[] arguments, string? runAs)
    {
        var start = new ProcessStartInfo
        {
            FileName = runAs is null ? command : "runuser",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (runAs is not null)
        {
            foreach (var a in new[] { "-u", runAs, "--", command })
            {
                start.ArgumentList.Add(a);
            }
        }
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(command)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}
