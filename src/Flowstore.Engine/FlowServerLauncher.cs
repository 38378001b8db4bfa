using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using System.Text.Json;
using Flowstore.Backend.Http;

namespace Flowstore.Engine;

/// <summary>What Start-FlowServer starts.</summary>
public sealed record FlowServerStartOptions
{
    /// <summary>The port; 0 (default) picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Sqlite or Postgres.</summary>
    public string Backend { get; init; } = "Sqlite";

    /// <summary>For Sqlite a database file; for Postgres an Npgsql connection string (passed in the environment, never on a command line).</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The server's home (its database, server file and log).</summary>
    public required string Home { get; init; }

    /// <summary>The address to listen on (127.0.0.1 unless told).</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>
    /// Whether every call needs an API key (the team default). False starts an open server, for one user on one box:
    /// whoever reaches its port may do anything.
    /// </summary>
    public bool RequireApiKeys { get; init; } = true;

    /// <summary>How long to wait for the server to answer /health.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>A started server: where it listens and its process.</summary>
/// <param name="Url">Its base URL.</param>
/// <param name="ProcessId">Its process (Stop-FlowServer ends it).</param>
/// <param name="Backend">Sqlite or Postgres.</param>
/// <param name="Home">Its home folder.</param>
/// <param name="LogFile">Its log file.</param>
public sealed record FlowServerProcess(Uri Url, int ProcessId, string Backend, string Home, string LogFile)
{
    /// <summary>Required (every call needs an API key) or None (an open server).</summary>
    public string ApiKeys { get; init; } = "None";

    /// <summary>
    /// The admin key the server's first start over an empty database made (also in admin.key in its home, owner-only):
    /// set only by the start that made it, never in clear; null otherwise.
    /// </summary>
    public SecureString? AdminKey { get; init; }

    public override string ToString() => $"{Url} (process {ProcessId}, {Backend})";
}

/// <summary>
/// Starts Flowstore.Server as a process of its own that outlives the session that started it (its own session on Unix,
/// no console, logging to server.log in its home), waits until /health answers, and stops it again. The server's files
/// ship with the module (Server/ next to Dependencies/).
/// </summary>
public static class FlowServerLauncher
{
    /// <summary>The server's log file in its home.</summary>
    public const string LogFileName = "server.log";

    /// <summary>Overrides where the server's assembly is looked for (a path to Flowstore.Server.dll).</summary>
    public const string ServerPathVariable = "FLOWSTORE_SERVER_DLL";

    private const string ServerFileName = "server.json";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Starts a server and returns once it answers; <see cref="ErrorIds.ServerUnreachable"/> when it does not, with its log's last lines.</summary>
    public static async Task<FlowServerProcess> StartAsync(FlowServerStartOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var home = FlowstoreHome.EnsureDirectory(Path.GetFullPath(options.Home));
        if (Running(home) is { } already)
        {
            throw new FlowstoreException(ErrorIds.ServerAlreadyRunning, FlowErrorKind.ResourceExists,
                $"A Flowstore server for the home '{home}' is running already at {already.Url} (process {already.ProcessId}).") { Target = home };
        }
        var serverDll = FindServer();
        var serverFile = Path.Combine(home, ServerFileName);
        File.Delete(serverFile);
        var logFile = Path.Combine(home, LogFileName);

        var info = StartInfo(serverDll);
        foreach (var argument in new[]
        {
            $"--Flowstore:Port={options.Port}",
            $"--Flowstore:Address={options.Address}",
            $"--Flowstore:Backend={options.Backend}",
            $"--Flowstore:Home={home}",
            $"--Flowstore:LogFile={LogFileName}",
            $"--Flowstore:ApiKeys={(options.RequireApiKeys ? "Required" : "None")}",
            "--Flowstore:LogFormat=None",
        })
        {
            info.ArgumentList.Add(argument);
        }
        // The connection string may hold a password: the environment of the child, never its command line (ps shows that).
        info.Environment["Flowstore__ConnectionString"] = options.ConnectionString ?? "";
        info.Environment.Remove(FlowServerConnection.UrlVariable);
        info.Environment.Remove(FlowServerConnection.ApiKeyVariable);
        info.WorkingDirectory = home;

        using var process = Process.Start(info) ?? throw Failed(home, logFile, "the process did not start");
        var deadline = DateTimeOffset.UtcNow + options.StartTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ReadServerFile(serverFile) is { } written && written.ProcessId == process.Id)
            {
                using var client = new HttpFlowBackend(new Uri(written.Url), null, new HttpFlowBackendOptions { Attempts = 1, Timeout = TimeSpan.FromSeconds(5) });
                try
                {
                    var health = await client.GetHealthAsync(cancellationToken).ConfigureAwait(false);
                    if (health.Status == "Healthy")
                    {
                        return new FlowServerProcess(client.Url, process.Id, written.Backend, home, logFile)
                        {
                            ApiKeys = written.ApiKeys ?? "None",
                            AdminKey = written.AdminKeyFile is { } keyFile ? ReadKey(keyFile) : null,
                        };
                    }
                }
                catch (FlowstoreException)
                {
                    // Not answering yet.
                }
            }
            if (process.HasExited)
            {
                throw Failed(home, logFile, $"it ended with exit code {process.ExitCode}");
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                Kill(process.Id);
                throw Failed(home, logFile, $"it did not answer within {options.StartTimeout.TotalSeconds:0} s");
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The server running for a home (its server file names a live process), or null.</summary>
    public static FlowServerProcess? Running(string home)
    {
        var full = Path.GetFullPath(home);
        if (ReadServerFile(Path.Combine(full, ServerFileName)) is not { } written || !IsAlive(written.ProcessId))
        {
            return null;
        }
        return new FlowServerProcess(new Uri(written.Url), written.ProcessId, written.Backend, full, Path.Combine(full, LogFileName))
        {
            ApiKeys = written.ApiKeys ?? "None",
        };
    }

    /// <summary>The key in an owner-only key file, as a SecureString (the file's bytes and characters are cleared after).</summary>
    private static SecureString ReadKey(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var chars = Encoding.UTF8.GetChars(bytes);
        try
        {
            var key = new SecureString();
            foreach (var c in chars)
            {
                if (!char.IsWhiteSpace(c))
                {
                    key.AppendChar(c);
                }
            }
            key.MakeReadOnly();
            return key;
        }
        finally
        {
            Array.Clear(bytes);
            Array.Clear(chars);
        }
    }

    /// <summary>Stops the server of a home (SIGTERM, then a kill after <paramref name="grace"/>); null when none runs.</summary>
    public static async Task<FlowServerProcess?> StopAsync(string home, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (Running(home) is not { } server)
        {
            return null;
        }
        using var process = Process.GetProcessById(server.ProcessId);
        if (!OperatingSystem.IsWindows() && Terminate(server.ProcessId) == 0)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(grace);
            try
            {
                await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
                return server;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Did not stop in time: killed below.
            }
        }
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        File.Delete(Path.Combine(server.Home, ServerFileName));
        return server;
    }

    private static ProcessStartInfo StartInfo(string serverDll)
    {
        var dotnet = DotnetHost();
        if (OperatingSystem.IsWindows())
        {
            var windows = new ProcessStartInfo(dotnet) { UseShellExecute = false, CreateNoWindow = true };
            windows.ArgumentList.Add(serverDll);
            return windows;
        }
        // sh redirects the standard streams away from this session's terminal, setsid gives the server a session of its
        // own (no hangup when the terminal closes); both exec, so the process id is the server's.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec setsid \"$@\" </dev/null >/dev/null 2>&1");
        info.ArgumentList.Add("flowstore-server");
        info.ArgumentList.Add(dotnet);
        info.ArgumentList.Add(serverDll);
        return info;
    }

    private static string FindServer()
    {
        if (System.Environment.GetEnvironmentVariable(ServerPathVariable) is { Length: > 0 } given)
        {
            return File.Exists(given) ? Path.GetFullPath(given) : throw NotShipped(given);
        }
        var here = Path.GetDirectoryName(typeof(FlowServerLauncher).Assembly.Location) ?? AppContext.BaseDirectory;
        foreach (var candidate in new[]
        {
            Path.Combine(here, "..", "Server", "Flowstore.Server.dll"), // the module: Dependencies/ and Server/ side by side
            Path.Combine(here, "Server", "Flowstore.Server.dll"),
            Path.Combine(here, "Flowstore.Server.dll"),
        })
        {
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }
        throw NotShipped(Path.GetFullPath(Path.Combine(here, "..", "Server", "Flowstore.Server.dll")));
    }

    private static FlowstoreException NotShipped(string path) => new(ErrorIds.ServerUnreachable, FlowErrorKind.ObjectNotFound,
        $"The Flowstore server is not installed at '{path}' (the module's Server folder); build or install the module again.") { Target = path };

    private static FlowstoreException Failed(string home, string logFile, string reason)
    {
        var tail = File.Exists(logFile)
            ? string.Join(Environment.NewLine, File.ReadLines(logFile).TakeLast(5))
            : "(no log)";
        return new FlowstoreException(ErrorIds.ServerUnreachable, FlowErrorKind.ResourceUnavailable,
            $"The Flowstore server for the home '{home}' did not start: {reason}. The end of its log '{logFile}':{Environment.NewLine}{tail}") { Target = home };
    }

    private static ServerFileContent? ReadServerFile(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<ServerFileContent>(File.ReadAllText(path), Json) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null; // being written
        }
    }

    private static bool IsAlive(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void Kill(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            process.Kill(entireProcessTree: true);
        }
        catch (ArgumentException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    private static int Terminate(int processId) => SysKill(processId, 15); // SIGTERM: the server shuts down cleanly

    private static string DotnetHost()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (System.Environment.ProcessPath is { } self && string.Equals(Path.GetFileName(self), name, StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }
        var runtime = RuntimeEnvironment.GetRuntimeDirectory();
        var candidate = Path.Combine(Path.GetFullPath(Path.Combine(runtime, "..", "..", "..")), name);
        if (File.Exists(candidate))
        {
            return candidate;
        }
        return System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : name;
    }

    private sealed record ServerFileContent(string Url, int ProcessId, string Backend, DateTimeOffset Started, string? ApiKeys = null, string? AdminKeyFile = null);
}
