using System.Data.Common;

namespace Flowstore.Backend.Relational;

// Schedules: recorded with a flow version, paused and resumed per flow, and the scheduler's pass that creates due runs.
public abstract partial class RelationalFlowBackend : IScheduleRunner
{
    private string ScheduleColumns => """
        p.name, f.name, f.id, f.version, f.version_group_id, f.schedule_json, s.paused, s.handled_until, s.last_occurrence, s.last_run_id
        """;

    private string ScheduleFrom => $"""
        {Dialect.Schema}flows f
        JOIN {Dialect.Schema}projects p ON p.id = f.project_id
        JOIN {Dialect.Schema}flow_schedules s ON s.version_group_id = f.version_group_id
        """;

    /// <summary>
    /// Makes scheduler passes take turns until <paramref name="transaction"/> ends; false when another holds the turn
    /// (this pass then does nothing). SQLite's write transaction already serialises them; PostgreSQL tries an advisory lock.
    /// </summary>
    internal virtual Task<bool> TryLockSchedulerAsync(RelationalSession session, DbTransaction transaction, CancellationToken cancellationToken)
        => Task.FromResult(true);

    /// <summary>
    /// Within a registration's transaction: the flow's schedule state. A flow's first schedule starts now (active, or
    /// paused when asked); a flow whose schedule changed starts the new one now and keeps its paused state (pausing it
    /// when asked); an unchanged schedule keeps its state.
    /// </summary>
    private async Task RecordScheduleAsync(RelationalSession session, DbTransaction transaction, FlowRecord flow, FlowRecord? previous,
        bool pause, CancellationToken cancellationToken)
    {
        if (flow.ScheduleJson is null)
        {
            return;
        }
        var s = Dialect.Schema;
        bool exists;
        await using (var select = session.Command(transaction, $"SELECT 1 FROM {s}flow_schedules WHERE version_group_id = @group;"))
        {
            Dialect.AddGuid(select, "group", flow.VersionGroupId);
            exists = await select.ExecuteScalarAsync(cancellationToken) is not null;
        }
        var now = flow.Registered;
        if (!exists)
        {
            await using var insert = session.Command(transaction, $"""
                INSERT INTO {s}flow_schedules (version_group_id, paused, handled_until, updated)
                VALUES (@group, {(pause ? Dialect.True : Dialect.False)}, @now, @now);
                """);
            Dialect.AddGuid(insert, "group", flow.VersionGroupId);
            Dialect.AddTime(insert, "now", now);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            return;
        }
        var changed = !string.Equals(previous?.ScheduleJson, flow.ScheduleJson, StringComparison.Ordinal);
        if (!changed && !pause)
        {
            return;
        }
        await using var update = session.Command(transaction, $"""
            UPDATE {s}flow_schedules
            SET {(pause ? $"paused = {Dialect.True}, " : "")}{(changed ? "handled_until = @now, " : "")}updated = @now
            WHERE version_group_id = @group;
            """);
        Dialect.AddGuid(update, "group", flow.VersionGroupId);
        Dialect.AddTime(update, "now", now);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<IReadOnlyList<FlowScheduleRecord>> GetSchedulesAsync(string? project, string? flowName, CancellationToken cancellationToken)
        => WithSessionAsync<IReadOnlyList<FlowScheduleRecord>>(async session =>
        {
            await using var command = session.Command(null, "");
            var where = new SqlConditions(Dialect, command);
            where.Name("p.name", "project", project);
            where.Name("f.name", "name", flowName);
            where.Add(Dialect.IsFalse("f.archived"));
            where.Add("f.schedule_json IS NOT NULL");
            command.CommandText = $"""
                SELECT {ScheduleColumns}
                FROM {ScheduleFrom}
                {where}
                ORDER BY {Dialect.NameOrder("p.name")}, {Dialect.NameOrder("f.name")};
                """;
            return await ReadAllAsync(command, ReadSchedule, cancellationToken);
        }, cancellationToken);

    public Task<FlowScheduleRecord> SetSchedulePausedAsync(string project, string flowName, bool paused, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(flowName);
        var s = Dialect.Schema;
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            FlowRecord? flow;
            await using (var select = session.Command(transaction, $"""
                SELECT {FlowColumns}
                FROM {s}flows f JOIN {s}projects p ON p.id = f.project_id
                WHERE {Dialect.NameEquals("p.name", "@project")} AND {Dialect.NameEquals("f.name", "@name")} AND {Dialect.IsFalse("f.archived")}
                ORDER BY f.version DESC
                LIMIT 1;
                """))
            {
                Dialect.AddText(select, "project", project.Trim());
                Dialect.AddText(select, "name", flowName.Trim());
                flow = (await ReadAllAsync(select, ReadFlow, cancellationToken)).FirstOrDefault();
            }
            if (flow is null)
            {
                throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                    $"Flow '{flowName}' is not registered in project '{project}' ({Description}).")
                { Target = flowName, Hint = FlowHint.RegisterFlow(null, project) };
            }
            if (flow.ScheduleJson is null)
            {
                throw new FlowstoreException(ErrorIds.ScheduleNotFound, FlowErrorKind.ObjectNotFound,
                    $"Flow '{flow.Name}' (project '{flow.Project}', version {flow.Version}) has no schedule; give it one in its script or at registration.")
                { Target = flow.Name };
            }
            var now = Now();
            // Resuming starts from now: what fell due while the schedule was paused is not run.
            await using (var update = session.Command(transaction, paused
                ? $"UPDATE {s}flow_schedules SET paused = {Dialect.True}, updated = @now WHERE version_group_id = @group;"
                : $"""
                  UPDATE {s}flow_schedules
                  SET handled_until = CASE WHEN {Dialect.IsFalse("paused")} THEN handled_until ELSE @now END,
                      paused = {Dialect.False}, updated = @now
                  WHERE version_group_id = @group;
                  """))
            {
                Dialect.AddGuid(update, "group", flow.VersionGroupId);
                Dialect.AddTime(update, "now", now);
                if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    // Recorded before schedules kept a state (cannot happen with this schema): start it now.
                    await using var insert = session.Command(transaction, $"""
                        INSERT INTO {s}flow_schedules (version_group_id, paused, handled_until, updated)
                        VALUES (@group, {(paused ? Dialect.True : Dialect.False)}, @now, @now);
                        """);
                    Dialect.AddGuid(insert, "group", flow.VersionGroupId);
                    Dialect.AddTime(insert, "now", now);
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
            }
            FlowScheduleRecord record;
            await using (var read = session.Command(transaction, $"SELECT {ScheduleColumns} FROM {ScheduleFrom} WHERE f.id = @id;"))
            {
                Dialect.AddGuid(read, "id", flow.Id);
                record = (await ReadAllAsync(read, ReadSchedule, cancellationToken))[0];
            }
            await session.CommitAsync(transaction, cancellationToken);
            return record;
        }, cancellationToken);
    }

    public Task<ScheduleTick> CreateDueRunsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        now = Truncate(now);
        var s = Dialect.Schema;
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            if (!await TryLockSchedulerAsync(session, transaction, cancellationToken))
            {
                return ScheduleTick.NotLeader;
            }
            List<FlowScheduleRecord> schedules;
            await using (var select = session.Command(transaction, $"""
                SELECT {ScheduleColumns}
                FROM {ScheduleFrom}
                WHERE {Dialect.IsFalse("f.archived")} AND f.schedule_json IS NOT NULL AND {Dialect.IsFalse("s.paused")}
                ORDER BY {Dialect.NameOrder("p.name")}, {Dialect.NameOrder("f.name")};
                """))
            {
                schedules = await ReadAllAsync(select, ReadSchedule, cancellationToken);
            }
            var created = new List<ScheduledRun>();
            var problems = new List<string>();
            foreach (var flow in schedules)
            {
                Schedule schedule;
                try
                {
                    schedule = flow.Schedule;
                }
                catch (FlowstoreException e)
                {
                    problems.Add($"flow '{flow.FlowName}' (project '{flow.Project}'): {e.Message}");
                    continue;
                }
                var due = Due(schedule, flow.HandledUntil, now);
                if (due.Count == 0)
                {
                    continue;
                }
                ScheduledRun? last = null;
                foreach (var occurrence in due)
                {
                    var runId = Guid.NewGuid();
                    // The primary key (flow, occurrence) refuses an occurrence a scheduler recorded before, without
                    // aborting the transaction: then no run is created for it.
                    await using (var claim = session.Command(transaction, $"""
                        INSERT INTO {s}schedule_occurrences (version_group_id, occurrence, flow_id, run_id, created)
                        VALUES (@group, @occurrence, @flow, @run, @created)
                        ON CONFLICT (version_group_id, occurrence) DO NOTHING;
                        """))
                    {
                        Dialect.AddGuid(claim, "group", flow.VersionGroupId);
                        Dialect.AddTime(claim, "occurrence", occurrence);
                        Dialect.AddGuid(claim, "flow", flow.FlowId);
                        Dialect.AddGuid(claim, "run", runId);
                        Dialect.AddTime(claim, "created", Now());
                        if (await claim.ExecuteNonQueryAsync(cancellationToken) != 1)
                        {
                            continue;
                        }
                    }
                    await using (var insert = session.Command(transaction, $"""
                        INSERT INTO {s}runs (id, flow_id, state, parameters_json, created)
                        VALUES (@id, @flow, 'Scheduled', @parameters, @created);
                        """))
                    {
                        Dialect.AddGuid(insert, "id", runId);
                        Dialect.AddGuid(insert, "flow", flow.FlowId);
                        Dialect.AddText(insert, "parameters", schedule.ParametersJson);
                        Dialect.AddTime(insert, "created", Now());
                        await insert.ExecuteNonQueryAsync(cancellationToken);
                    }
                    last = new ScheduledRun(flow.Project, flow.FlowName, flow.FlowVersion, occurrence, runId);
                    created.Add(last);
                }
                await using var update = session.Command(transaction, $"""
                    UPDATE {s}flow_schedules
                    SET handled_until = @until, updated = @updated
                        {(last is null ? "" : ", last_occurrence = @occurrence, last_run_id = @run")}
                    WHERE version_group_id = @group;
                    """);
                Dialect.AddGuid(update, "group", flow.VersionGroupId);
                Dialect.AddTime(update, "until", due[^1]);
                Dialect.AddTime(update, "updated", Now());
                if (last is not null)
                {
                    Dialect.AddTime(update, "occurrence", last.Occurrence);
                    Dialect.AddGuid(update, "run", last.RunId);
                }
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            await session.CommitAsync(transaction, cancellationToken);
            return new ScheduleTick(true, created, problems);
        }, cancellationToken);
    }

    /// <summary>
    /// The occurrences in (<paramref name="after"/>, <paramref name="now"/>] a pass creates runs for, by the schedule's
    /// missed-runs policy: the latest only, or the latest <see cref="Schedule.MaxCatchUp"/>. At most a bounded number of
    /// occurrences is looked at: after a very long downtime of a very frequent schedule, the search starts later.
    /// </summary>
    internal static IReadOnlyList<DateTimeOffset> Due(Schedule schedule, DateTimeOffset after, DateTimeOffset now)
    {
        const int MaxLookedAt = 100_000;
        var keep = schedule.MissedRuns == MissedRuns.All ? Schedule.MaxCatchUp : 1;
        var window = new Queue<DateTimeOffset>();
        var looked = 0;
        var at = after;
        while (schedule.NextAfter(at) is { } next && next <= now)
        {
            window.Enqueue(next);
            if (window.Count > keep)
            {
                window.Dequeue();
            }
            at = next;
            if (++looked >= MaxLookedAt)
            {
                // Skip ahead: the occurrences kept are the latest only when the search reaches now.
                var span = next - after;
                at = now - span > at ? now - span : at;
                looked = 0;
                window.Clear();
            }
        }
        return window.ToArray();
    }

    private FlowScheduleRecord ReadSchedule(DbDataReader reader) => new()
    {
        Project = reader.GetString(0),
        FlowName = reader.GetString(1),
        FlowId = Dialect.ReadGuid(reader, 2),
        FlowVersion = reader.GetInt32(3),
        VersionGroupId = Dialect.ReadGuid(reader, 4),
        ScheduleJson = reader.GetString(5),
        Paused = Dialect.ReadFlag(reader, 6),
        HandledUntil = Dialect.ReadTime(reader, 7),
        LastOccurrence = Dialect.ReadOptionalTime(reader, 8),
        LastRunId = Dialect.ReadOptionalGuid(reader, 9),
    };
}
