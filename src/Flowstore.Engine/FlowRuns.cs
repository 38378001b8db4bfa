using System.Collections.Concurrent;
using System.Text.Json;
using Flowstore.Scripting;

namespace Flowstore.Engine;

/// <summary>
/// Runs: the queue, execution with heartbeats, agents, waiting, stopping, logs, and runs here and now that are
/// not recorded (Invoke-Flow).
/// </summary>
public sealed class FlowRuns
{
    private readonly Lazy<IFlowBackend> _backend;
    private readonly FlowCatalog _catalog;
    private readonly FlowBuilder _builder;
    private readonly FlowScriptLoader _loader;
    private readonly SecretResolver _secrets;
    private readonly RunSweeper _sweeper;
    private readonly Func<RunTiming> _timing;

    internal FlowRuns(Lazy<IFlowBackend> backend, FlowCatalog catalog, FlowBuilder builder, FlowScriptLoader loader, SecretResolver secrets,
        RunSweeper sweeper, Func<RunTiming> timing)
    {
        _backend = backend;
        _catalog = catalog;
        _builder = builder;
        _loader = loader;
        _secrets = secrets;
        _sweeper = sweeper;
        _timing = timing;
    }

    /// <summary>This process's agent name, used for runs started here and now.</summary>
    public static string LocalAgent { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    private IFlowBackend Backend => _backend.Value;

    // ---------------------------------------------------------------- here and now, not recorded

    /// <summary>Runs a flow straight from a script file: no backend, no registration (the development loop).</summary>
    public async Task<FlowRunResult> InvokeScriptAsync(string path, string? name, IReadOnlyDictionary<string, object?>? parameters,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(path);
        var loaded = await _loader.LoadFileAsync(full, cancellationToken).ConfigureAwait(false);
        var flow = loaded.SelectOne(name);
        var preamble = new[] { new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", Provenance.LocalFile(full, loaded.Compiled.Sha256)) };
        observer?.LogWritten(preamble[0]);
        return await _builder.ExecuteAsync(flow, parameters, observer, loaded.Compiled.Sha256, "local file " + full, null, cancellationToken, preamble).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a registered flow here and now without recording a run: fetch the current script from its storage,
    /// compile (cached), check its structure against the registered one, execute.
    /// </summary>
    public async Task<FlowRunResult> RunAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var preamble = new List<RunLogEntry>();
        var (built, source) = await _builder.PrepareAsync(flow, null, cancellationToken, log: line =>
        {
            var entry = new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", line);
            preamble.Add(entry);
            observer?.LogWritten(entry);
        }).ConfigureAwait(false);
        return await _builder.ExecuteAsync(built, parameters, observer, source.Sha256, source.StorageVersion, flow, cancellationToken, preamble).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- recorded runs

    /// <summary>
    /// Queues a run of a flow version (state Scheduled). Parameter names are checked against the registered
    /// structure now, and values must convert to the declared types the structure names (types only the script
    /// declares are checked when the run starts), so a run that can only fail is not queued. Values are recorded as
    /// given. A run pinned to an earlier run fetches exactly the storage version that run executed.
    /// </summary>
    public async Task<FlowRunRecord> QueueRunAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters,
        FlowRunRecord? pinnedTo = null, CancellationToken cancellationToken = default)
    {
        if (flow.Archived && flow.Version == (await _catalog.GetVersionsAsync(flow.Project, flow.Name, cancellationToken).ConfigureAwait(false)).Max(f => f.Version))
        {
            throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.InvalidOperation,
                $"Flow '{flow.Name}' in project '{flow.Project}' is unregistered; register it again to run it.") { Target = flow.Name };
        }
        ParameterBinder.CheckDeclared(flow.Name, FlowStructure.FromJson(flow.StructureJson).Parameters, parameters);
        string? pinnedVersion = null;
        if (pinnedTo is not null)
        {
            pinnedVersion = pinnedTo.StorageVersion ?? throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.InvalidOperation,
                $"Run {pinnedTo.Id} of flow '{pinnedTo.FlowName}' recorded no storage version (it failed before fetching its script), so it cannot be re-run pinned.") { Target = pinnedTo.Id.ToString() };
        }
        return await Backend.CreateRunAsync(new NewRun
        {
            Flow = flow,
            ParametersJson = JsonSerializer.Serialize(parameters ?? new Dictionary<string, object?>()),
            PinnedStorageVersion = pinnedVersion,
            PinnedFromRun = pinnedTo?.Id,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a run and runs it in this process, returning when it ended (Start-FlowRun -Wait).</summary>
    public async Task<FlowRunRecord> RunNowAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters, FlowRunRecord? pinnedTo,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var queued = await QueueRunAsync(flow, parameters, pinnedTo, cancellationToken).ConfigureAwait(false);
        await _sweeper.SweepAsync(cancellationToken).ConfigureAwait(false);
        var claimed = await Backend.ClaimRunAsync(LocalAgent, queued.Id, cancellationToken).ConfigureAwait(false)
            ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.InvalidOperation,
                $"Run {queued.Id} was taken by an agent before it could start here.") { Target = queued.Id.ToString() };
        return await ExecuteClaimedAsync(claimed, flow, LocalAgent, observer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Executes a run this agent claimed: heartbeats while it runs (stopping when asked), records task states,
    /// the log and provenance, and returns the ended run. Failures before any task runs (fetch, compile,
    /// structure, parameters) end the run Failed with their error id.
    /// </summary>
    public Task<FlowRunRecord> ExecuteClaimedAsync(FlowRunRecord run, string agent, IRunObserver? observer = null,
        CancellationToken cancellationToken = default)
        => ExecuteClaimedAsync(run, null, agent, observer, cancellationToken);

    // The flow, when the caller already holds it (a run started here), is not read again.
    private async Task<FlowRunRecord> ExecuteClaimedAsync(FlowRunRecord run, FlowRecord? flow, string agent, IRunObserver? observer,
        CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A server's secret store hands values to this agent for this run only: its fetch and tasks name the run.
        using var secretScope = RunSecretScope.Enter(run.Id, agent);
        var pendingLog = new ConcurrentQueue<RunLogEntry>();
        var tasks = new ConcurrentDictionary<string, TaskRunRecord>(StringComparer.Ordinal);
        var recorder = new Recorder(observer, pendingLog, tasks);
        var timing = _timing();

        List<RunLogEntry> TakeLog()
        {
            var batch = new List<RunLogEntry>();
            while (pendingLog.TryDequeue(out var entry))
            {
                batch.Add(entry);
            }
            return batch;
        }

        async Task AppendAsync(List<RunLogEntry> batch)
        {
            if (batch.Count > 0)
            {
                await Backend.AppendLogAsync(run.Id, batch, CancellationToken.None).ConfigureAwait(false);
            }
        }

        Task FlushAsync() => AppendAsync(TakeLog());

        // While the run goes, changed task states and new log lines are written every LogFlushInterval (in batches),
        // so a run whose agent dies shows what it did up to about that long before; the heartbeat itself (which also
        // asks whether the run was stopped) goes at least every HeartbeatInterval.
        using var writerStop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var tick = timing.LogFlushInterval < timing.HeartbeatInterval ? timing.LogFlushInterval : timing.HeartbeatInterval;
            using var timer = new PeriodicTimer(tick);
            var lastBeat = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                while (await timer.WaitForNextTickAsync(writerStop.Token).ConfigureAwait(false))
                {
                    // The log lines are taken before the task states: task states in the store are never older
                    // than the log lines written with them (a task's end is logged before the next task's lines).
                    var batch = TakeLog();
                    try
                    {
                        try
                        {
                            if (recorder.TakeTasksChanged() || System.Diagnostics.Stopwatch.GetElapsedTime(lastBeat) >= timing.HeartbeatInterval)
                            {
                                var stopAsked = await Backend.HeartbeatAsync(run.Id, agent, tasks.Values.ToArray(), writerStop.Token).ConfigureAwait(false);
                                lastBeat = System.Diagnostics.Stopwatch.GetTimestamp();
                                if (stopAsked)
                                {
                                    stop.Cancel();
                                }
                            }
                        }
                        finally
                        {
                            await AppendAsync(batch).ConfigureAwait(false);
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A backend that failed for a moment: the next tick heartbeats again (the last beat stays old);
                        // the run's end is recorded by the completion, which reports a backend that stays down.
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        RunCompletion completion;
        FetchedFlowSource? fetchedSource = null;
        try
        {
            flow ??= await _catalog.GetFlowOfRunAsync(run, stop.Token).ConfigureAwait(false);
            // Provenance is known as soon as the script is fetched: a run that then fails (changed structure,
            // bad parameters) still records what it fetched; its log starts with where the script came from.
            var (built, source) = await _builder.PrepareAsync(flow, run.PinnedStorageVersion, stop.Token, s => fetchedSource = s,
                line => recorder.LogWritten(new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", line))).ConfigureAwait(false);
            var parameters = ParameterBinder.Bind(built, run.Parameters);
            var execution = await FlowExecutor.RunAsync(built, parameters, new ExecutionOptions
            {
                Observer = recorder,
                MaxParallelism = timing.MaxParallelism,
                Redactions = () => _secrets.ResolvedValues,
                Secrets = _secrets,
            }, stop.Token).ConfigureAwait(false);
            completion = new RunCompletion
            {
                State = execution.State,
                Error = execution.Error,
                // A task that failed on an error Flowstore raised (SecretNotFound, ...) keeps that id on the run.
                ErrorId = execution.State switch { RunState.Failed => execution.ErrorId ?? RunErrors.Failed, RunState.Cancelled => RunErrors.Cancelled, _ => null },
                ScriptSha256 = source.Sha256,
                StorageVersion = source.StorageVersion,
                Tasks = execution.Tasks.Select(ToRecord).ToArray(),
            };
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            completion = new RunCompletion
            {
                State = RunState.Cancelled, Error = "The run was stopped before its tasks started.", ErrorId = RunErrors.Cancelled,
                ScriptSha256 = fetchedSource?.Sha256, StorageVersion = fetchedSource?.StorageVersion,
            };
        }
        catch (Exception e)
        {
            // Whatever failed (fetch, load, build, parameters, or a fault of Flowstore itself) ends this run Failed with
            // an id, and the agent goes on with its next run. A storage or library may echo a credential in its
            // message: never let a resolved secret into the record.
            var message = SecretRedaction.Redact(e is FlowstoreException
                ? e.Message
                : $"The run of flow '{run.FlowName}' version {run.FlowVersion} failed: {e.GetType().Name}: {e.Message}");
            // Into the run's log only: a caller sees this error once, as the failed run's error.
            pendingLog.Enqueue(new RunLogEntry(DateTimeOffset.UtcNow, null, "Error", message));
            completion = new RunCompletion
            {
                State = RunState.Failed, Error = message, ErrorId = (e as FlowstoreException)?.ErrorId ?? RunErrors.Failed,
                ScriptSha256 = fetchedSource?.Sha256, StorageVersion = fetchedSource?.StorageVersion,
                Tasks = tasks.Values.ToArray(),
            };
        }
        finally
        {
            writerStop.Cancel();
            await writer.ConfigureAwait(false);
        }

        await FlushAsync().ConfigureAwait(false);
        if (!await Backend.CompleteRunAsync(run.Id, agent, completion, CancellationToken.None).ConfigureAwait(false))
        {
            pendingLog.Enqueue(new RunLogEntry(DateTimeOffset.UtcNow, null, "Warning",
                $"Run {run.Id} was no longer owned by agent '{agent}' when it ended (it was failed as stale); its result was not recorded."));
            await FlushAsync().ConfigureAwait(false);
        }
        return await GetRunAsync(run.Id, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// An agent: fails stale runs, claims queued runs one at a time and executes them, until cancelled; with
    /// <paramref name="once"/>, returns when the queue has no run it may take. Returns the runs it executed. It takes
    /// only runs of flows whose labels are all among <paramref name="labels"/> and this machine's host label
    /// (<see cref="FlowHost.AgentLabels"/>).
    /// </summary>
    public async Task<IReadOnlyList<FlowRunRecord>> RunAgentAsync(string agent, bool once, Action<FlowRunRecord>? started = null,
        Action<FlowRunRecord>? ended = null, IRunObserver? observer = null, CancellationToken cancellationToken = default,
        IReadOnlyCollection<string>? labels = null)
    {
        var agentLabels = FlowHost.AgentLabels(labels);
        var done = new List<FlowRunRecord>();
        while (!cancellationToken.IsCancellationRequested)
        {
            await _sweeper.SweepAsync(cancellationToken).ConfigureAwait(false);
            var claimed = await Backend.ClaimRunAsync(agent, null, agentLabels, cancellationToken).ConfigureAwait(false);
            if (claimed is null)
            {
                if (once)
                {
                    break;
                }
                await Task.Delay(_timing().PollInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }
            started?.Invoke(claimed);
            var result = await ExecuteClaimedAsync(claimed, agent, observer, cancellationToken).ConfigureAwait(false);
            done.Add(result);
            ended?.Invoke(result);
        }
        return done;
    }

    /// <summary>Runs matching the query, newest first. A read: a run whose agent is lost stays as recorded until a sweep.</summary>
    public Task<IReadOnlyList<FlowRunRecord>> GetRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
        => Backend.GetRunsAsync(query, cancellationToken);

    /// <summary>One run; <see cref="ErrorIds.RunNotFound"/> when there is none.</summary>
    public async Task<FlowRunRecord> GetRunAsync(Guid id, CancellationToken cancellationToken = default)
        => (await GetRunsAsync(new RunQuery { Id = id }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"There is no run {id}.") { Target = id.ToString() };

    /// <summary>
    /// Waits until the run ended (Success, Failed, Cancelled). The waiter sweeps before each look, so a run whose
    /// agent died ends Failed (RunAgentLost) once its heartbeat is older than the timeout; a waiter whose key may not
    /// execute runs (Reader, Registrar) leaves the sweep to the agents.
    /// </summary>
    public async Task<FlowRunRecord> WaitRunAsync(Guid id, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
        {
            limit.CancelAfter(t);
        }
        while (true)
        {
            await _sweeper.SweepIfAllowedAsync(cancellationToken).ConfigureAwait(false);
            var run = await GetRunAsync(id, cancellationToken).ConfigureAwait(false);
            if (run.State is RunState.Success or RunState.Failed or RunState.Cancelled)
            {
                return run;
            }
            try
            {
                await Task.Delay(_timing().PollInterval, limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new FlowstoreException(ErrorIds.RunWaitTimedOut, FlowErrorKind.OperationStopped,
                    $"Run {id} of flow '{run.FlowName}' is still {run.State} after {timeout!.Value.TotalSeconds:0.#}s.") { Target = id.ToString() };
            }
        }
    }

    /// <summary>Asks a run to stop: a queued run is cancelled at once, a running one at its next heartbeat.</summary>
    public async Task<FlowRunRecord> StopRunAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var run = await GetRunAsync(id, cancellationToken).ConfigureAwait(false);
        if (!await Backend.RequestCancelAsync(id, cancellationToken).ConfigureAwait(false))
        {
            throw new FlowstoreException(ErrorIds.RunAlreadyEnded, FlowErrorKind.InvalidOperation,
                $"Run {id} of flow '{run.FlowName}' already ended ({run.State}).") { Target = id.ToString() };
        }
        return await GetRunAsync(id, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<RunLogEntry>> GetRunLogAsync(Guid id, CancellationToken cancellationToken = default)
        => Backend.GetRunLogAsync(id, cancellationToken);

    private static TaskRunRecord ToRecord(TaskRunResult t) => new(t.Name, t.Slug, t.State, t.Attempts, t.Started, t.Ended, t.Error);

    /// <summary>Keeps task states and log lines for heartbeats, and passes them on to the caller's observer.</summary>
    private sealed class Recorder(IRunObserver? inner, ConcurrentQueue<RunLogEntry> log, ConcurrentDictionary<string, TaskRunRecord> tasks) : IRunObserver
    {
        private int _tasksChanged;

        /// <summary>True (once) when a task state changed since the last call.</summary>
        public bool TakeTasksChanged() => Interlocked.Exchange(ref _tasksChanged, 0) == 1;

        public void TaskStateChanged(TaskRunResult task, int done, int total)
        {
            tasks[task.Slug] = ToRecord(task);
            Volatile.Write(ref _tasksChanged, 1);
            inner?.TaskStateChanged(task, done, total);
        }

        public void LogWritten(RunLogEntry entry)
        {
            log.Enqueue(entry);
            inner?.LogWritten(entry);
        }
    }
}
