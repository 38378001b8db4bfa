namespace Flowstore;

/// <summary>The schedule of a registered flow (its latest version) and where its scheduler is.</summary>
public sealed record FlowScheduleRecord
{
    public required string Project { get; init; }
    public required string FlowName { get; init; }
    public required Guid FlowId { get; init; }
    public required int FlowVersion { get; init; }
    public required Guid VersionGroupId { get; init; }

    /// <summary>The schedule as registered (<see cref="Flowstore.Schedule.ToJson"/>).</summary>
    public required string ScheduleJson { get; init; }

    /// <summary>A paused schedule creates no runs (Register-Flow -NoSchedule, Set-FlowSchedule -Paused).</summary>
    public required bool Paused { get; init; }

    /// <summary>
    /// Occurrences up to this time are done with: a run was created for them, or they were missed and left to the
    /// schedule's missed-runs policy, or they fell before the schedule was registered or made active.
    /// </summary>
    public required DateTimeOffset HandledUntil { get; init; }

    /// <summary>The occurrence of the last run the schedule created, or null.</summary>
    public DateTimeOffset? LastOccurrence { get; init; }

    /// <summary>The last run the schedule created, or null.</summary>
    public Guid? LastRunId { get; init; }

    /// <summary>The schedule, read from <see cref="ScheduleJson"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Schedule Schedule => Schedule.FromJson(ScheduleJson);
}

/// <summary>A run a scheduler created for one occurrence of a flow's schedule.</summary>
public sealed record ScheduledRun(string Project, string FlowName, int FlowVersion, DateTimeOffset Occurrence, Guid RunId);

/// <summary>What one pass of a scheduler did (<see cref="IScheduleRunner.CreateDueRunsAsync"/>).</summary>
/// <param name="Ran">False when another scheduler held the lock, so this one did nothing.</param>
/// <param name="Created">The runs created, oldest occurrence first.</param>
/// <param name="Problems">Schedules that could not be read (flow and why); their flows are skipped.</param>
public sealed record ScheduleTick(bool Ran, IReadOnlyList<ScheduledRun> Created, IReadOnlyList<string> Problems)
{
    public static ScheduleTick NotLeader { get; } = new(false, Array.Empty<ScheduledRun>(), Array.Empty<string>());
}

/// <summary>The schedules of registered flows: read them, pause and resume them.</summary>
public interface IScheduleStore
{
    /// <summary>
    /// The schedules of the latest unarchived versions of flows that have one, optionally of one project and one flow
    /// (exact names, case ignored), sorted by project and flow name.
    /// </summary>
    Task<IReadOnlyList<FlowScheduleRecord>> GetSchedulesAsync(string? project, string? flowName, CancellationToken cancellationToken);

    /// <summary>
    /// Pauses or resumes a flow's schedule. Resuming starts from now: occurrences while it was paused are not run.
    /// <see cref="ErrorIds.FlowNotFound"/> for a flow not registered, <see cref="ErrorIds.ScheduleNotFound"/> for one
    /// without a schedule.
    /// </summary>
    Task<FlowScheduleRecord> SetSchedulePausedAsync(string project, string flowName, bool paused, CancellationToken cancellationToken);
}

/// <summary>
/// A backend that creates scheduled runs itself (SQLite and PostgreSQL; through a server, the server does): one pass
/// creates a run for each occurrence due by <c>now</c> that no pass created before, in one transaction.
/// </summary>
public interface IScheduleRunner
{
    /// <summary>
    /// Creates the runs due at <paramref name="now"/>: for each active schedule, the occurrences after its
    /// <see cref="FlowScheduleRecord.HandledUntil"/> up to <paramref name="now"/>, chosen by its
    /// <see cref="MissedRuns"/> policy (the latest only by default). Schedulers take turns through a database lock,
    /// and an occurrence is recorded once per flow (a unique key), so two schedulers never create a run twice.
    /// </summary>
    Task<ScheduleTick> CreateDueRunsAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
