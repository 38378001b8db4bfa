using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Flowstore.Scripting;

/// <summary>
/// Builds scripts' flows (runs their top-level statements) in a separate worker process under a time and a memory
/// limit, so that a script whose top level never ends (<c>while (true) {}</c>) or allocates without bound cannot wedge or
/// bloat the process that registers or runs it: the worker has a GC heap hard limit (it gets an OutOfMemoryException
/// past it), and a build that runs past the time limit is ended by killing the worker; the next build starts a new
/// one. Runtime threads cannot be aborted in .NET, so a process boundary is the only real way to stop a tight loop.
/// Workers are kept warm between builds; a build costs a few milliseconds of round trip. What a script built once
/// within the limits is remembered by its SHA-256, so later builds of the same script in this process go straight on.
/// </summary>
public sealed class ScriptBuildGuard : IDisposable
{
    /// <summary>The worker program, next to this assembly.</summary>
    public const string HostFileName = "Flowstore.BuildHost.dll";

    private const int MaxIdle = 2;
    private const int MaxRemembered = 512;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly ConcurrentQueue<Worker> _idle = new();
    private readonly ConcurrentDictionary<string, IReadOnlyList<FlowSketch>> _built = new(StringComparer.Ordinal);
    private readonly object _warmLock = new();
    private Task<Worker>? _warming;
    private volatile bool _disposed;

    public ScriptBuildGuard(ScriptBuildLimits limits, string? hostPath = null)
    {
        Limits = limits;
        HostPath = hostPath ?? Path.Combine(AppContext.GetData("Flowstore.BuildHostDirectory") as string
            ?? Path.GetDirectoryName(typeof(ScriptBuildGuard).Assembly.Location)!, HostFileName);
    }

    public ScriptBuildLimits Limits { get; }

    /// <summary>The worker program (Flowstore.BuildHost.dll).</summary>
    public string HostPath { get; }

    /// <summary>The sketches of a script built within the limits before, by the SHA-256 it was compiled from; null when not built yet.</summary>
    public IReadOnlyList<FlowSketch>? Remembered(string sha256) => _built.TryGetValue(sha256, out var flows) ? flows : null;

    /// <summary>Starts a worker in the background if none is ready, so that it is up by the time a compilation ends.</summary>
    public void Prewarm()
    {
        if (_disposed || !_idle.IsEmpty)
        {
            return;
        }
        lock (_warmLock)
        {
            _warming ??= Task.Run(() => Worker.Start(this));
        }
    }

    /// <summary>
    /// Builds a compiled script in a worker and returns its flows' sketches; the errors a build raises in process
    /// (ScriptExecutionFailed, NoFlowsFound, ...) come back the same, and past the limits it is
    /// <see cref="ErrorIds.ScriptBuildTimeout"/> or <see cref="ErrorIds.ScriptBuildMemoryExceeded"/>, naming the script.
    /// </summary>
    public async Task<IReadOnlyList<FlowSketch>> BuildAsync(byte[] assembly, string sha256, string origin, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Remembered(sha256) is { } known)
        {
            return known;
        }
        var worker = await RentAsync(origin, cancellationToken).ConfigureAwait(false);
        var reusable = false;
        try
        {
            var response = await worker.BuildAsync(assembly, origin, Limits.Timeout, cancellationToken).ConfigureAwait(false);
            if (response is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (worker.TimedOut)
                {
                    throw new FlowstoreException(ErrorIds.ScriptBuildTimeout, FlowErrorKind.OperationTimeout,
                        $"Building the flows of {origin} took longer than the build time limit ({Limits.TimeoutText}), so it was stopped. " +
                        $"A script's top-level statements should only declare flows; look for a loop that never ends or a wait there " +
                        $"(the limit is the environment variable {ScriptBuildLimits.TimeoutVariable}, in seconds).") { Target = origin };
                }
                throw worker.Died(origin);
            }
            if (response.OutOfMemory)
            {
                throw MemoryExceeded(origin);
            }
            reusable = true;
            if (response.Flows is { } flows)
            {
                if (_built.Count >= MaxRemembered)
                {
                    _built.Clear();
                }
                _built[sha256] = flows;
                return flows;
            }
            throw new FlowstoreException(response.ErrorId ?? ErrorIds.ScriptExecutionFailed, response.Kind, response.Message ?? $"Building the flows of {origin} failed.")
            { Target = response.Target, Hint = response.Hint };
        }
        finally
        {
            if (reusable && !_disposed && _idle.Count < MaxIdle)
            {
                _idle.Enqueue(worker);
            }
            else
            {
                worker.Dispose();
            }
        }
    }

    internal FlowstoreException MemoryExceeded(string origin)
        => new(ErrorIds.ScriptBuildMemoryExceeded, FlowErrorKind.LimitsExceeded,
            $"Building the flows of {origin} used more memory than the build memory limit ({Limits.MemoryText}), so it was stopped. " +
            $"A script's top-level statements should only declare flows; move large data into tasks " +
            $"(the limit is the environment variable {ScriptBuildLimits.MemoryVariable}, in megabytes).") { Target = origin };

    private async Task<Worker> RentAsync(string origin, CancellationToken cancellationToken)
    {
        while (_idle.TryDequeue(out var idle))
        {
            if (!idle.HasExited)
            {
                return idle;
            }
            idle.Dispose();
        }
        Task<Worker>? warming;
        lock (_warmLock)
        {
            warming = _warming;
            _warming = null;
        }
        try
        {
            return warming is not null
                ? await warming.WaitAsync(cancellationToken).ConfigureAwait(false)
                : await Task.Run(() => Worker.Start(this), cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e)
        {
            throw new FlowstoreException(e.ErrorId, e.Kind, $"Cannot build the flows of {origin}: {e.Message}", e) { Target = origin };
        }
    }

    /// <summary>Stops the idle workers (a build in progress ends with its worker).</summary>
    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryDequeue(out var worker))
        {
            worker.Dispose();
        }
        lock (_warmLock)
        {
            _warming?.ContinueWith(t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
            _warming = null;
        }
    }

    /// <summary>One worker process and its pipes.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stderr = new();

        private Worker(Process process) => _process = process;

        public bool TimedOut { get; private set; }

        public bool HasExited
        {
            get
            {
                try
                {
                    return _process.HasExited;
                }
                catch (InvalidOperationException)
                {
                    return true;
                }
            }
        }

        public static Worker Start(ScriptBuildGuard guard)
        {
            if (!File.Exists(guard.HostPath))
            {
                throw new FlowstoreException(ErrorIds.ScriptBuildFailed, FlowErrorKind.ResourceUnavailable,
                    $"the build process program '{guard.HostPath}' is missing from this Flowstore installation.") { Target = guard.HostPath };
            }
            var info = new ProcessStartInfo(ChildProcessHost.DotnetHost())
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                CreateNoWindow = true,
                WorkingDirectory = Path.GetTempPath(),
            };
            foreach (var arg in new[] { "exec", "--runtimeconfig", ChildProcessHost.RuntimeConfig(guard.HostPath), guard.HostPath,
                         "--timeout-ms", ((long)guard.Limits.Timeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
                         "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                info.ArgumentList.Add(arg);
            }
            // The memory limit: the worker's GC heap may not grow past it (allocations beyond throw OutOfMemoryException).
            info.Environment["DOTNET_GCHeapHardLimit"] = guard.Limits.MemoryBytes.ToString("X", System.Globalization.CultureInfo.InvariantCulture);
            info.Environment["DOTNET_gcServer"] = "0";
            info.Environment["DOTNET_gcConcurrent"] = "0";
            info.Environment.Remove("DOTNET_STARTUP_HOOKS");

            Process process;
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException("no process");
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                throw new FlowstoreException(ErrorIds.ScriptBuildFailed, FlowErrorKind.ResourceUnavailable,
                    $"the build process ({info.FileName} {guard.HostPath}) could not be started: {e.Message}", e) { Target = guard.HostPath };
            }
            var worker = new Worker(process);
            process.ErrorDataReceived += (_, e) =>
            {
                lock (worker._stderr)
                {
                    if (e.Data is { } line && worker._stderr.Length < 8192)
                    {
                        worker._stderr.AppendLine(line);
                    }
                }
            };
            process.BeginErrorReadLine();
            var ready = Task.Run(() => process.StandardOutput.BaseStream.ReadByte());
            if (!ready.Wait(StartTimeout) || ready.Result != ScriptBuildWorker.Ready)
            {
                var died = worker.Died(guard.HostPath);
                worker.Dispose();
                throw new FlowstoreException(ErrorIds.ScriptBuildFailed, FlowErrorKind.ResourceUnavailable,
                    $"the build process did not start: {died.Message}") { Target = guard.HostPath };
            }
            return worker;
        }

        /// <summary>Sends one build; null when the worker was killed (time limit, cancellation) or died without an answer.</summary>
        public async Task<BuildResponse?> BuildAsync(byte[] assembly, string origin, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var stdin = _process.StandardInput.BaseStream;
            var stdout = _process.StandardOutput.BaseStream;
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var read = Task.Run(() =>
            {
                try
                {
                    ScriptBuildWorker.WriteFrame(stdin, Encoding.UTF8.GetBytes(origin));
                    ScriptBuildWorker.WriteFrame(stdin, assembly);
                    if (stdout.ReadByte() != ScriptBuildWorker.Started)
                    {
                        return null; // the worker died (or was killed) before the script started
                    }
                    started.TrySetResult();
                    return ScriptBuildWorker.ReadFrame(stdout);
                }
                catch (IOException)
                {
                    return null; // the worker died (or was killed)
                }
            }, CancellationToken.None);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // The time limit is the script's own: it counts from the moment its top-level statements start, after the
            // worker loaded the assembly (loading runs no script code; it is bounded like the worker's start).
            var finished = await Task.WhenAny(read, started.Task.WaitAsync(StartTimeout, stop.Token)).ConfigureAwait(false);
            if (finished != read && started.Task.IsCompletedSuccessfully)
            {
                finished = await Task.WhenAny(read, Task.Delay(timeout, stop.Token)).ConfigureAwait(false);
            }
            if (finished != read)
            {
                TimedOut = !cancellationToken.IsCancellationRequested;
                Kill();
                await read.ConfigureAwait(false); // ends with the pipe
                return null;
            }
            stop.Cancel();
            var frame = await read.ConfigureAwait(false);
            return frame is null ? null : JsonSerializer.Deserialize<BuildResponse>(frame);
        }

        /// <summary>The error for a worker that ended without an answer.</summary>
        public FlowstoreException Died(string origin)
        {
            int? code = null;
            try
            {
                if (_process.WaitForExit(5000))
                {
                    code = _process.ExitCode;
                }
            }
            catch (InvalidOperationException)
            {
            }
            string stderr;
            lock (_stderr)
            {
                stderr = _stderr.ToString().Trim();
            }
            if (stderr.Contains("OutOfMemory", StringComparison.Ordinal) || code == ScriptBuildWorker.ExitOutOfMemory)
            {
                return new FlowstoreException(ErrorIds.ScriptBuildMemoryExceeded, FlowErrorKind.LimitsExceeded,
                    $"Building the flows of {origin} ran out of memory (the build process ended), so it was stopped; move large data into tasks " +
                    $"(the limit is the environment variable {ScriptBuildLimits.MemoryVariable}, in megabytes).") { Target = origin };
            }
            var firstLine = stderr.Split('\n', 2)[0].Trim();
            return new FlowstoreException(ErrorIds.ScriptBuildFailed, FlowErrorKind.InvalidData,
                $"Building the flows of {origin} ended the build process (exit code {(code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown")}" +
                $"{(firstLine.Length > 0 ? ": " + firstLine : "")}), e.g. by a stack overflow or Environment.Exit in its top-level statements.") { Target = origin };
        }

        private void Kill()
        {
            try
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close(); // the worker ends when its input closes
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
            }
            if (!_process.WaitForExit(200))
            {
                Kill();
            }
            _process.Dispose();
        }
    }
}
