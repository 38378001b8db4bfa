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
    private readonly string _home;

    internal FlowRuns(Lazy<IFlowBackend> backend, FlowCatalog catalog, FlowBuilder builder, FlowScriptLoader loader, SecretResolver secrets,
        RunSweeper sweeper, Func<RunTiming> timing, string home)
    {
        _home = home;
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

    /// <summary>
    /// Queues a run and runs it in this process, returning when it ended (Start-FlowRun -Wait); when an agent takes the
    /// run first, waits for that agent to end it.
    /// </summary>
    public async Task<FlowRunRecord> RunNowAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters, FlowRunRecord? pinnedTo,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var queued = await QueueRunAsync(flow, parameters, pinnedTo, cancellationToken).ConfigureAwait(false);
        var claimed = await Backend.ClaimRunAsync(LocalAgent, queued.Id, cancellationToken).ConfigureAwait(false);
        if (claimed is null)
        {
            // An agent (connected to the same backend) took the run between its creation and this claim: it runs
            // there, and this call waits for its end as Wait-FlowRun would.
            return await WaitRunAsync(queued.Id, null, cancellationToken).ConfigureAwait(false);
        }
        var ended = await ExecuteClaimedAsync(claimed, flow, LocalAgent, observer, cancellationToken).ConfigureAwait(false);
        // Failing other agents' lost runs is housekeeping, done after this run rather than before it starts: through a
        // server it is a request of its own, which would add a round trip to every start. This run is recorded by now,
        // so a sweep that cannot be made does not fail the call; the next waiter or agent sweeps.
        try
        {
            await _sweeper.SweepAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException)
        {
        }
        return ended;
    }

    /// <summary>
    /// Executes a run this agent claimed: heartbeats while it runs (stopping when asked), records task states,
    /// the log and provenance, and returns the ended run. Failures before any task runs (fetch, compile,
    /// structure, parameters) end the run Failed with their error id.
    /// </summary>
    /// <param name="isolation">Where the run executes: a worker process of its own (the default; started for this run), or this process.</param>
    public async Task<FlowRunRecord> ExecuteClaimedAsync(FlowRunRecord run, string agent, IRunObserver? observer = null,
        CancellationToken cancellationToken = default, RunIsolation isolation = RunIsolation.Process)
    {
        if (isolation == RunIsolation.InProcess)
        {
            return await ExecuteClaimedAsync(run, null, agent, observer, cancellationToken).ConfigureAwait(false);
        }
        using var pool = NewWorkerPool(warm: false);
        return await ExecuteClaimedAsync(run, null, agent, observer, cancellationToken, null, pool).ConfigureAwait(false);
    }

    private RunWorkerPool NewWorkerPool(bool warm)
    {
        var timing = _timing();
        return new RunWorkerPool(new RunWorkerSettings(_home, timing.WorkerMemoryLimitMB, timing.WorkerMaxRuns, timing.WorkerRecycleMB), warm);
    }

    /// <summary>
    /// Prepares and executes a run's flow in this process (fetch, build, structure check, parameters, tasks) and says how
    /// it ended: what a run executes, whether in the agent (InProcess) or in a worker process (<see cref="RunWorker"/>).
    /// </summary>
    internal static async Task<RunCompletion> ExecuteHereAsync(FlowBuilder builder, FlowRecord flow, FlowRunRecord run, IRunObserver observer,
        ISecretResolver secrets, Func<IReadOnlyCollection<string>> redactions, int maxParallelism, Action<FetchedFlowSource> fetched, CancellationToken stop)
    {
        // Provenance is known as soon as the script is fetched: a run that then fails (changed structure, bad parameters)
        // still records what it fetched; its log starts with where the script came from.
        var (built, source) = await builder.PrepareAsync(flow, run.PinnedStorageVersion, stop, fetched,
            line => observer.LogWritten(new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", line))).ConfigureAwait(false);
        var parameters = ParameterBinder.Bind(built, run.Parameters);
        var execution = await FlowExecutor.RunAsync(built, parameters, new ExecutionOptions
        {
            Observer = observer,
            MaxParallelism = maxParallelism,
            Redactions = redactions,
            Secrets = secrets,
        }, stop).ConfigureAwait(false);
        return new RunCompletion
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

    /// <summary>
    /// Runs <paramref name="body"/> and turns what it throws into how the run ended: Cancelled when it was stopped,
    /// else Failed with the error's id (a fault of Flowstore itself is FlowRunFailed), the error also written to the run's
    /// log through <paramref name="logOnly"/>. The provenance the body heard of is kept either way.
    /// </summary>
    internal static async Task<RunCompletion> GuardedAsync(FlowRunRecord run, Func<Action<FetchedFlowSource>, Task<RunCompletion>> body,
        Func<IReadOnlyList<TaskRunRecord>> tasks, Action<RunLogEntry> logOnly, CancellationToken stop)
    {
        FetchedFlowSource? fetchedSource = null;
        try
        {
            return await body(s => fetchedSource = s).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return new RunCompletion
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
            logOnly(new RunLogEntry(DateTimeOffset.UtcNow, null, "Error", message));
            return new RunCompletion
            {
                State = RunState.Failed, Error = message, ErrorId = (e as FlowstoreException)?.ErrorId ?? RunErrors.Failed,
                ScriptSha256 = fetchedSource?.Sha256, StorageVersion = fetchedSource?.StorageVersion,
                Tasks = tasks(),
            };
        }
    }

    /// <summary>
    /// Executes a run in a worker process of the pool: the worker fetches, builds and runs it, streaming task states and
    /// log lines back, and asks this process for the secrets it needs. A worker that ends before the run did fails the run
    /// (<see cref="ErrorIds.RunProcessCrashed"/>, naming the exit code or signal); one that does not stop within the grace
    /// period after the run was asked to stop is killed and the run Cancelled. A worker is used again only after a run
    /// that left nothing running behind (no task stopped, timed out or abandoned).
    /// </summary>
    private async Task<RunCompletion> ExecuteInWorkerAsync(RunWorkerPool pool, FlowRecord flow, FlowRunRecord run, Recorder recorder,
        Action<RunLogEntry> logOnly, Action<FetchedFlowSource> fetched, ConcurrentDictionary<string, TaskRunRecord> tasks, RunTiming timing, CancellationToken stop)
    {
        var worker = await pool.RentAsync(stop).ConfigureAwait(false);
        var reusable = false;
        try
        {
            var outcome = await worker.RunAsync(run, flow, timing.MaxParallelism, recorder, logOnly, fetched, _secrets, timing.StopGracePeriod, stop)
                .ConfigureAwait(false);
            if (outcome.Completion is { } done)
            {
                reusable = done.State is RunState.Success or RunState.Failed
                    && done.Tasks.All(t => t.State is not (TaskRunState.TimedOut or TaskRunState.Cancelled or TaskRunState.Running));
                return done;
            }
            var ended = DateTimeOffset.UtcNow;
            if (outcome.KilledAfterStop)
            {
                var stopped = $"The run was stopped; its flow did not stop within the grace period of {timing.StopGracePeriod.TotalSeconds:0.###} s, so its worker process was killed.";
                logOnly(new RunLogEntry(ended, null, "Error", stopped));
                return new RunCompletion
                {
                    State = RunState.Cancelled, Error = stopped, ErrorId = RunErrors.Cancelled, ScriptSha256 = outcome.Sha256, StorageVersion = outcome.StorageVersion,
                    Tasks = EndTasks(tasks.Values, TaskRunState.Cancelled, "the run was stopped and its worker process killed", ended),
                };
            }
            if (outcome.TimedOutTask is { } late)
            {
                var timedOut = $"Task '{late.Name}' timed out: it ran past its timeout of {late.TimeoutSeconds:0.###}s (every attempt) and did not stop within the " +
                    $"grace period of {timing.StopGracePeriod.TotalSeconds:0.###} s, so its worker process was killed.";
                logOnly(new RunLogEntry(ended, late.Name, "Error", timedOut));
                return new RunCompletion
                {
                    State = RunState.Failed, Error = timedOut, ErrorId = RunErrors.Failed, ScriptSha256 = outcome.Sha256, StorageVersion = outcome.StorageVersion,
                    Tasks = EndTasks(tasks.Values.Select(t => t.Slug == late.Slug ? t with { State = TaskRunState.TimedOut, Error = timedOut, Ended = ended } : t),
                        TaskRunState.Cancelled, "its worker process was killed", ended),
                };
            }
            var crashed = SecretRedaction.Redact($"The worker process executing run {run.Id} of flow '{run.FlowName}' version {run.FlowVersion} ended before the run did " +
                $"({outcome.Describe(timing.WorkerMemoryLimitMB)}); the agent goes on with its next run.");
            logOnly(new RunLogEntry(ended, null, "Error", crashed));
            return new RunCompletion
            {
                State = RunState.Failed, Error = crashed, ErrorId = ErrorIds.RunProcessCrashed, ScriptSha256 = outcome.Sha256, StorageVersion = outcome.StorageVersion,
                Tasks = EndTasks(tasks.Values, TaskRunState.Failed, "its worker process ended", ended),
            };
        }
        finally
        {
            pool.Return(worker, reusable);
        }
    }

    // Tasks a run's worker left unfinished, ended as the run ended.
    private static TaskRunRecord[] EndTasks(IEnumerable<TaskRunRecord> tasks, TaskRunState state, string why, DateTimeOffset ended)
        => tasks.Select(t => t.State is TaskRunState.Running or TaskRunState.Pending ? t with { State = state, Error = why, Ended = ended } : t).ToArray();

    // The flow, when the caller already holds it (a run started here), is not read again.
    // With a pool the run executes in one of its worker processes, else in this process.
    private async Task<FlowRunRecord> ExecuteClaimedAsync(FlowRunRecord run, FlowRecord? flow, string agent, IRunObserver? observer,
        CancellationToken cancellationToken, Action<string>? warning = null, RunWorkerPool? pool = null)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A server's secret store hands values to this agent for this run only: its fetch and tasks name the run.
        using var secretScope = RunSecretScope.Enter(run.Id, agent);
        var pendingLog = new ConcurrentQueue<RunLogEntry>();
        var tasks = new ConcurrentDictionary<string, TaskRunRecord>(StringComparer.Ordinal);
        var recorder = new Recorder(observer, pendingLog, tasks);
        var timing = _timing();
        var connection = new ConnectionWatch(Backend.Description, warning, $"run {run.Id}");

        // Log lines not yet written, oldest first, so what a run logs while its server or database is away is sent when
        // it answers again. A batch is sent as it is until the backend took it, each time as the same request (one
        // IdempotencyScope): a send that was written but whose answer was lost is answered, not written twice. Lines
        // logged meanwhile go in the next batch.
        var unsent = new List<RunLogEntry>();
        (RunLogEntry[] Lines, IdempotencyScope Scope)? sending = null;

        async Task SendLogAsync(CancellationToken token)
        {
            while (true)
            {
                if (sending is null)
                {
                    if (unsent.Count == 0)
                    {
                        return;
                    }
                    sending = (unsent.ToArray(), new IdempotencyScope());
                    unsent.Clear();
                }
                using (IdempotencyScope.Enter(sending.Value.Scope))
                {
                    await Backend.AppendLogAsync(run.Id, sending.Value.Lines, token).ConfigureAwait(false);
                }
                sending = null;
            }
        }

        async Task FlushAsync(CancellationToken token)
        {
            while (pendingLog.TryDequeue(out var entry))
            {
                unsent.Add(entry);
            }
            await SendLogAsync(token).ConfigureAwait(false);
        }

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
                    while (pendingLog.TryDequeue(out var entry))
                    {
                        unsent.Add(entry);
                    }
                    var changed = recorder.TakeTasksChanged();
                    try
                    {
                        try
                        {
                            if (changed || System.Diagnostics.Stopwatch.GetElapsedTime(lastBeat) >= timing.HeartbeatInterval)
                            {
                                var stopAsked = await Backend.HeartbeatAsync(run.Id, agent, tasks.Values.ToArray(), writerStop.Token).ConfigureAwait(false);
                                lastBeat = System.Diagnostics.Stopwatch.GetTimestamp();
                                changed = false;
                                if (stopAsked)
                                {
                                    stop.Cancel();
                                }
                            }
                        }
                        finally
                        {
                            await SendLogAsync(CancellationToken.None).ConfigureAwait(false);
                        }
                        connection.Answered();
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A backend that failed for a moment: the next tick heartbeats again (the last beat stays old) and
                        // sends the task states and the log lines kept meanwhile; the run's end is recorded by the
                        // completion, which keeps trying while the server or database is away.
                        if (changed)
                        {
                            recorder.MarkTasksChanged();
                        }
                        if (e is FlowstoreException lost && ConnectionWatch.IsConnectionLoss(lost))
                        {
                            connection.Lost(lost, "the run goes on; its log lines and task states are kept and sent when it answers again");
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        RunCompletion completion;
        try
        {
            completion = await GuardedAsync(run, async fetched =>
            {
                flow ??= await _catalog.GetFlowOfRunAsync(run, stop.Token).ConfigureAwait(false);
                if (pool is null)
                {
                    return await ExecuteHereAsync(_builder, flow, run, recorder, _secrets, () => _secrets.ResolvedValues, timing.MaxParallelism, fetched, stop.Token)
                        .ConfigureAwait(false);
                }
                return await ExecuteInWorkerAsync(pool, flow, run, recorder, pendingLog.Enqueue, fetched, tasks, timing, stop.Token).ConfigureAwait(false);
            }, () => tasks.Values.ToArray(), pendingLog.Enqueue, stop.Token).ConfigureAwait(false);
        }
        finally
        {
            writerStop.Cancel();
            await writer.ConfigureAwait(false);
        }

        // The end of the run is recorded even when the server or database is away right now: kept trying (bounded
        // backoff, warnings) until it answers, so the run ends Success or Failed instead of staying Running. A stopped
        // agent (Ctrl+C) still records it (the calls are not cancelled), but stops waiting for a server that is away.
        // The outage is noted in the run's log once, whether the writer met it while the run went on or only this last
        // send does (a run that ends right after the server went away).
        var outageNoted = false;
        void NoteOutage()
        {
            if (!outageNoted && connection.LostSince is { } since)
            {
                outageNoted = true;
                pendingLog.Enqueue(new RunLogEntry(DateTimeOffset.UtcNow, null, "Warning",
                    $"{Backend.Description} could not be reached for a while from {since:HH:mm:ss} UTC; the run went on and what it logged meanwhile was sent afterwards."));
            }
        }
        NoteOutage();
        await KeepTryingAsync(connection, $"sending the log of run {run.Id}", async _ =>
        {
            NoteOutage();
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (!await KeepTryingAsync(connection, $"recording the end of run {run.Id}",
                _ => Backend.CompleteRunAsync(run.Id, agent, completion, CancellationToken.None), cancellationToken).ConfigureAwait(false))
        {
            pendingLog.Enqueue(new RunLogEntry(DateTimeOffset.UtcNow, null, "Warning",
                $"Run {run.Id} was no longer owned by agent '{agent}' when it ended (it was failed as stale); its result was not recorded."));
            await KeepTryingAsync(connection, $"sending the log of run {run.Id}", async _ =>
            {
                await FlushAsync(CancellationToken.None).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        return await KeepTryingAsync(connection, $"reading run {run.Id}", _ => GetRunAsync(run.Id, CancellationToken.None), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Calls the backend until it answers: a lost server or database (<see cref="ConnectionWatch.IsConnectionLoss"/>) is
    /// tried again after 1 s, then twice as long each time up to <see cref="RunTiming.ReconnectMaxDelay"/>, with a warning
    /// each time, for at most <see cref="RunTiming.ReconnectTimeout"/>; then (or for any other error) the error is thrown.
    /// Every try is the same logical call (one <see cref="IdempotencyScope"/>): a claim or completion that the server did
    /// but whose answer was lost is answered on the next try as the first time, not done again.
    /// </summary>
    private async Task<T> KeepTryingAsync<T>(ConnectionWatch connection, string what, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var timing = _timing();
        var delay = TimeSpan.FromSeconds(1);
        var started = DateTimeOffset.UtcNow;
        var scope = new IdempotencyScope();
        while (true)
        {
            try
            {
                T answer;
                using (IdempotencyScope.Enter(scope))
                {
                    answer = await call(cancellationToken).ConfigureAwait(false);
                }
                connection.Answered();
                return answer;
            }
            catch (FlowstoreException e) when (ConnectionWatch.IsConnectionLoss(e) && DateTimeOffset.UtcNow - started < timing.ReconnectTimeout)
            {
                if (delay > timing.ReconnectMaxDelay)
                {
                    delay = timing.ReconnectMaxDelay;
                }
                connection.Lost(e, $"{what}: trying again in {delay.TotalSeconds:0.#} s (for up to {timing.ReconnectTimeout.TotalSeconds:0} s)", always: true);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay += delay;
            }
        }
    }

    /// <summary>The clock of schedules (a fake one in tests).</summary>
    internal TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>
    /// The scheduler of an agent on a backend that schedules (<see cref="FlowScheduler.RunnerOf"/>): one pass now, then,
    /// unless <paramref name="once"/>, passes in the background until the handle is disposed or
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    private async Task<SchedulerHandle> StartSchedulerAsync(bool once, Action<string>? warning, CancellationToken cancellationToken)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (FlowScheduler.RunnerOf(Backend) is not { } runner)
        {
            return new SchedulerHandle(stop, Task.CompletedTask);
        }
        var scheduler = new FlowScheduler(runner, Time, warning: warning);
        if (once)
        {
            try
            {
                await scheduler.TickAsync(stop.Token).ConfigureAwait(false);
            }
            catch (FlowstoreException e)
            {
                warning?.Invoke($"Scheduler: a pass failed ({e.ErrorId}): {e.Message}");
            }
            return new SchedulerHandle(stop, Task.CompletedTask);
        }
        return new SchedulerHandle(stop, Task.Run(() => scheduler.RunAsync(stop.Token), CancellationToken.None));
    }

    /// <summary>An agent's scheduler running in the background: disposing it stops it and waits for its pass to end.</summary>
    private sealed class SchedulerHandle(CancellationTokenSource stop, Task running) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            stop.Dispose();
        }
    }

    /// <summary>
    /// An agent: fails stale runs, claims queued runs and executes them, at most <paramref name="limit"/> at once, until
    /// cancelled; with <paramref name="once"/>, returns when the queue has no run it may take and its runs ended. Returns
    /// the runs it executed, in the order they ended. It takes only runs of flows whose labels are all among
    /// <paramref name="labels"/> and this machine's host label (<see cref="FlowHost.AgentLabels"/>).
    /// </summary>
    /// <param name="warning">Told when the server or database is lost (the agent keeps trying, with a bounded backoff)
    /// and when it answers again.</param>
    /// <param name="isolation">Where runs execute: each in a worker process (the default; one kept warm, see
    /// <see cref="RunTiming.WorkerMaxRuns"/>), or in this process.</param>
    /// <param name="limit">How many runs may execute at once (at least 1).</param>
    public async Task<IReadOnlyList<FlowRunRecord>> RunAgentAsync(string agent, bool once, Action<FlowRunRecord>? started = null,
        Action<FlowRunRecord>? ended = null, IRunObserver? observer = null, CancellationToken cancellationToken = default,
        IReadOnlyCollection<string>? labels = null, Action<string>? warning = null, RunIsolation isolation = RunIsolation.Process, int limit = 1)
    {
        if (limit < 1)
        {
            throw new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                $"An agent's limit of runs at once is {limit}; it must be at least 1.") { Target = nameof(limit) };
        }
        var agentLabels = FlowHost.AgentLabels(labels);
        var report = new AgentReport { Name = agent, Host = FlowHost.Label, Labels = agentLabels, Version = FlowHost.Version };
        long? lastReport = null;
        var done = new List<FlowRunRecord>();
        var connection = new ConnectionWatch(Backend.Description, warning, $"agent '{agent}'");
        // On a backend the agent reaches directly (the embedded SQLite file), the agent also runs the scheduler that
        // creates the runs of flow schedules (stopped when the agent returns); through a server, the server does.
        await using var scheduling = await StartSchedulerAsync(once, warning, cancellationToken).ConfigureAwait(false);
        using var pool = isolation == RunIsolation.Process ? NewWorkerPool(warm: true) : null;
        if (pool is not null)
        {
            pool.MaxIdle = limit;
            // A long-running agent has a worker ready for its first run; one draining the queue (once) starts its first
            // worker when it claims a run, so it returns at once when there is none.
            if (!once)
            {
                pool.Prewarm();
            }
        }
        var running = new List<Task<FlowRunRecord>>();
        var stoppedIdle = false;

        // Ended runs are reported here, one after the other, on the agent's own loop.
        async Task HarvestAsync()
        {
            foreach (var finished in running.Where(t => t.IsCompleted).ToArray())
            {
                running.Remove(finished);
                var result = await finished.ConfigureAwait(false);
                done.Add(result);
                ended?.Invoke(result);
            }
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await HarvestAsync().ConfigureAwait(false);
                if (running.Count >= limit)
                {
                    await Task.WhenAny(running).ConfigureAwait(false);
                    continue;
                }
                // A server or database that goes away is waited for (bounded backoff, a warning each try), not the agent's end.
                var claimed = await KeepTryingAsync(connection, "looking for queued runs", async token =>
                {
                    // The agent says it is there (Get-FlowAgent, and why a run no agent may take waits) as often as a run heartbeats.
                    if (lastReport is not { } at || System.Diagnostics.Stopwatch.GetElapsedTime(at) >= _timing().HeartbeatInterval)
                    {
                        await Backend.ReportAgentAsync(report, token).ConfigureAwait(false);
                        lastReport = System.Diagnostics.Stopwatch.GetTimestamp();
                    }
                    await _sweeper.SweepAsync(token).ConfigureAwait(false);
                    await _sweeper.SweepAgentsAsync(token).ConfigureAwait(false);
                    return await Backend.ClaimRunAsync(agent, null, agentLabels, token).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
                if (claimed is null)
                {
                    if (once && running.Count == 0)
                    {
                        break;
                    }
                    // Nothing to take now: look again after the poll interval, or as soon as a run of this agent ends
                    // (with -Once, runs queued while it works are taken too).
                    var poll = Task.Delay(_timing().PollInterval, cancellationToken);
                    await Task.WhenAny(running.Append(poll)).ConfigureAwait(false);
                    if (poll.IsCanceled)
                    {
                        stoppedIdle = true;
                        break;
                    }
                    continue;
                }
                started?.Invoke(claimed);
                running.Add(Task.Run(() => ExecuteClaimedAsync(claimed, null, agent, observer, cancellationToken, warning, pool), CancellationToken.None));
            }
        }
        finally
        {
            // Runs still executing when the agent stops (Ctrl+C cancels them) are recorded before it returns.
            if (running.Count > 0)
            {
                try
                {
                    await Task.WhenAll(running).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Reported below, or the agent is ending on an error of its own already.
                }
            }
        }
        foreach (var finished in running)
        {
            var result = await finished.ConfigureAwait(false);
            done.Add(result);
            ended?.Invoke(result);
        }
        if (stoppedIdle)
        {
            // As always: an agent stopped while it waited for runs ends with the cancellation.
            cancellationToken.ThrowIfCancellationRequested();
        }
        return done;
    }

    /// <summary>
    /// Runs matching the query, newest first; a Scheduled run that no agent seen lately may take says why
    /// (<see cref="FlowRunRecord.WaitReason"/>). A read: a run whose agent is lost stays as recorded until a sweep.
    /// </summary>
    public async Task<IReadOnlyList<FlowRunRecord>> GetRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
        => await ExplainWaitingAsync(await Backend.GetRunsAsync(query, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>One run; <see cref="ErrorIds.RunNotFound"/> when there is none.</summary>
    public async Task<FlowRunRecord> GetRunAsync(Guid id, CancellationToken cancellationToken = default)
        => (await ExplainWaitingAsync([await ReadRunAsync(id, cancellationToken).ConfigureAwait(false)], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>The agents seen within <see cref="RunTiming.AgentListWindow"/> (a day by default), sorted by name.</summary>
    public Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(CancellationToken cancellationToken = default)
        => GetAgentsAsync(all: false, cancellationToken);

    /// <summary>
    /// The agents the backend has recorded, sorted by name: with <paramref name="all"/>, every one (agents gone longer than
    /// <see cref="RunTiming.AgentRetention"/> are removed by the agents' sweep); else only those seen within
    /// <see cref="RunTiming.AgentListWindow"/>.
    /// </summary>
    public async Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(bool all, CancellationToken cancellationToken = default)
    {
        var agents = await Backend.GetAgentsAsync(cancellationToken).ConfigureAwait(false);
        if (all)
        {
            return agents;
        }
        var since = DateTimeOffset.UtcNow - _timing().AgentListWindow;
        return agents.Where(a => a.LastSeen >= since).ToArray();
    }

    // One run as stored, without explaining a wait (what a waiter polls).
    private async Task<FlowRunRecord> ReadRunAsync(Guid id, CancellationToken cancellationToken)
        => (await Backend.GetRunsAsync(new RunQuery { Id = id }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"There is no run {id}.") { Target = id.ToString() };

    /// <summary>
    /// Sets <see cref="FlowRunRecord.WaitReason"/> on each Scheduled run whose flow's labels no agent seen within
    /// <see cref="RunTiming.AgentSeenWindow"/> covers.
    /// </summary>
    private async Task<IReadOnlyList<FlowRunRecord>> ExplainWaitingAsync(IReadOnlyList<FlowRunRecord> runs, CancellationToken cancellationToken)
    {
        if (!runs.Any(r => r.State == RunState.Scheduled))
        {
            return runs;
        }
        var window = _timing().AgentSeenWindow;
        var now = DateTimeOffset.UtcNow;
        var seen = (await Backend.GetAgentsAsync(cancellationToken).ConfigureAwait(false)).Where(a => now - a.LastSeen <= window).ToArray();
        var reasons = new Dictionary<Guid, string?>();
        var explained = new List<FlowRunRecord>(runs.Count);
        foreach (var run in runs)
        {
            if (run.State != RunState.Scheduled)
            {
                explained.Add(run);
                continue;
            }
            if (!reasons.TryGetValue(run.FlowId, out var reason))
            {
                var flow = (await Backend.GetFlowsAsync(new FlowQuery { Id = run.FlowId, IncludeArchived = true }, cancellationToken).ConfigureAwait(false))
                    .FirstOrDefault();
                var labels = flow?.Labels ?? Array.Empty<string>();
                reason = seen.Any(a => a.Covers(labels)) ? null : NoAgentReason(labels, window);
                reasons[run.FlowId] = reason;
            }
            explained.Add(reason is null ? run : run with { WaitReason = reason });
        }
        return explained;
    }

    /// <summary>"no agent with labels a, b has been seen in the last 5 minutes".</summary>
    internal static string NoAgentReason(IReadOnlyList<string> labels, TimeSpan window)
    {
        var span = window.TotalMinutes >= 1 && window.TotalMinutes % 1 == 0
            ? (window.TotalMinutes == 1 ? "minute" : $"{window.TotalMinutes:0} minutes")
            : $"{window.TotalSeconds:0.#} seconds";
        var who = labels.Count == 0 ? "no agent" : $"no agent with label{(labels.Count == 1 ? "" : "s")} {string.Join(", ", labels)}";
        return $"{who} has been seen in the last {span}";
    }

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
            var run = await ReadRunAsync(id, cancellationToken).ConfigureAwait(false);
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
                var why = run.State == RunState.Scheduled
                    && (await ExplainWaitingAsync([run], cancellationToken).ConfigureAwait(false))[0].WaitReason is { } reason ? $": {reason}" : "";
                throw new FlowstoreException(ErrorIds.RunWaitTimedOut, FlowErrorKind.OperationStopped,
                    $"Run {id} of flow '{run.FlowName}' is still {run.State} after {timeout!.Value.TotalSeconds:0.#}s{why}.") { Target = id.ToString() };
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

    /// <summary>
    /// Streams a run's log (Get-FlowRunLog -Follow): hands each line to <paramref name="line"/> as it is written, wherever
    /// the run executes (through a server: on another machine), until the run ended and its last line was handed on;
    /// returns the ended run. <see cref="ErrorIds.RunNotFound"/> for an unknown run.
    /// </summary>
    public async Task<FlowRunRecord> FollowRunLogAsync(Guid id, Action<RunLogEntry> line, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(line);
        var handed = 0;
        while (true)
        {
            await _sweeper.SweepIfAllowedAsync(cancellationToken).ConfigureAwait(false);
            // The state is read before the log: a run seen ended had flushed its last lines before it completed.
            var run = await ReadRunAsync(id, cancellationToken).ConfigureAwait(false);
            var log = await Backend.GetRunLogAsync(id, cancellationToken).ConfigureAwait(false);
            for (; handed < log.Count; handed++)
            {
                line(log[handed]);
            }
            if (run.State is RunState.Success or RunState.Failed or RunState.Cancelled)
            {
                return run;
            }
            await Task.Delay(_timing().PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TaskRunRecord ToRecord(TaskRunResult t) => new(t.Name, t.Slug, t.State, t.Attempts, t.Started, t.Ended, t.Error);

    /// <summary>Keeps task states and log lines for heartbeats, and passes them on to the caller's observer.</summary>
    private sealed class Recorder(IRunObserver? inner, ConcurrentQueue<RunLogEntry> log, ConcurrentDictionary<string, TaskRunRecord> tasks) : IRunObserver
    {
        private int _tasksChanged;

        /// <summary>True (once) when a task state changed since the last call.</summary>
        public bool TakeTasksChanged() => Interlocked.Exchange(ref _tasksChanged, 0) == 1;

        /// <summary>The task states taken were not sent: send them with the next heartbeat.</summary>
        public void MarkTasksChanged() => Volatile.Write(ref _tasksChanged, 1);

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

/// <summary>
/// Whether an agent's server or database is reachable, and the warnings when it is lost and found again (one when it
/// is lost, one per retry of a call that must get through, one when it answers again).
/// </summary>
internal sealed class ConnectionWatch(string backend, Action<string>? warning, string who)
{
    private readonly object _gate = new();

    /// <summary>Since when the backend has not answered; null while it answers.</summary>
    public DateTimeOffset? LostSince { get; private set; }

    private DateTimeOffset? _lostNow;

    /// <summary>A lost server or database, worth waiting for: the server unreachable, or its database away.</summary>
    public static bool IsConnectionLoss(FlowstoreException e) => e.ErrorId switch
    {
        ErrorIds.ServerUnreachable => e.Kind is FlowErrorKind.ConnectionError or FlowErrorKind.OperationTimeout,
        ErrorIds.BackendUnavailable => e.Kind is FlowErrorKind.ConnectionError or FlowErrorKind.ResourceUnavailable or FlowErrorKind.OperationTimeout,
        _ => false,
    };

    public void Lost(FlowstoreException error, string then, bool always = false)
    {
        bool first;
        lock (_gate)
        {
            first = _lostNow is null;
            _lostNow ??= DateTimeOffset.UtcNow;
            LostSince ??= _lostNow;
        }
        if (first || always)
        {
            warning?.Invoke($"{who}: {backend} does not answer ({error.ErrorId}: {error.Message}); {then}.");
        }
    }

    public void Answered()
    {
        DateTimeOffset? since;
        lock (_gate)
        {
            since = _lostNow;
            _lostNow = null;
        }
        if (since is { } lost)
        {
            warning?.Invoke($"{who}: {backend} answers again (it was away for {(DateTimeOffset.UtcNow - lost).TotalSeconds:0.#} s).");
        }
    }
}
