using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace Flowstore.Backend.Relational;

// The run store (IRunStore): the queue, claims, heartbeats, logs and history of flow runs.
//
// Every write runs in a write transaction (SQLite: BEGIN IMMEDIATE, its write lock taken at once) and re-checks the run's
// state in the UPDATE itself, so two agents (threads, instances or processes on the same database) never both claim a
// run, and a run failed as stale can no longer be completed by the agent that lost it. PostgreSQL claims the oldest
// Scheduled run with FOR UPDATE SKIP LOCKED, so concurrent claimers pass over a run another one holds instead of
// waiting for it. "Now" is this process's UTC clock at microsecond precision (the contract compares it with the
// caller's clock).
public abstract partial class RelationalFlowBackend
{
    /// <summary>The error of a run cancelled while it was still Scheduled.</summary>
    internal const string CancelledBeforeStartError = "cancelled before it started";

    internal const string RunColumns = """
        r.id, r.flow_id, f.name, p.name, f.version, r.state, r.parameters_json, r.created, r.started, r.ended,
        r.script_sha256, r.storage_version, r.error, r.error_id, r.agent, r.heartbeat, r.cancel_requested,
        r.pinned_storage_version, r.pinned_from_run, r.created_by
        """;

    private string RunFrom
        => $"{Dialect.Schema}runs r JOIN {Dialect.Schema}flows f ON f.id = r.flow_id JOIN {Dialect.Schema}projects p ON p.id = f.project_id";

    /// <summary>
    /// Runs matching the query, newest first (created, then insertion order), each with its tasks (ordered by start
    /// time, tasks not started last, then by slug). Project and flow names match exactly, ignoring case.
    /// </summary>
    public Task<IReadOnlyList<FlowRunRecord>> GetRunsAsync(RunQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Last is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Last, "Last is a count of runs: 0 or more.");
        }
        return WithSessionAsync<IReadOnlyList<FlowRunRecord>>(async session =>
        {
            if (query.Last == 0)
            {
                return Array.Empty<FlowRunRecord>();
            }
            await using var command = session.Command(null, "");
            var where = new SqlConditions(Dialect, command);
            where.Equal("r.id", "id", SqlType.Guid, query.Id);
            where.Name("p.name", "project", query.Project);
            where.Name("f.name", "flow", query.FlowName);
            where.Equal("r.state", "state", SqlType.Text, query.State?.ToString());
            if (query.Last is { } last)
            {
                Dialect.AddInt(command, "last", last);
            }
            command.CommandText = $"""
                SELECT {RunColumns}
                FROM {RunFrom}
                {where}
                ORDER BY r.created DESC, r.{Dialect.InsertionOrder} DESC
                {(query.Last is null ? "" : "LIMIT @last")};
                """;
            var runs = await ReadAllAsync(command, ReadRun, cancellationToken);
            return await WithTasksAsync(session.Connection, null, runs, cancellationToken);
        }, cancellationToken);
    }

    internal async Task<FlowRunRecord?> ReadRunAsync(
        DbConnection connection, DbTransaction? transaction, Guid id, CancellationToken cancellationToken)
    {
        List<FlowRunRecord> runs;
        await using (var command = Command(connection, transaction, $"SELECT {RunColumns} FROM {RunFrom} WHERE r.id = @id;"))
        {
            Dialect.AddGuid(command, "id", id);
            runs = await ReadAllAsync(command, ReadRun, cancellationToken);
        }
        return runs.Count == 0 ? null : (await WithTasksAsync(connection, transaction, runs, cancellationToken))[0];
    }

    /// <summary>The runs with their tasks, loaded in one query.</summary>
    internal async Task<IReadOnlyList<FlowRunRecord>> WithTasksAsync(DbConnection connection,
        DbTransaction? transaction, IReadOnlyList<FlowRunRecord> runs, CancellationToken cancellationToken)
    {
        if (runs.Count == 0)
        {
            return runs;
        }
        List<(Guid RunId, TaskRunRecord Task)> rows;
        await using (var command = Command(connection, transaction, $"""
            SELECT run_id, name, slug, state, attempts, started, ended, error
            FROM {Dialect.Schema}task_runs
            WHERE {Dialect.InGuids("run_id", "ids")}
            ORDER BY run_id, started IS NULL, started, {Dialect.Exact("slug")};
            """))
        {
            Dialect.AddGuids(command, "ids", runs.Select(r => r.Id));
            rows = await ReadAllAsync(command, reader => (Dialect.ReadGuid(reader, 0), new TaskRunRecord(
                reader.GetString(1),
                reader.GetString(2),
                Enum.Parse<TaskRunState>(reader.GetString(3)),
                reader.GetInt32(4),
                Dialect.ReadOptionalTime(reader, 5),
                Dialect.ReadOptionalTime(reader, 6),
                Dialect.ReadOptionalText(reader, 7))), cancellationToken);
        }
        var tasks = rows.GroupBy(row => row.RunId).ToDictionary(group => group.Key, group => group.Select(row => row.Task).ToList());
        return runs.Select(r => tasks.TryGetValue(r.Id, out var list) ? r with { Tasks = list } : r).ToList();
    }

    internal FlowRunRecord ReadRun(DbDataReader reader) => new()
    {
        Id = Dialect.ReadGuid(reader, 0),
        FlowId = Dialect.ReadGuid(reader, 1),
        FlowName = reader.GetString(2),
        Project = reader.GetString(3),
        FlowVersion = reader.GetInt32(4),
        State = Enum.Parse<RunState>(reader.GetString(5)),
        ParametersJson = reader.GetString(6),
        Created = Dialect.ReadTime(reader, 7),
        Started = Dialect.ReadOptionalTime(reader, 8),
        Ended = Dialect.ReadOptionalTime(reader, 9),
        ScriptSha256 = Dialect.ReadOptionalText(reader, 10),
        StorageVersion = Dialect.ReadOptionalText(reader, 11),
        Error = Dialect.ReadOptionalText(reader, 12),
        ErrorId = Dialect.ReadOptionalText(reader, 13),
        Agent = Dialect.ReadOptionalText(reader, 14),
        Heartbeat = Dialect.ReadOptionalTime(reader, 15),
        CancelRequested = Dialect.ReadFlag(reader, 16),
        PinnedStorageVersion = Dialect.ReadOptionalText(reader, 17),
        PinnedFromRun = Dialect.ReadOptionalGuid(reader, 18),
        CreatedBy = Dialect.ReadOptionalText(reader, 19),
    };

    public Task<FlowRunRecord> CreateRunAsync(NewRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(run.Flow);
        var parametersJson = RunInputs.ValidateParametersJson(run.ParametersJson);

        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using (var exists = session.Command(transaction, $"SELECT 1 FROM {Dialect.Schema}flows WHERE id = @id;"))
            {
                Dialect.AddGuid(exists, "id", run.Flow.Id);
                if (await exists.ExecuteScalarAsync(cancellationToken) is null)
                {
                    throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                        $"Flow '{run.Flow.Name}' version {run.Flow.Version} (id {run.Flow.Id}) is not registered " +
                        $"({Description}); register it before starting a run.")
                    { Target = run.Flow.Name, Hint = FlowHint.RegisterFlow(run.Flow.ScriptPath, run.Flow.Project) };
                }
            }

            var id = Guid.NewGuid();
            await using (var insert = session.Command(transaction, $"""
                INSERT INTO {Dialect.Schema}runs (id, flow_id, state, parameters_json, created, pinned_storage_version, pinned_from_run, created_by)
                VALUES (@id, @flow, 'Scheduled', @parameters, @created, @pinned_version, @pinned_from, @created_by);
                """))
            {
                Dialect.AddGuid(insert, "id", id);
                Dialect.AddGuid(insert, "flow", run.Flow.Id);
                Dialect.AddText(insert, "parameters", parametersJson);
                Dialect.AddTime(insert, "created", Now());
                Dialect.AddText(insert, "pinned_version", run.PinnedStorageVersion);
                Dialect.AddGuid(insert, "pinned_from", run.PinnedFromRun);
                Dialect.AddText(insert, "created_by", run.CreatedBy);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            var created = await ReadRunAsync(session.Connection, transaction, id, cancellationToken);
            await CommitAnsweredAsync(session, transaction, created, cancellationToken);
            return created!;
        }, cancellationToken);
    }

    public Task<FlowRunRecord?> ClaimRunAsync(string agent, Guid? runId, IReadOnlyCollection<string>? labels, CancellationToken cancellationToken)
    {
        var agentName = RunInputs.ValidateAgent(agent);
        var agentLabels = RunInputs.ValidateLabels(labels);
        var s = Dialect.Schema;
        // An agent takes a run only when every label of the run's flow is one of its own.
        var labelFilter = agentLabels is null ? "" : $"""

                              AND EXISTS (SELECT 1 FROM {s}flows lf
                                          WHERE lf.id = runs.flow_id AND {Dialect.JsonArrayWithin("lf.labels_json", "labels")})
            """;
        return WithSessionAsync(async session =>
        {
            // The oldest Scheduled run (on PostgreSQL: that no other claimer holds, locked until commit), and the state
            // is checked again by the UPDATE itself: a run another claimer took meanwhile is never taken twice.
            await using var transaction = await session.BeginAsync(cancellationToken);
            List<Guid> claimed;
            await using (var claim = session.Command(transaction, $"""
                UPDATE {s}runs SET state = 'Running', agent = @agent, started = @now, heartbeat = @now
                WHERE id = (SELECT id FROM {s}runs
                            WHERE state = 'Scheduled'{(runId is null ? "" : " AND id = @id")}{labelFilter}
                            ORDER BY created, {Dialect.InsertionOrder}
                            LIMIT 1
                            {Dialect.RowLock("FOR UPDATE SKIP LOCKED")})
                  AND state = 'Scheduled'
                RETURNING id;
                """))
            {
                Dialect.AddText(claim, "agent", agentName);
                Dialect.AddTime(claim, "now", Now());
                if (agentLabels is not null)
                {
                    Dialect.AddText(claim, "labels", JsonSerializer.Serialize(agentLabels));
                }
                if (runId is { } id)
                {
                    Dialect.AddGuid(claim, "id", id);
                }
                claimed = await ReadAllAsync(claim, reader => Dialect.ReadGuid(reader, 0), cancellationToken);
            }

            if (claimed.Count == 0)
            {
                return null;
            }
            var record = await ReadRunAsync(session.Connection, transaction, claimed[0], cancellationToken);
            await CommitAnsweredAsync(session, transaction, record, cancellationToken);
            return record;
        }, cancellationToken);
    }

    /// <summary>
    /// Records a heartbeat and task states for a run <paramref name="agent"/> owns, and returns whether
    /// <see cref="RequestCancelAsync"/> asked it to stop. When the run is no longer Running under this agent (it was
    /// failed as stale, or does not exist) nothing is written and the answer is <c>true</c>: the agent must stop, as
    /// whatever it does next can no longer be recorded (<see cref="CompleteRunAsync"/> will return false).
    /// </summary>
    public Task<bool> HeartbeatAsync(Guid runId, string agent, IReadOnlyList<TaskRunRecord> tasks, CancellationToken cancellationToken)
    {
        var agentName = RunInputs.ValidateAgent(agent);
        var taskList = RunInputs.ValidateTasks(tasks);
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            List<bool> cancelRequested;
            await using (var beat = session.Command(transaction, $"""
                UPDATE {Dialect.Schema}runs SET heartbeat = @now
                WHERE id = @id AND state = 'Running' AND agent = @agent
                RETURNING cancel_requested;
                """))
            {
                Dialect.AddGuid(beat, "id", runId);
                Dialect.AddText(beat, "agent", agentName);
                Dialect.AddTime(beat, "now", Now());
                cancelRequested = await ReadAllAsync(beat, reader => Dialect.ReadFlag(reader, 0), cancellationToken);
            }
            if (cancelRequested.Count == 0)
            {
                return true; // not (or no longer) this agent's running run: stop
            }

            await UpsertTasksAsync(session, transaction, runId, taskList, cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return cancelRequested[0];
        }, cancellationToken);
    }

    /// <summary>
    /// Appends log lines after the run's last one (sequence numbers continue per run, in one transaction; on PostgreSQL
    /// appenders of one run take turns on its row lock). Lines may be appended to a run in any state.
    /// <c>RunNotFound</c> when the run does not exist.
    /// </summary>
    public Task AppendLogAsync(Guid runId, IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Any(e => e is null))
        {
            throw new ArgumentException("A log entry is null.", nameof(entries));
        }
        return WithSessionAsync(async session =>
        {
            if (entries.Count == 0)
            {
                return 0;
            }
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using (var lockRun = session.Command(transaction,
                $"SELECT 1 FROM {Dialect.Schema}runs WHERE id = @id {Dialect.RowLock("FOR NO KEY UPDATE")};"))
            {
                Dialect.AddGuid(lockRun, "id", runId);
                if (await lockRun.ExecuteScalarAsync(cancellationToken) is null)
                {
                    throw RunNotFound(runId);
                }
            }
            await InsertLogLinesAsync(session, transaction, runId, entries, cancellationToken);
            await CommitAnsweredAsync(session, transaction, null, cancellationToken);
            return 0;
        }, cancellationToken);
    }

    /// <summary>
    /// Inserts the log lines of a run whose row the transaction has (locked where the database locks rows), numbered
    /// after its last line.
    /// </summary>
    internal abstract Task InsertLogLinesAsync(RelationalSession session, DbTransaction transaction, Guid runId,
        IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// Ends a run that is Running under <paramref name="agent"/>: final state, ended (now), error, error id, provenance
    /// (a null ScriptSha256 / StorageVersion keeps what is stored), and task states (upserted). False, with nothing
    /// written, when the run is not Running under that agent (another agent's, failed as stale, cancelled, unknown).
    /// </summary>
    public Task<bool> CompleteRunAsync(Guid runId, string agent, RunCompletion completion, CancellationToken cancellationToken)
    {
        var agentName = RunInputs.ValidateAgent(agent);
        ArgumentNullException.ThrowIfNull(completion);
        if (completion.State is not (RunState.Success or RunState.Failed or RunState.Cancelled))
        {
            throw new ArgumentException(
                $"A run completes as Success, Failed or Cancelled, not {completion.State}.", nameof(completion));
        }
        var taskList = RunInputs.ValidateTasks(completion.Tasks);

        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using (var complete = session.Command(transaction, $"""
                UPDATE {Dialect.Schema}runs SET state = @state, ended = @now, error = @error, error_id = @error_id,
                                script_sha256 = COALESCE(@sha, script_sha256),
                                storage_version = COALESCE(@storage_version, storage_version)
                WHERE id = @id AND state = 'Running' AND agent = @agent;
                """))
            {
                Dialect.AddGuid(complete, "id", runId);
                Dialect.AddText(complete, "agent", agentName);
                Dialect.AddText(complete, "state", completion.State.ToString());
                Dialect.AddTime(complete, "now", Now());
                Dialect.AddText(complete, "error", completion.Error);
                Dialect.AddText(complete, "error_id", completion.ErrorId);
                Dialect.AddText(complete, "sha", completion.ScriptSha256);
                Dialect.AddText(complete, "storage_version", completion.StorageVersion);
                if (await complete.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }

            await UpsertTasksAsync(session, transaction, runId, taskList, cancellationToken);
            await CommitAnsweredAsync(session, transaction, true, cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>The run's log lines in the order they were appended; empty for an unknown run.</summary>
    public Task<IReadOnlyList<RunLogEntry>> GetRunLogAsync(Guid runId, CancellationToken cancellationToken)
        => WithSessionAsync<IReadOnlyList<RunLogEntry>>(async session =>
        {
            await using var command = session.Command(null,
                $"SELECT time, task, level, message FROM {Dialect.Schema}run_logs WHERE run_id = @id ORDER BY seq;");
            Dialect.AddGuid(command, "id", runId);
            return await ReadAllAsync(command, reader => new RunLogEntry(
                Dialect.ReadTime(reader, 0), Dialect.ReadOptionalText(reader, 1), reader.GetString(2), reader.GetString(3)), cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// A Scheduled run becomes Cancelled at once (ended now, error "cancelled before it started"); a Running one gets
    /// its cancel flag set, which its agent sees at its next heartbeat (true again if already set). False when the run
    /// has ended; <c>RunNotFound</c> when there is no such run.
    /// </summary>
    public Task<bool> RequestCancelAsync(Guid runId, CancellationToken cancellationToken)
        => WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using var command = session.Command(transaction, $"""
                UPDATE {Dialect.Schema}runs
                SET state = CASE state WHEN 'Scheduled' THEN 'Cancelled' ELSE state END,
                    ended = CASE state WHEN 'Scheduled' THEN @now ELSE ended END,
                    error = CASE state WHEN 'Scheduled' THEN @error ELSE error END,
                    cancel_requested = {Dialect.True}
                WHERE id = @id AND state IN ('Scheduled', 'Running');
                """);
            Dialect.AddGuid(command, "id", runId);
            Dialect.AddTime(command, "now", Now());
            Dialect.AddText(command, "error", CancelledBeforeStartError);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await using var exists = session.Command(transaction, $"SELECT 1 FROM {Dialect.Schema}runs WHERE id = @id;");
                Dialect.AddGuid(exists, "id", runId);
                if (await exists.ExecuteScalarAsync(cancellationToken) is null)
                {
                    throw RunNotFound(runId);
                }
                return false;
            }
            await session.CommitAsync(transaction, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Fails every Running run whose last heartbeat is <paramref name="timeout"/> or more ago (so a zero timeout fails
    /// every Running run): state Failed, ended now, error id <c>RunAgentLost</c>, an error naming the agent, its last
    /// heartbeat and the timeout; tasks still Running become Failed. Returns the failed runs as they are now. On
    /// PostgreSQL the stale runs are locked first (FOR UPDATE): a heartbeat that lands meanwhile waits, then finds its
    /// run failed.
    /// </summary>
    public Task<IReadOnlyList<FlowRunRecord>> FailStaleRunsAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The heartbeat timeout is negative.");
        }
        var s = Dialect.Schema;
        return WithSessionAsync<IReadOnlyList<FlowRunRecord>>(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            var now = Now();
            var cutoff = timeout >= now - DateTimeOffset.UnixEpoch ? DateTimeOffset.UnixEpoch : now - timeout;

            List<(Guid Id, string? Agent, DateTimeOffset Heartbeat)> stale;
            await using (var select = session.Command(transaction, $"""
                SELECT id, agent, COALESCE(heartbeat, started, created)
                FROM {s}runs
                WHERE state = 'Running' AND COALESCE(heartbeat, started, created) <= @cutoff
                ORDER BY created, {Dialect.InsertionOrder}
                {Dialect.RowLock("FOR UPDATE")};
                """))
            {
                Dialect.AddTime(select, "cutoff", cutoff);
                stale = await ReadAllAsync(select, reader =>
                    (Dialect.ReadGuid(reader, 0), Dialect.ReadOptionalText(reader, 1), Dialect.ReadTime(reader, 2)), cancellationToken);
            }
            if (stale.Count == 0)
            {
                return Array.Empty<FlowRunRecord>();
            }

            var seconds = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            await using var fail = session.Command(transaction, $"""
                UPDATE {s}runs SET state = 'Failed', ended = @now, error = @error, error_id = @error_id
                WHERE id = @id AND state = 'Running';
                """);
            var failId = Dialect.AddParameter(fail, "id", SqlType.Guid);
            var failError = Dialect.AddParameter(fail, "error", SqlType.Text);
            Dialect.AddTime(fail, "now", now);
            Dialect.AddText(fail, "error_id", ErrorIds.RunAgentLost);

            await using var failTasks = session.Command(transaction, $"""
                UPDATE {s}task_runs SET state = 'Failed', ended = @now, error = @error
                WHERE run_id = @id AND state = 'Running';
                """);
            var failTasksId = Dialect.AddParameter(failTasks, "id", SqlType.Guid);
            Dialect.AddTime(failTasks, "now", now);
            Dialect.AddText(failTasks, "error", "the run's agent stopped heartbeating while the task was running");

            var records = new List<FlowRunRecord>();
            foreach (var (id, agent, heartbeat) in stale)
            {
                Dialect.Set(failId, SqlType.Guid, id);
                Dialect.Set(failError, SqlType.Text, $"agent '{agent}' stopped heartbeating (last heartbeat {TimestampText(heartbeat)}, " +
                    $"timeout {seconds}s); the run was marked failed");
                if (await fail.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    continue;
                }
                Dialect.Set(failTasksId, SqlType.Guid, id);
                await failTasks.ExecuteNonQueryAsync(cancellationToken);
                records.Add((await ReadRunAsync(session.Connection, transaction, id, cancellationToken))!);
            }
            await session.CommitAsync(transaction, cancellationToken);
            return records;
        }, cancellationToken);
    }

    private async Task UpsertTasksAsync(RelationalSession session, DbTransaction transaction, Guid runId,
        IReadOnlyList<TaskRunRecord> tasks, CancellationToken cancellationToken)
    {
        if (tasks.Count == 0)
        {
            return;
        }
        await using var upsert = session.Command(transaction, $"""
            INSERT INTO {Dialect.Schema}task_runs (run_id, slug, name, state, attempts, started, ended, error)
            VALUES (@run, @slug, @name, @state, @attempts, @started, @ended, @error)
            ON CONFLICT (run_id, slug) DO UPDATE SET
                name = excluded.name, state = excluded.state, attempts = excluded.attempts,
                started = excluded.started, ended = excluded.ended, error = excluded.error;
            """);
        Dialect.AddGuid(upsert, "run", runId);
        var slug = Dialect.AddParameter(upsert, "slug", SqlType.Text);
        var name = Dialect.AddParameter(upsert, "name", SqlType.Text);
        var state = Dialect.AddParameter(upsert, "state", SqlType.Text);
        var attempts = Dialect.AddParameter(upsert, "attempts", SqlType.Int);
        var started = Dialect.AddParameter(upsert, "started", SqlType.Time);
        var ended = Dialect.AddParameter(upsert, "ended", SqlType.Time);
        var error = Dialect.AddParameter(upsert, "error", SqlType.Text);
        foreach (var task in tasks)
        {
            Dialect.Set(slug, SqlType.Text, task.Slug);
            Dialect.Set(name, SqlType.Text, task.Name);
            Dialect.Set(state, SqlType.Text, task.State.ToString());
            Dialect.Set(attempts, SqlType.Int, task.Attempts);
            Dialect.Set(started, SqlType.Time, task.Started);
            Dialect.Set(ended, SqlType.Time, task.Ended);
            Dialect.Set(error, SqlType.Text, task.Error);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    internal FlowstoreException RunNotFound(Guid runId)
        => new(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"Run '{runId}' does not exist ({Description}).")
        { Target = runId.ToString() };
}
