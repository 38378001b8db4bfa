namespace Flowstore.Engine;

/// <summary>A flow's schedule as Get-FlowSchedule and Set-FlowSchedule show it: what it is, whether it runs, and when next.</summary>
public sealed class FlowScheduleInfo
{
    public required string Project { get; init; }
    public required string Name { get; init; }
    public required int Version { get; init; }
    public required Guid FlowId { get; init; }

    /// <summary>"cron '*/15 * * * *' in Europe/Zurich", "every 15m".</summary>
    public required string Schedule { get; init; }

    /// <summary>"cron" or "interval".</summary>
    public required string Kind { get; init; }

    /// <summary>The cron expression (cron schedules).</summary>
    public string? Cron { get; init; }

    /// <summary>The interval (interval schedules).</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>The time zone cron expressions are read in.</summary>
    public required string TimeZone { get; init; }

    /// <summary>The parameter values of the runs the schedule creates.</summary>
    public required IReadOnlyDictionary<string, object?> Parameters { get; init; }

    /// <summary>What is done with occurrences missed while no scheduler ran.</summary>
    public required MissedRuns MissedRuns { get; init; }

    /// <summary>Active or Paused.</summary>
    public required string State { get; init; }

    public bool Paused => State == "Paused";

    /// <summary>The next occurrences (UTC) a run will be created for: none while paused.</summary>
    public required IReadOnlyList<DateTimeOffset> NextOccurrences { get; init; }

    /// <summary>The first of <see cref="NextOccurrences"/>, or null.</summary>
    public DateTimeOffset? Next => NextOccurrences.Count > 0 ? NextOccurrences[0] : null;

    /// <summary>The occurrence of the last run the schedule created.</summary>
    public DateTimeOffset? LastOccurrence { get; init; }

    /// <summary>The last run the schedule created.</summary>
    public Guid? LastRunId { get; init; }

    /// <summary>Occurrences up to this time are done with.</summary>
    public DateTimeOffset HandledUntil { get; init; }

    public override string ToString() => $"{Project}/{Name}: {Schedule} ({State})";
}

/// <summary>Schedules of registered flows: list them with their next occurrences, pause and resume them.</summary>
public sealed class FlowSchedules
{
    private readonly Lazy<IFlowBackend> _backend;
    private readonly TimeProvider _time;

    internal FlowSchedules(Lazy<IFlowBackend> backend, TimeProvider? time = null)
    {
        _backend = backend;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// The schedules of flows (latest versions), optionally of one project, and of flows whose names match
    /// <paramref name="names"/> (wildcards allowed; case ignored), each with its next <paramref name="count"/> occurrences.
    /// </summary>
    public async Task<IReadOnlyList<FlowScheduleInfo>> GetAsync(string? project, IReadOnlyList<string>? names, int count = 5,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        string? exact = names is [var one] && !Wildcard.HasWildcards(one) ? one : null;
        var records = await _backend.Value.GetSchedulesAsync(project, exact, cancellationToken).ConfigureAwait(false);
        if (names is { Count: > 0 } && exact is null)
        {
            var patterns = names.Select(Wildcard.Parse).ToArray();
            records = records.Where(r => patterns.Any(p => p.IsMatch(r.FlowName))).ToArray();
        }
        var now = _time.GetUtcNow();
        return records.Select(r => Describe(r, now, count)).ToArray();
    }

    /// <summary>Pauses or resumes a flow's schedule (resuming starts from now).</summary>
    public async Task<FlowScheduleInfo> SetPausedAsync(string project, string name, bool paused, int count = 5, CancellationToken cancellationToken = default)
    {
        var record = await _backend.Value.SetSchedulePausedAsync(project, name, paused, cancellationToken).ConfigureAwait(false);
        return Describe(record, _time.GetUtcNow(), count);
    }

    /// <summary>What a schedule record says to a user, with its next occurrences after <paramref name="now"/> (none while paused).</summary>
    public static FlowScheduleInfo Describe(FlowScheduleRecord record, DateTimeOffset now, int count)
    {
        var schedule = record.Schedule;
        var from = record.HandledUntil > now ? record.HandledUntil : now;
        return new FlowScheduleInfo
        {
            Project = record.Project,
            Name = record.FlowName,
            Version = record.FlowVersion,
            FlowId = record.FlowId,
            Schedule = schedule.ToString(),
            Kind = schedule.Kind,
            Cron = schedule.Expression,
            Interval = schedule.Interval,
            TimeZone = schedule.TimeZone,
            Parameters = schedule.Parameters,
            MissedRuns = schedule.MissedRuns,
            State = record.Paused ? "Paused" : "Active",
            NextOccurrences = record.Paused ? Array.Empty<DateTimeOffset>() : schedule.Next(from, count),
            LastOccurrence = record.LastOccurrence,
            LastRunId = record.LastRunId,
            HandledUntil = record.HandledUntil,
        };
    }
}
