using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Flowstore.Bench.Harness;

namespace Flowstore.Bench.Runs;

/// <summary>
/// PowerShell level: `Start-FlowRun -Name bench-start -Project BenchRuns -Wait` through one reused runspace with the
/// module already imported, to the first task's body. PowerShell is hosted (Microsoft.PowerShell.SDK) in a child
/// process, Flowstore.Bench.PowerShellHost, which does not reference the engine: this process does, so in it the
/// module's Flowstore.PowerShell.dll would bind to this process's Flowstore.Engine in the default load context
/// instead of loading its own copy into the module's private AssemblyLoadContext, and it would share the engine-level
/// case's statics (compile cache, connection pool). The child times each call itself (the same Stopwatch and
/// AppContext signal as the engine level) and answers one JSON line per request; the harness keeps it running for the
/// whole suite, so its repetitions interleave with the other cases like any case's.
/// </summary>
internal sealed class PowerShellStartCase(RunsSuite suite) : BenchCase, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(5);

    private Process? _child;
    private readonly StringBuilder _stderr = new();

    public override string Id => "start-pwsh";
    public override string Title => "Start-FlowRun -Wait (hosted runspace, module loaded) -> first task body";
    public override string OperationName => "run";

    private static string HostPath => typeof(PowerShellStartCase).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "PowerShellHost").Value!;

    /// <summary>Null when the case can run; otherwise why not, with what to do.</summary>
    public static string? WhyUnavailable(string repositoryRoot)
    {
        var manifest = Path.Combine(repositoryRoot, "Flowstore.psd1");
        var module = Path.Combine(repositoryRoot, "out", "module");
        if (!File.Exists(manifest))
        {
            return $"{manifest} does not exist.";
        }
        if (!Directory.Exists(module))
        {
            return $"the module is not built ({module} does not exist): run `dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 -Task Build` first.";
        }
        // A folder without its last files is a build in progress (build.ps1 deletes out/module, then publishes into it).
        for (var waited = 0; !IsComplete(module); waited += 2)
        {
            if (waited >= 180)
            {
                return $"the module in {module} is incomplete (no Flowstore.PowerShell.dll, Dependencies/Flowstore.Engine.dll or en-US/) after waiting 3 minutes: run `dotnet pwsh -NoProfile -File ./build.ps1 -Task Build`.";
            }
            if (waited == 0)
            {
                Console.Error.WriteLine($"runs: {module} is incomplete (a build in progress?); waiting for it (up to 3 minutes).");
            }
            Thread.Sleep(TimeSpan.FromSeconds(2));
        }
        if (!File.Exists(HostPath))
        {
            return $"the PowerShell host {HostPath} is not built (bench/run.sh builds it with the harness).";
        }
        return null;
    }

    /// <summary>
    /// Copies the manifest and out/module to the temp root (a parallel `build.ps1` cannot swap the module mid-run), starts
    /// the host, which imports the module, registers the start flow on its own home and runs it once untimed.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var repo = Program.RepositoryRoot();
        var snapshot = Path.Combine(suite.Root, "module");
        var builtAt = await SnapshotAsync(Path.Combine(repo, "out", "module"), Path.Combine(snapshot, "out", "module"), cancellationToken).ConfigureAwait(false);
        File.Copy(Path.Combine(repo, "Flowstore.psd1"), Path.Combine(snapshot, "Flowstore.psd1"));
        var engine = new FileInfo(Path.Combine(snapshot, "out", "module", "Dependencies", "Flowstore.Engine.dll"));
        var newer = Directory.EnumerateFiles(Path.Combine(repo, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Count(f => File.GetLastWriteTimeUtc(f) > builtAt);
        suite.AddFact("module", $"out/module built {builtAt:u} ({engine.Length / 1024} KiB engine), copied to the temp root" +
                                (newer > 0 ? $"; WARNING: {newer} file(s) under src/ are newer than the module: rebuild it (build.ps1 -Task Build) to measure them" : ""));

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     HostPath,
                     "--manifest", Path.Combine(snapshot, "Flowstore.psd1"),
                     "--home", Path.Combine(suite.Root, "pwsh-home"),
                     "--script", suite.ScriptPath,
                     "--project", RunsSuite.ProjectName,
                     "--name", RunsSuite.StartFlowName,
                 })
        {
            start.ArgumentList.Add(arg);
        }
        _child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the PowerShell host.");
        _child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _child.BeginErrorReadLine();

        var ready = await ReadAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
        suite.AddFact("pwsh host", $"PowerShell {ready.GetProperty("psVersion").GetString()}; Import-Module {ready.GetProperty("importMs").GetDouble():F0} ms; " +
                                   $"engine loaded in context '{ready.GetProperty("engine").GetString()}'; " +
                                   $"Flowstore.Engine in the default context: {ready.GetProperty("defaultContextHasEngine").GetBoolean()}; " +
                                   $"first (compiling) run: {ready.GetProperty("warmupFirstTaskMs").GetDouble():F0} ms to the first task, {ready.GetProperty("warmupCallMs").GetDouble():F0} ms the call");
        suite.AddFact("pwsh command", ready.GetProperty("command").GetString()!);
    }

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var m = warmup ? 2 : suite.StartRuns;
        await _child!.StandardInput.WriteLineAsync($"run {m}".AsMemory(), cancellationToken).ConfigureAwait(false);
        await _child.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        var answer = await ReadAsync(RequestTimeout, cancellationToken).ConfigureAwait(false);
        var first = answer.GetProperty("firstTaskMs").EnumerateArray().Select(e => e.GetDouble() - suite.TimestampCostMs).ToArray();
        var calls = answer.GetProperty("callMs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var sample = StartSample.From(first, calls, answer.GetProperty("cpuMs").GetDouble() / m);
        if (!suite.Profile)
        {
            return sample;
        }
        // Under --profile, after the timed runs: the PowerShell-side costs around RunNowAsync, as details.
        await _child.StandardInput.WriteLineAsync($"probe {m}".AsMemory(), cancellationToken).ConfigureAwait(false);
        await _child.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        var probe = await ReadAsync(RequestTimeout, cancellationToken).ConfigureAwait(false);
        var details = new Dictionary<string, IReadOnlyList<double>>(sample.Details!)
        {
            ["probe: empty invocation `$null` (ms)"] = probe.GetProperty("emptyMs").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            ["probe: Get-Flow -Name -Project (ms)"] = probe.GetProperty("getFlowMs").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
        };
        return sample with { Details = details };
    }

    private async Task<JsonElement> ReadAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        string? line;
        try
        {
            line = await _child!.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"The PowerShell host did not answer within {timeout.TotalSeconds:0} s. {Stderr()}");
        }
        if (line is null)
        {
            await _child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"The PowerShell host ended (exit code {_child.ExitCode}). {Stderr()}");
        }
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.Length == 0 ? "" : "Its error output: " + _stderr.ToString().Trim();
        }
    }

    private static bool IsComplete(string module)
        => File.Exists(Path.Combine(module, "Flowstore.PowerShell.dll"))
           && File.Exists(Path.Combine(module, "Dependencies", "Flowstore.Engine.dll"))
           && Directory.Exists(Path.Combine(module, "en-US"));

    /// <summary>The newest write time of any file under the folder.</summary>
    private static DateTime Newest(string folder)
        => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Max(File.GetLastWriteTimeUtc);

    /// <summary>
    /// Copies a complete module that did not change during the copy (a parallel build.ps1 may be rewriting it: then
    /// waits and copies again, up to 3 minutes). Returns when the copied module was built (its newest file).
    /// </summary>
    private static async Task<DateTime> SnapshotAsync(string module, string to, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            try
            {
                if (IsComplete(module))
                {
                    var before = Newest(module);
                    if (DateTime.UtcNow - before > TimeSpan.FromSeconds(3))
                    {
                        if (Directory.Exists(to))
                        {
                            Directory.Delete(to, recursive: true);
                        }
                        CopyDirectory(module, to);
                        if (IsComplete(module) && Newest(module) == before && IsComplete(to))
                        {
                            return before;
                        }
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // The folder changed under the copy (deleted, or a file being written): try again.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Could not copy a complete, unchanging module from {module} within 3 minutes (a build rewriting it?).");
            }
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var dir in Directory.EnumerateDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_child is null)
        {
            return;
        }
        try
        {
            if (!_child.HasExited)
            {
                await _child.StandardInput.WriteLineAsync("quit").ConfigureAwait(false);
                await _child.StandardInput.FlushAsync().ConfigureAwait(false);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _child.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            if (!_child.HasExited)
            {
                _child.Kill(entireProcessTree: true);   // the child this case started, by its own handle
            }
        }
        finally
        {
            _child.Dispose();
        }
    }
}
