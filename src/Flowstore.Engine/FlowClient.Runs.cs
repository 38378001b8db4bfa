using System.Collections.Concurrent;
using System.Text.Json;

namespace Flowstore.Engine;

/// <summary>Timing of agents and runs; read from FLOWSTORE_HEARTBEAT_INTERVAL / FLOWSTORE_HEARTBEAT_TIMEOUT (seconds).</summary>
public sealed class RunTiming
{
    /// <summary>How often a running run reports a heartbeat (and checks for Stop-FlowRun).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = Seconds("FLOWSTORE_HEARTBEAT_INTERVAL", 5);

    /// <summary>A Running run whose heartbeat is older than this is failed: its agent is gone.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = Seconds("FLOWSTORE_HEARTBEAT_TIMEOUT", 60);

    /// <summary>How often an idle agent, or Wait-FlowRun, looks again.</summary>
    public TimeSpan PollInterval { get; init; } = Seconds("FLOWSTORE_POLL_INTERVAL", 1);

    /// <summary>How many independent tasks of a run may run at once (FLOWSTORE_MAX_PARALLELISM; default: the core count, at least 2).</summary>
    public int MaxParallelism { get; init; } = int.TryParse(Environment.GetEnvironmentVariable("FLOWSTORE_MAX_PARALLELISM"), out var n) && n > 0
        ? n : Math.Max(2, Environment.ProcessorCount);

    private static TimeSpan Seconds(string variable, double fallback)
        => TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable(variable), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback);
}

/// <summary>Runs: the queue, execution with heartbeats, agents, waiting, stopping, logs.</summary>
public sealed partial class FlowClient
{
    /// <summary>Timing of heartbeats and polling.</summary>
    public RunTiming Timing { get; init; } = new();

    /// <summary>This process's agent name, used for runs started with -Wait.</summary>
    public static string LocalAgent { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>
    /// Queues a run of a flow version (state Scheduled). Parameter names are checked against the registered
    /// structure now; values are converted to the declared types when the run starts.
    /// </summary>
    public async Task<FlowRunRecord> QueueRunAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters,
        Guid? pinnedFromRun = null, CancellationToken cancellationToken = default)
    {
        if (flow.Archived && flow.Version == (await GetFlowsAsync(new FlowQuery { Project = flow.Project, Name = flow.Name, IncludeArchived = true }, cancellationToken).ConfigureAwait(false)).Max(f => f.Version))
        {
            throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.InvalidOperation,
                $"Flow '{flow.Name}' in project '{flow.Project}' is unregistered; register it again to run it.") { Target = flow.Name };
        }
        ParameterBinder.CheckNames(flow.Name,
            FlowStructure.FromJson(flow.StructureJson).Parameters.Select(p => (p.Name, p.Type, p.Required)), parameters);
        string? pinnedVersion = null;
        if (pinnedFromRun is { } earlierId)
        {
            var earlier = (await Backend.GetRunsAsync(new RunQuery { Id = earlierId }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
                ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"There is no run {earlierId} to pin to.") { Target = earlierId.ToString() };
            pinnedVersion = earlier.StorageVersion ?? throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.InvalidOperation,
                $"Run {earlierId} of flow '{earlier.FlowName}' recorded no storage version (it failed before fetching its script), so it cannot be re-run pinned.") { Target = earlierId.ToString() };
        }
        return await Backend.CreateRunAsync(new NewRun
        {
            Flow = flow,
            ParametersJson = JsonSerializer.Serialize(parameters ?? new Dictionary<string, object?>()),
            PinnedStorageVersion = pinnedVersion,
            PinnedFromRun = pinnedFromRun,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The flow version a run belongs to (also archived versions).</summary>
    public async Task<FlowRecord> GetFlowOfRunAsync(FlowRunRecord run, CancellationToken cancellationToken = default)
        => (await GetFlowsAsync(new FlowQuery { Id = run.FlowId, IncludeArchived = true }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound, $"The flow of run {run.Id} no longer exists.") { Target = run.Id.ToString() };

    /// <summary>Queues a run and runs it in this process, returning when it ended (Start-FlowRun -Wait).</summary>
    public async Task<FlowRunRecord> RunNowAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters, Guid? pinnedFromRun,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var queued = await QueueRunAsync(flow, parameters, pinnedFromRun, cancellationToken).ConfigureAwait(false);
        var claimed = await Backend.ClaimRunAsync(LocalAgent, queued.Id, cancellationToken).ConfigureAwait(false)
            ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.InvalidOperation,
                $"Run {queued.Id} was taken by an agent before it could start here.") { Target = queued.Id.ToString() };
        return await ExecuteClaimedAsync(claimed, LocalAgent, observer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Executes a run this agent claimed: heartbeats while it runs (stopping when asked), records task states,
    /// the log and provenance, and returns the ended run. Failures before any task runs (fetch, compile,
    /// structure, parameters) end the run Failed with their error id.
    /// </summary>
    public async Task<FlowRunRecord> ExecuteClaimedAsync(FlowRunRecord run, string agent, IRunObserver? observer = null,
        CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pendingLog = new ConcurrentQueue<RunLogEntry>();
        var tasks = new ConcurrentDictionary<string, TaskRunRecord>(StringComparer.Ordinal);
        var recorder = new Recorder(observer, pendingLog, tasks);

        async Task FlushAsync()
        {
            var batch = new List<RunLogEntry>();
            while (pendingLog.TryDequeue(out var entry))
            {
                batch.Add(entry);
            }
            if (batch.Count > 0)
            {
                await Backend.AppendLogAsync(run.Id, batch, CancellationToken.None).ConfigureAwait(false);
            }
        }

        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(Timing.HeartbeatInterval);
            try
            {
                while (await timer.WaitForNextTickAsync(heartbeatStop.Token).ConfigureAwait(false))
                {
                    if (await Backend.HeartbeatAsync(run.Id, agent, tasks.Values.ToArray(), heartbeatStop.Token).ConfigureAwait(false))
                    {
                        stop.Cancel();
                    }
                    await FlushAsync().ConfigureAwait(false);
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
            var flow = await GetFlowOfRunAsync(run, stop.Token).ConfigureAwait(false);
            // Provenance is known as soon as the script is fetched: a run that then fails (changed structure,
            // bad parameters) still records what it fetched.
            var (built, source) = await PrepareAsync(flow, run.PinnedStorageVersion, stop.Token, s => fetchedSource = s).ConfigureAwait(false);
            var parameters = ParameterBinder.Bind(built, run.Parameters);
            var execution = await FlowExecutor.RunAsync(built, parameters, new ExecutionOptions
            {
                Observer = recorder,
                MaxParallelism = Timing.MaxParallelism,
                Redactions = () => Secrets.ResolvedValues,
                Secrets = Secrets,
            }, stop.Token).ConfigureAwait(false);
            completion = new RunCompletion
            {
                State = execution.State,
                Error = execution.Error,
                ErrorId = execution.State switch { RunState.Failed => "FlowRunFailed", RunState.Cancelled => "FlowRunCancelled", _ => null },
                ScriptSha256 = source.Sha256,
                StorageVersion = source.StorageVersion,
                Tasks = execution.Tasks.Select(ToRecord).ToArray(),
            };
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            completion = new RunCompletion
            {
                State = RunState.Cancelled, Error = "The run was stopped before its tasks started.", ErrorId = "FlowRunCancelled",
                ScriptSha256 = fetchedSource?.Sha256, StorageVersion = fetchedSource?.StorageVersion,
            };
        }
        catch (FlowstoreException e)
        {
            // A storage or library may echo a credential in its message: never let a resolved secret into the record.
            var message = SecretRedaction.Redact(e.Message);
            pendingLog.Enqueue(new RunLogEntry(DateTimeOffset.UtcNow, null, "Error", message));
            completion = new RunCompletion
            {
                State = RunState.Failed, Error = message, ErrorId = e.ErrorId,
                ScriptSha256 = fetchedSource?.Sha256, StorageVersion = fetchedSource?.StorageVersion,
            };
        }
        finally
        {
            heartbeatStop.Cancel();
            await heartbeat.ConfigureAwait(false);
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
    /// <paramref name="once"/>, returns when the queue is empty. Returns the runs it executed.
    /// </summary>
    public async Task<IReadOnlyList<FlowRunRecord>> RunAgentAsync(string agent, bool once, Action<FlowRunRecord>? started = null,
        Action<FlowRunRecord>? ended = null, IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var done = new List<FlowRunRecord>();
        while (!cancellationToken.IsCancellationRequested)
        {
            await Backend.FailStaleRunsAsync(Timing.HeartbeatTimeout, cancellationToken).ConfigureAwait(false);
            var claimed = await Backend.ClaimRunAsync(agent, null, cancellationToken).ConfigureAwait(false);
            if (claimed is null)
            {
                if (once)
                {
                    break;
                }
                await Task.Delay(Timing.PollInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }
            started?.Invoke(claimed);
            var result = await ExecuteClaimedAsync(claimed, agent, observer, cancellationToken).ConfigureAwait(false);
            done.Add(result);
            ended?.Invoke(result);
        }
        return done;
    }

    /// <summary>Runs matching the query, newest first; stale Running runs are failed first.</summary>
    public async Task<IReadOnlyList<FlowRunRecord>> GetRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
    {
        await Backend.FailStaleRunsAsync(Timing.HeartbeatTimeout, cancellationToken).ConfigureAwait(false);
        return await Backend.GetRunsAsync(query, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One run; <see cref="ErrorIds.RunNotFound"/> when there is none.</summary>
    public async Task<FlowRunRecord> GetRunAsync(Guid id, CancellationToken cancellationToken = default)
        => (await GetRunsAsync(new RunQuery { Id = id }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"There is no run {id}.") { Target = id.ToString() };

    /// <summary>Waits until the run ended (Success, Failed, Cancelled); a run whose agent died ends Failed.</summary>
    public async Task<FlowRunRecord> WaitRunAsync(Guid id, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
        {
            limit.CancelAfter(t);
        }
        while (true)
        {
            var run = await GetRunAsync(id, cancellationToken).ConfigureAwait(false);
            if (run.State is RunState.Success or RunState.Failed or RunState.Cancelled)
            {
                return run;
            }
            try
            {
                await Task.Delay(Timing.PollInterval, limit.Token).ConfigureAwait(false);
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
        public void TaskStateChanged(TaskRunResult task, int done, int total)
        {
            tasks[task.Slug] = ToRecord(task);
            inner?.TaskStateChanged(task, done, total);
        }

        public void LogWritten(RunLogEntry entry)
        {
            log.Enqueue(entry);
            inner?.LogWritten(entry);
        }
    }
}
