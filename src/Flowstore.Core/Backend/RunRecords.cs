namespace Flowstore;

/// <summary>One task of a recorded run.</summary>
public sealed record TaskRunRecord(string Name, string Slug, TaskRunState State, int Attempts, DateTimeOffset? Started, DateTimeOffset? Ended, string? Error)
{
    /// <summary>"load: Success", "load: Failed after 3 attempts": how a run's task list reads in a list view.</summary>
    public override string ToString() => Attempts > 1 ? $"{Name}: {State} after {Attempts} attempts" : $"{Name}: {State}";
}

/// <summary>A recorded flow run.</summary>
public sealed record FlowRunRecord
{
    public required Guid Id { get; init; }
    public required Guid FlowId { get; init; }
    public required string FlowName { get; init; }
    public required string Project { get; init; }
    public required int FlowVersion { get; init; }
    public required RunState State { get; init; }

    /// <summary>The parameters given to the run, as a JSON object (converted to declared types when it runs).</summary>
    public string ParametersJson { get; init; } = "{}";

    /// <summary>The parameters given to the run, as plain values (read from <see cref="ParametersJson"/>).</summary>
    public IReadOnlyDictionary<string, object?> Parameters => RunParameters.Read(ParametersJson);

    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset? Started { get; init; }
    public DateTimeOffset? Ended { get; init; }

    /// <summary>SHA-256 of the script (or stored assembly) the run executed.</summary>
    public string? ScriptSha256 { get; init; }

    /// <summary>The storage's own version of what ran (commit SHA, ETag, generation, digest, write time and size).</summary>
    public string? StorageVersion { get; init; }

    public string? Error { get; init; }
    public string? ErrorId { get; init; }

    /// <summary>The agent that claimed the run.</summary>
    public string? Agent { get; init; }

    /// <summary>The last sign of life of the agent running it.</summary>
    public DateTimeOffset? Heartbeat { get; init; }

    /// <summary>Stop-FlowRun asked the run to stop.</summary>
    public bool CancelRequested { get; init; }

    /// <summary>Fetch exactly this storage version (a re-run of an earlier run with -Pinned).</summary>
    public string? PinnedStorageVersion { get; init; }

    /// <summary>The run whose script this run re-runs (-Pinned).</summary>
    public Guid? PinnedFromRun { get; init; }

    /// <summary>The name of the API key that started the run; null when it was started without one (locally).</summary>
    public string? CreatedBy { get; init; }

    public IReadOnlyList<TaskRunRecord> Tasks { get; init; } = Array.Empty<TaskRunRecord>();

    /// <summary>
    /// Why a Scheduled run is not taken, when no agent that may take it has been seen lately ("no agent with labels a,
    /// b has been seen in the last 5 minutes"); null otherwise. Worked out by the client when it reads runs, never stored.
    /// </summary>
    public string? WaitReason { get; init; }

    public TimeSpan? Duration => Ended - Started;
}

/// <summary>A new run to queue.</summary>
public sealed record NewRun
{
    public required FlowRecord Flow { get; init; }
    public string ParametersJson { get; init; } = "{}";
    public string? PinnedStorageVersion { get; init; }
    public Guid? PinnedFromRun { get; init; }

    /// <summary>The name of the API key starting the run (set by the server from the authenticated key, never taken from a client); null locally.</summary>
    public string? CreatedBy { get; init; }
}

/// <summary>How a run ended.</summary>
public sealed record RunCompletion
{
    public required RunState State { get; init; }
    public string? Error { get; init; }
    public string? ErrorId { get; init; }
    public string? ScriptSha256 { get; init; }
    public string? StorageVersion { get; init; }
    public IReadOnlyList<TaskRunRecord> Tasks { get; init; } = Array.Empty<TaskRunRecord>();
}

/// <summary>Filters for <see cref="IRunStore.GetRunsAsync"/>; null means any. Newest first.</summary>
public sealed record RunQuery
{
    public Guid? Id { get; init; }
    public string? Project { get; init; }
    public string? FlowName { get; init; }
    public RunState? State { get; init; }

    /// <summary>At most this many (the newest).</summary>
    public int? Last { get; init; }
}

/// <summary>
/// The run queue and history. Claims are atomic (two agents never get the same run); an agent heartbeats
/// while it runs, and a run whose agent stopped heartbeating is failed by the next sweep (<see cref="FailStaleRunsAsync"/>:
/// agents and waiters call it; reading runs never writes).
/// </summary>
public interface IRunStore
{
    /// <summary>Records a run in state Scheduled; <see cref="ErrorIds.FlowNotFound"/> when the flow version is not registered.</summary>
    Task<FlowRunRecord> CreateRunAsync(NewRun run, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically moves a Scheduled run to Running for <paramref name="agent"/>: the given run, or the oldest
    /// scheduled one. Null when there is none (or the given run is no longer Scheduled).
    /// With <paramref name="labels"/> (an agent's), only a run of a flow whose labels are all among them is claimed
    /// (exact, case-sensitive match; a flow without labels fits every agent); null claims whatever flow (the process
    /// that started a run executes it itself).
    /// </summary>
    Task<FlowRunRecord?> ClaimRunAsync(string agent, Guid? runId, IReadOnlyCollection<string>? labels, CancellationToken cancellationToken);

    /// <summary>
    /// Records a heartbeat and task states (upserted by slug); returns true when the run was asked to stop. Also true,
    /// with nothing written, when the run is not Running under <paramref name="agent"/> (failed as stale, ended,
    /// unknown): the agent must stop, as its completion can no longer be recorded.
    /// </summary>
    Task<bool> HeartbeatAsync(Guid runId, string agent, IReadOnlyList<TaskRunRecord> tasks, CancellationToken cancellationToken);

    /// <summary>Appends log lines (already redacted) after the run's last one, in order; "RunNotFound" for an unknown run.</summary>
    Task AppendLogAsync(Guid runId, IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// Ends a Running run owned by <paramref name="agent"/> (state Success, Failed or Cancelled; tasks upserted by slug);
    /// false, with nothing written, when it no longer is (e.g. failed as stale).
    /// </summary>
    Task<bool> CompleteRunAsync(Guid runId, string agent, RunCompletion completion, CancellationToken cancellationToken);

    /// <summary>Runs newest first (creation order), with their tasks ordered by start time (not started last), then slug.</summary>
    Task<IReadOnlyList<FlowRunRecord>> GetRunsAsync(RunQuery query, CancellationToken cancellationToken);

    /// <summary>The run's log lines in the order they were appended; empty for an unknown run.</summary>
    Task<IReadOnlyList<RunLogEntry>> GetRunLogAsync(Guid runId, CancellationToken cancellationToken);

    /// <summary>
    /// A Scheduled run becomes Cancelled at once; a Running one is flagged for its agent. False when already ended;
    /// "RunNotFound" for an unknown run.
    /// </summary>
    Task<bool> RequestCancelAsync(Guid runId, CancellationToken cancellationToken);

    /// <summary>
    /// Fails (error id "RunAgentLost", an error naming the agent) every Running run whose last heartbeat is
    /// <paramref name="timeout"/> or more ago, so a zero timeout fails every Running run; returns them.
    /// </summary>
    Task<IReadOnlyList<FlowRunRecord>> FailStaleRunsAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>Shorthands of <see cref="IRunStore"/>.</summary>
public static class RunStoreExtensions
{
    /// <summary>Claims a run whatever its flow's labels (<see cref="IRunStore.ClaimRunAsync(string, Guid?, IReadOnlyCollection{string}?, CancellationToken)"/> without labels).</summary>
    public static Task<FlowRunRecord?> ClaimRunAsync(this IRunStore store, string agent, Guid? runId, CancellationToken cancellationToken)
        => store.ClaimRunAsync(agent, runId, null, cancellationToken);
}

/// <summary>Reads run parameters saved as JSON into plain values (string, long, double, bool, null, arrays, dictionaries).</summary>
public static class RunParameters
{
    public static IReadOnlyDictionary<string, object?> Read(string? json)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => Plain(p.Value), StringComparer.OrdinalIgnoreCase);
    }

    private static object? Plain(System.Text.Json.JsonElement e) => e.ValueKind switch
    {
        System.Text.Json.JsonValueKind.String => e.GetString(),
        // Boxed separately: as one conditional expression, long and double would both become double,
        // and integers beyond 2^53 would lose digits.
        System.Text.Json.JsonValueKind.Number => e.TryGetInt64(out var l) ? (object)l : e.GetDouble(),
        System.Text.Json.JsonValueKind.True => true,
        System.Text.Json.JsonValueKind.False => false,
        System.Text.Json.JsonValueKind.Array => e.EnumerateArray().Select(Plain).ToArray(),
        System.Text.Json.JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => Plain(p.Value)),
        _ => null,
    };
}
