using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Flowstore.Scripting;

namespace Flowstore.Engine;

/// <summary>How an agent's run workers are started and when they are replaced.</summary>
/// <param name="Home">The Flowstore home (the compiled-script cache and frozen flows are read there).</param>
/// <param name="MemoryLimitMB">The worker's GC heap hard limit.</param>
/// <param name="MaxRuns">Runs a worker executes before it is replaced.</param>
/// <param name="RecycleMB">A worker whose working set is above this after a run is replaced.</param>
internal sealed record RunWorkerSettings(string Home, long MemoryLimitMB, int MaxRuns, long RecycleMB)
{
    /// <summary>The worker program, next to the engine's assembly.</summary>
    public const string HostFileName = "Flowstore.RunHost.dll";

    public string HostPath { get; init; } = Path.Combine(Path.GetDirectoryName(typeof(RunWorkerSettings).Assembly.Location)!, HostFileName);
}

/// <summary>What came of a run handed to a worker process.</summary>
/// <param name="Completion">How the run ended, as the worker said; null when the worker ended first (crashed, killed).</param>
/// <param name="KilledAfterStop">The run was asked to stop and its worker killed after the grace period.</param>
/// <param name="TimedOutTask">The task that ran past its timeout and the grace period, for which the worker was killed.</param>
internal sealed record RunWorkerOutcome(RunCompletion? Completion, bool KilledAfterStop, int? ExitCode, string ErrorOutput, string? Sha256, string? StorageVersion,
    TaskStructure? TimedOutTask = null)
{
    /// <summary>Exit code of a worker that ran out of memory (the GC heap hard limit).</summary>
    public const int ExitOutOfMemory = 250;

    /// <summary>"exit code 3", "exit code 134, signal SIGABRT: Stack overflow.", "out of memory: ...".</summary>
    public string Describe(long memoryLimitMB)
    {
        var firstLine = ErrorOutput.Split('\n', 2)[0].Trim();
        if (ExitCode == ExitOutOfMemory || ErrorOutput.Contains("OutOfMemory", StringComparison.Ordinal) || ErrorOutput.Contains("Out of memory", StringComparison.Ordinal))
        {
            return $"it ran out of memory: a run's worker process may use {memoryLimitMB} MB (the environment variable FLOWSTORE_WORKER_MEMORY_MB, in megabytes)";
        }
        if (ExitCode is not { } code)
        {
            return "it ended without an exit code" + (firstLine.Length > 0 ? ": " + firstLine : "");
        }
        var text = $"exit code {code.ToString(CultureInfo.InvariantCulture)}";
        // On Linux and macOS a process ended by a signal reports 128 + the signal's number.
        if (!OperatingSystem.IsWindows() && code > 128 && code < 128 + 32)
        {
            text += $", signal {SignalName(code - 128)}";
        }
        if (firstLine.Length > 0)
        {
            text += ": " + firstLine;
        }
        else if (code is 134 && !OperatingSystem.IsWindows())
        {
            text += " (an abort, e.g. a stack overflow)";
        }
        return text;
    }

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 5 => "SIGTRAP", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE",
        9 => "SIGKILL", 11 => "SIGSEGV", 13 => "SIGPIPE", 15 => "SIGTERM",
        _ => signal.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// One run worker process seen from the agent: started with `dotnet exec Flowstore.RunHost.dll` next to the engine, under
/// a GC heap hard limit; takes one run at a time over its stdin and answers with JSON lines on its stdout
/// (<see cref="RunWorkerMessage"/>). Its stderr is kept (the first few KB) to say why it died.
/// </summary>
internal sealed class RunWorkerProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _write = new(1, 1);

    private RunWorkerProcess(Process process) => _process = process;

    /// <summary>Runs this worker executed (or started).</summary>
    public int Runs { get; private set; }

    public int ProcessId => _process.Id;

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

    /// <summary>The worker's working set in MB now (0 when it is gone).</summary>
    public long WorkingSetMB
    {
        get
        {
            try
            {
                _process.Refresh();
                return _process.WorkingSet64 / (1024 * 1024);
            }
            catch (InvalidOperationException)
            {
                return 0;
            }
        }
    }

    /// <summary>Starts a worker and waits until it is ready (engine and compiler loaded); <see cref="ErrorIds.RunWorkerUnavailable"/> when it cannot be.</summary>
    public static async Task<RunWorkerProcess> StartAsync(RunWorkerSettings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(settings.HostPath))
        {
            throw new FlowstoreException(ErrorIds.RunWorkerUnavailable, FlowErrorKind.ResourceUnavailable,
                $"The run worker program '{settings.HostPath}' is missing from this Flowstore installation, so runs cannot be executed in a worker process " +
                $"(executing them in the agent's own process needs no worker).") { Target = settings.HostPath };
        }
        var info = new ProcessStartInfo(ChildProcessHost.DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            WorkingDirectory = Environment.CurrentDirectory,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var arg in new[] { "exec", "--runtimeconfig", ChildProcessHost.RuntimeConfig(settings.HostPath, invariantGlobalization: false), settings.HostPath,
                     "--home", settings.Home })
        {
            info.ArgumentList.Add(arg);
        }
        // The memory limit: the worker's GC heap may not grow past it (an allocation beyond throws OutOfMemoryException,
        // on which the worker ends; its run fails, the agent is untouched).
        info.Environment["DOTNET_GCHeapHardLimit"] = (settings.MemoryLimitMB * 1024 * 1024).ToString("X", CultureInfo.InvariantCulture);
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment.Remove("DOTNET_STARTUP_HOOKS");
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            throw new FlowstoreException(ErrorIds.RunWorkerUnavailable, FlowErrorKind.ResourceUnavailable,
                $"The run worker process ({info.FileName} {settings.HostPath}) could not be started: {e.Message}", e) { Target = settings.HostPath };
        }
        var worker = new RunWorkerProcess(process);
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
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(StartTimeout);
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(limit.Token).ConfigureAwait(false);
                if (line is null)
                {
                    break;
                }
                if (RunWorkerMessage.Parse(line) is { Type: RunWorkerMessage.Ready })
                {
                    return worker;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
        catch
        {
            worker.Dispose();
            throw;
        }
        var outcome = worker.Ended(null, false, null, null);
        worker.Dispose();
        throw new FlowstoreException(ErrorIds.RunWorkerUnavailable, FlowErrorKind.ResourceUnavailable,
            $"The run worker process ({settings.HostPath}) did not start ({outcome.Describe(settings.MemoryLimitMB)}).") { Target = settings.HostPath };
    }

    /// <summary>
    /// Hands a run to the worker and relays what it says until the run ended or the worker did. When
    /// <paramref name="stop"/> fires, the worker is told to stop the run, and killed when it has not ended it
    /// <paramref name="grace"/> later. A task with a timeout that is still running when all its attempts could have
    /// timed out (and retried) plus the grace period is a body that ignores its timeout: the worker is killed.
    /// </summary>
    public async Task<RunWorkerOutcome> RunAsync(FlowRunRecord run, FlowRecord flow, int maxParallelism, IRunObserver observer, Action<RunLogEntry> logOnly,
        Action<FetchedFlowSource> fetched, ISecretResolver secrets, TimeSpan grace, CancellationToken stop)
    {
        Runs++;
        string? sha = null, version = null;
        var killed = 0;
        using var ended = new CancellationTokenSource();
        var timeouts = FlowStructure.FromJson(flow.StructureJson).Tasks.Where(t => t.TimeoutSeconds is > 0).ToDictionary(t => t.Slug, StringComparer.Ordinal);
        var runningSince = new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        TaskStructure? timedOut = null;
        if (timeouts.Count > 0)
        {
            _ = WatchTimeoutsAsync();
        }

        async Task WatchTimeoutsAsync()
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
            try
            {
                while (await timer.WaitForNextTickAsync(ended.Token).ConfigureAwait(false))
                {
                    foreach (var (slug, since) in runningSince)
                    {
                        var task = timeouts[slug];
                        var bound = TimeSpan.FromSeconds((task.Retries + 1) * (task.TimeoutSeconds!.Value + task.RetryDelaySeconds)) + grace;
                        if (DateTimeOffset.UtcNow - since > bound)
                        {
                            timedOut = task;
                            Kill();
                            return;
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        await SendAsync(new RunWorkerMessage { Type = RunWorkerMessage.Execute, RunId = run.Id, Run = run, Flow = flow, MaxParallelism = maxParallelism }).ConfigureAwait(false);
        using var stopping = stop.Register(() =>
        {
            _ = SendAsync(new RunWorkerMessage { Type = RunWorkerMessage.Stop, RunId = run.Id });
            _ = Task.Delay(grace, ended.Token).ContinueWith(t =>
            {
                if (!t.IsCanceled)
                {
                    Interlocked.Exchange(ref killed, 1);
                    Kill();
                }
            }, TaskScheduler.Default);
        });
        while (true)
        {
            // Not cancelled: a worker that does not answer is killed after the grace period, which ends this read.
            var line = await _process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false);
            if (line is null)
            {
                ended.Cancel();
                return Ended(null, Volatile.Read(ref killed) == 1, sha, version) with { TimedOutTask = timedOut };
            }
            if (RunWorkerMessage.Parse(line) is not { } message || message.RunId != run.Id)
            {
                continue; // a line of an earlier run's abandoned task, or not a message at all
            }
            switch (message.Type)
            {
                case RunWorkerMessage.Log when message.Entry is { } entry:
                    if (message.LogOnly)
                    {
                        logOnly(entry);
                    }
                    else
                    {
                        observer.LogWritten(entry);
                    }
                    break;
                case RunWorkerMessage.TaskState when message.Task is { } task:
                    if (task.State == TaskRunState.Running && timeouts.ContainsKey(task.Slug))
                    {
                        runningSince[task.Slug] = task.Started ?? DateTimeOffset.UtcNow;
                    }
                    else
                    {
                        runningSince.TryRemove(task.Slug, out _);
                    }
                    observer.TaskStateChanged(new TaskRunResult
                    {
                        Name = task.Name, Slug = task.Slug, State = task.State, Attempts = task.Attempts, Started = task.Started, Ended = task.Ended,
                        Error = task.Error, ErrorId = message.TaskErrorId,
                    }, message.Done, message.Total);
                    break;
                case RunWorkerMessage.Fetched when message.Sha256 is { } fetchedSha:
                    sha = fetchedSha;
                    version = message.StorageVersion;
                    fetched(new FetchedFlowSource(null, null, fetchedSha, message.StorageVersion ?? "", flow.Name));
                    break;
                case RunWorkerMessage.SecretRequest:
                    _ = AnswerSecretAsync(message, secrets, stop);
                    break;
                case RunWorkerMessage.End when message.Completion is { } completion:
                    ended.Cancel();
                    return new RunWorkerOutcome(completion, false, null, "", completion.ScriptSha256, completion.StorageVersion);
            }
        }
    }

    // Resolved here (the agent's secret store, environment, vault, or its server for this run), sent back on the pipe only.
    private async Task AnswerSecretAsync(RunWorkerMessage request, ISecretResolver secrets, CancellationToken stop)
    {
        RunWorkerMessage answer;
        try
        {
            var value = await secrets.ResolveAsync(request.Name ?? "", stop).ConfigureAwait(false);
            answer = new RunWorkerMessage { Type = RunWorkerMessage.SecretValue, RunId = request.RunId, RequestId = request.RequestId, Value = value };
        }
        catch (FlowstoreException e)
        {
            answer = new RunWorkerMessage
            {
                Type = RunWorkerMessage.SecretValue, RunId = request.RunId, RequestId = request.RequestId, ErrorId = e.ErrorId, Kind = e.Kind,
                Message = SecretRedaction.Redact(e.Message),
            };
        }
        catch (Exception e)
        {
            answer = new RunWorkerMessage
            {
                Type = RunWorkerMessage.SecretValue, RunId = request.RunId, RequestId = request.RequestId, ErrorId = ErrorIds.SecretNotFound,
                Kind = FlowErrorKind.ResourceUnavailable, Message = SecretRedaction.Redact($"Secret '{request.Name}' could not be resolved: {e.GetType().Name}: {e.Message}"),
            };
        }
        try
        {
            await SendAsync(answer).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The worker is gone; its run ends with it.
        }
    }

    private async Task SendAsync(RunWorkerMessage message)
    {
        await _write.WaitAsync().ConfigureAwait(false);
        try
        {
            await _process.StandardInput.WriteLineAsync(message.ToLine()).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The worker is gone: the read of its output ends and says how.
        }
        finally
        {
            _write.Release();
        }
    }

    private RunWorkerOutcome Ended(RunCompletion? completion, bool killed, string? sha, string? version)
    {
        int? code = null;
        try
        {
            if (_process.WaitForExit(10_000))
            {
                _process.WaitForExit(); // the stderr reader has the last lines
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
        return new RunWorkerOutcome(completion, killed, code, stderr, sha, version);
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>Ends the worker: its input closed (it exits), killed when it does not exit at once.</summary>
    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
        }
        try
        {
            if (!_process.WaitForExit(500))
            {
                Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        _write.Dispose();
    }
}

/// <summary>
/// An agent's run workers: one kept warm (started ahead, engine and compiler loaded) so a claimed run starts without
/// waiting for a process, and workers used again for later runs until they executed <see cref="RunWorkerSettings.MaxRuns"/>
/// runs or grew past <see cref="RunWorkerSettings.RecycleMB"/>.
/// </summary>
internal sealed class RunWorkerPool : IDisposable
{
    private readonly RunWorkerSettings _settings;
    private readonly bool _warm;
    private readonly ConcurrentQueue<RunWorkerProcess> _idle = new();
    private readonly Lock _gate = new();
    private Task<RunWorkerProcess>? _warming;
    private volatile bool _disposed;

    /// <param name="warm">Keep a worker started ahead of the next run (an agent); without, a worker is started per run when none is idle.</param>
    public RunWorkerPool(RunWorkerSettings settings, bool warm)
    {
        _settings = settings;
        _warm = warm;
    }

    public RunWorkerSettings Settings => _settings;

    /// <summary>How many idle workers are kept at most (the agent's limit of runs at once).</summary>
    public int MaxIdle { get; set; } = 1;

    /// <summary>Starts a worker in the background when none is idle or starting.</summary>
    public void Prewarm()
    {
        lock (_gate)
        {
            if (_disposed || _warming is not null || !_idle.IsEmpty)
            {
                return;
            }
            _warming = Task.Run(() => RunWorkerProcess.StartAsync(_settings, CancellationToken.None));
        }
    }

    /// <summary>An idle worker, the one starting ahead, or a new one.</summary>
    public async Task<RunWorkerProcess> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        RunWorkerProcess? worker = null;
        while (_idle.TryDequeue(out var idle))
        {
            if (!idle.HasExited)
            {
                worker = idle;
                break;
            }
            idle.Dispose();
        }
        if (worker is null)
        {
            Task<RunWorkerProcess>? warming;
            lock (_gate)
            {
                warming = _warming;
                _warming = null;
            }
            if (warming is not null)
            {
                try
                {
                    worker = await warming.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _ = warming.ContinueWith(t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
                    throw;
                }
                catch (FlowstoreException)
                {
                    worker = null; // a worker that could not start ahead: try once more now, which says why
                }
            }
            worker ??= await RunWorkerProcess.StartAsync(_settings, cancellationToken).ConfigureAwait(false);
        }
        if (_warm)
        {
            Prewarm();
        }
        return worker;
    }

    /// <summary>Takes a worker back after a run: kept for the next when <paramref name="reusable"/> and not due to be replaced, else ended.</summary>
    public void Return(RunWorkerProcess worker, bool reusable)
    {
        if (reusable && !_disposed && !worker.HasExited && worker.Runs < _settings.MaxRuns && _idle.Count < MaxIdle
            && worker.WorkingSetMB <= _settings.RecycleMB)
        {
            _idle.Enqueue(worker);
            return;
        }
        worker.Dispose();
        if (_warm)
        {
            Prewarm();
        }
    }

    /// <summary>Ends the idle workers and the one starting ahead (a worker executing a run is ended by its run).</summary>
    public void Dispose()
    {
        Task<RunWorkerProcess>? warming;
        lock (_gate)
        {
            _disposed = true;
            warming = _warming;
            _warming = null;
        }
        while (_idle.TryDequeue(out var worker))
        {
            worker.Dispose();
        }
        // A worker still starting is ended once it is up, without waiting for it here (an agent with nothing to do returns
        // at once); should this process end first, the worker ends by itself when its input closes.
        warming?.ContinueWith(t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }
}
