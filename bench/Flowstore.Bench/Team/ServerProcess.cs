using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Flowstore.Bench.Team;

/// <summary>
/// The real Flowstore.Server (built with the harness, Release) as a process of its own, listening on a free port of
/// 127.0.0.1 over a backend in its own home (SQLite, or PostgreSQL with a connection string): what a team's CI jobs
/// and agents talk to. No request log on the console (the server's file and console logs are off).
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    public int ProcessId => _process.Id;

    /// <summary>The process's CPU time so far (ms).</summary>
    public double CpuMs
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalMilliseconds;
        }
    }

    /// <summary>Flowstore.Server.dll next to the harness's build of it (bin/&lt;Configuration&gt;/net10.0 of its project).</summary>
    private static string ServerAssembly()
        => typeof(ServerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "FlowstoreServer")?.Value
           ?? throw new InvalidOperationException("The harness was built without the FlowstoreServer path.");

    public static async Task<ServerProcess> StartAsync(string home, string backend, string? connectionString, CancellationToken cancellationToken)
    {
        var dll = ServerAssembly();
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} does not exist: build the harness (bench/run.sh builds the server with it).");
        }
        Directory.CreateDirectory(home);
        var serverFile = Path.Combine(home, "server.json");
        File.Delete(serverFile);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
                 {
                     dll, "--Flowstore:Port=0", $"--Flowstore:Home={home}", $"--Flowstore:Backend={backend}", "--Flowstore:LogFormat=None",
                     "--Flowstore:ApiKeys=None", // open, as the embedded backend it is compared with
                     "--Logging:LogLevel:Default=Warning",
                 })
        {
            start.ArgumentList.Add(arg);
        }
        if (connectionString is not null)
        {
            // In the environment, not on the command line (where other users could read it).
            start.Environment["Flowstore__ConnectionString"] = connectionString;
        }
        foreach (var name in new[] { "FLOWSTORE_SERVER_URL", "FLOWSTORE_API_KEY", "ASPNETCORE_URLS" })
        {
            start.Environment.Remove(name);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var errors = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, new Uri("http://127.0.0.1/"));
        try
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"Flowstore.Server exited with {process.ExitCode}: {errors}");
                }
                if (deadline.Elapsed > TimeSpan.FromMinutes(2))
                {
                    throw new InvalidOperationException($"Flowstore.Server did not write {serverFile} within 2 minutes: {errors}");
                }
                if (File.Exists(serverFile) && TryRead(serverFile) is { } url)
                {
                    using var http = new HttpClient { BaseAddress = url };
                    try
                    {
                        if ((await http.GetAsync("health", cancellationToken).ConfigureAwait(false)).IsSuccessStatusCode)
                        {
                            return new ServerProcess(process, url);
                        }
                    }
                    catch (HttpRequestException)
                    {
                    }
                }
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static Uri? TryRead(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return (doc.RootElement.TryGetProperty("url", out var url) || doc.RootElement.TryGetProperty("Url", out url)) && url.GetString() is { } text ? new Uri(text) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UriFormatException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
