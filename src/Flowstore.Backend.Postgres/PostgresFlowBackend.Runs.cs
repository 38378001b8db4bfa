using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Flowstore.Backend.Postgres;

// The run store (IRunStore): the queue, claims, heartbeats, logs and history of flow runs, with the SQLite backend's
// semantics. Claims pick the oldest Scheduled run with FOR UPDATE SKIP LOCKED and re-check the state in the UPDATE, so
// two agents (in any process) never get the same run; every other write re-checks the run's state in its UPDATE, so a
// run failed as stale can no longer be completed by the agent that lost it. "Now" is this process's UTC clock at
// microsecond precision, as in the SQLite backend (the contract compares it with the caller's clock).
public sealed partial class PostgresFlowBackend
{
    /// <summary>The error of a run cancelled while it was still Scheduled.</summary>
    internal const string CancelledBeforeStartError = "cancelled before it started";

    public Task<FlowRunRecord> CreateRunAsync(NewRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(run.Flow);
        var parametersJson = RunInputs.ValidateParametersJson(run.ParametersJson);

        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var exists = Command(connection, transaction, "SELECT 1 FROM flowstore.flows WHERE id = @id;"))
            {
                AddUuid(exists, "id", run.Flow.Id);
                if (await exists.ExecuteScalarAsync(cancellationToken) is null)
                {
                    throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                        $"Flow '{run.Flow.Name}' version {run.Flow.Version} (id {run.Flow.Id}) is not registered " +
                        $"({Description}); register it before starting a run.")
                    { Target = run.Flow.Name, Hint = FlowHint.RegisterFlow(run.Flow.ScriptPath, run.Flow.Project) };
                }
            }

            var id = Guid.NewGuid();
            await using (var insert = Command(connection, transaction, """
                INSERT INTO flowstore.runs (id, flow_id, state, parameters_json, created, pinned_storage_version, pinned_from_run, created_by)
                VALUES (@id, @flow, 'Scheduled', @parameters, @created, @pinned_version, @pinned_from, @created_by);
                """))
            {
                AddUuid(insert, "id", id);
                AddUuid(insert, "flow", run.Flow.Id);
                AddText(insert, "parameters", parametersJson);
                AddTime(insert, "created", Now());
                AddText(insert, "pinned_version", run.PinnedStorageVersion);
                AddUuid(insert, "pinned_from", run.PinnedFromRun);
                AddText(insert, "created_by", run.CreatedBy);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            var created = await ReadRunAsync(connection, transaction, id, cancellationToken);
            await CommitAnsweredAsync(session, transaction, created, cancellationToken);
            return created!;
        }, cancellationToken);
    }

    public Task<FlowRunRecord?> ClaimRunAsync(string agent, Guid? runId, IReadOnlyCollection<string>? labels, CancellationToken cancellationToken)
    {
        var agentName = RunInputs.ValidateAgent(agent);
        var agentLabels = RunInputs.ValidateLabels(labels);
        // An agent takes a run only when every label of the run's flow is one of its own (jsonb array containment).
        var labelFilter = agentLabels is null ? "" : """

                              AND @labels::jsonb @> (SELECT lf.labels_json::jsonb FROM flowstore.flows lf WHERE lf.id = runs.flow_id)
            """;
        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // The oldest Scheduled run that no other claimer holds (SKIP LOCKED), locked until commit; the UPDATE checks
            // the state again, so a run another agent claimed since this statement's snapshot is never taken twice.
            Guid? claimed = null;
            await using (var claim = Command(connection, transaction, $"""
                UPDATE flowstore.runs SET state = 'Running', agent = @agent, started = @now, heartbeat = @now
                WHERE id = (SELECT id FROM flowstore.runs
                            WHERE state = 'Scheduled'{(runId is null ? "" : " AND id = @id")}{labelFilter}
                            ORDER BY created, seq
                            LIMIT 1
                            FOR UPDATE SKIP LOCKED)
                  AND state = 'Scheduled'
                RETURNING id;
                """))
            {
                AddText(claim, "agent", agentName);
                AddTime(claim, "now", Now());
                if (agentLabels is not null)
                {
                    AddText(claim, "labels", JsonSerializer.Serialize(agentLabels));
                }
                if (runId is { } id)
                {
                    AddUuid(claim, "id", id);
                }
                claimed = await claim.ExecuteScalarAsync(cancellationToken) is Guid g ? g : null;
            }

            if (claimed is null)
            {
                return null;
            }
            var record = await ReadRunAsync(connection, transaction, claimed.Value, cancellationToken);
            await CommitAnsweredAsync(session, transaction, record, cancellationToken);
            return record;
        }, cancellationToken);
    }

    /// <summary>
    /// Records a heartbeat and task states for a run <paramref name="agent"/> owns, and returns whether
    /// <see cref="RequestCancelAsync"/> asked it to stop. When the run is no longer Running under this agent (it was
    /// failed as stale, or does not exist) nothing is written and the answer is <c>true</c>: the agent must stop.
    /// </summary>
    public Task<bool> HeartbeatAsync(Guid runId, string agent, IReadOnlyList<TaskRunRecord> tasks, CancellationToken cancellationToken)
    {
        var agentName = RunInputs.ValidateAgent(agent);
        var taskList = RunInputs.ValidateTasks(tasks);
        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            object? cancelRequested;
            await using (var beat = Command(connection, transaction, """
                UPDATE flowstore.runs SET heartbeat = @now
                WHERE id = @id AND state = 'Running' AND agent = @agent
                RETURNING cancel_requested;
                """))
            {
                AddUuid(beat, "id", runId);
                AddText(beat, "agent", agentName);
                AddTime(beat, "now", Now());
                cancelRequested = await beat.ExecuteScalarAsync(cancellationToken);
            }
            if (cancelRequested is not bool requested)
            {
                return true; // not (or no longer) this agent's running run: stop
            }

            await UpsertTasksAsync(connection, transaction, runId, taskList, cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return requested;
        }, cancellationToken);
    }

    /// <summary>
    /// Appends log lines after the run's last one (sequence numbers continue per run, in one transaction, appenders of
    /// one run taking turns on its row lock). Lines may be appended to a run in any state. <c>RunNotFound</c> when the
    /// run does not exist.
    /// </summary>
    public Task AppendLogAsync(Guid runId, IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Any(e => e is null))
        {
            throw new ArgumentException("A log entry is null.", nameof(entries));
        }
        return ExecuteAsync(async session =>
        {
            if (entries.Count == 0)
            {
                return 0;
            }
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var lockRun = Command(connection, transaction, "SELECT 1 FROM flowstore.runs WHERE id = @id FOR NO KEY UPDATE;"))
            {
                AddUuid(lockRun, "id", runId);
                if (await lockRun.ExecuteScalarAsync(cancellationToken) is null)
                {
                    throw RunNotFound(runId);
                }
            }

            await using var insert = Command(connection, transaction, """
                INSERT INTO flowstore.run_logs (run_id, seq, time, task, level, message)
                SELECT @id, last.seq + line.ordinality, line.time, line.task, line.level, line.message
                FROM (SELECT COALESCE(MAX(seq), 0) AS seq FROM flowstore.run_logs WHERE run_id = @id) last,
                     unnest(@times, @tasks, @levels, @messages) WITH ORDINALITY AS line (time, task, level, message, ordinality);
                """);
            AddUuid(insert, "id", runId);
            insert.Parameters.Add(new NpgsqlParameter("times", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            {
                Value = entries.Select(e => Utc(Truncate(e.Time))).ToArray(),
            });
            insert.Parameters.Add(new NpgsqlParameter("tasks", NpgsqlDbType.Array | NpgsqlDbType.Text)
            {
                Value = entries.Select(e => Storable(e.Task)).ToArray(),
            });
            insert.Parameters.Add(new NpgsqlParameter("levels", NpgsqlDbType.Array | NpgsqlDbType.Text)
            {
                Value = entries.Select(e => Storable(e.Level ?? "Info")).ToArray(),
            });
            insert.Parameters.Add(new NpgsqlParameter("messages", NpgsqlDbType.Array | NpgsqlDbType.Text)
            {
                Value = entries.Select(e => Storable(e.Message ?? "")).ToArray(),
            });
            await insert.ExecuteNonQueryAsync(cancellationToken);
            await CommitAnsweredAsync(session, transaction, null, cancellationToken);
            return 0;
        }, cancellationToken);
    }

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

        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var complete = Command(connection, transaction, """
                UPDATE flowstore.runs SET state = @state, ended = @now, error = @error, error_id = @error_id,
                                script_sha256 = COALESCE(@sha, script_sha256),
                                storage_version = COALESCE(@storage_version, storage_version)
                WHERE id = @id AND state = 'Running' AND agent = @agent;
                """))
            {
                AddUuid(complete, "id", runId);
                AddText(complete, "agent", agentName);
                AddText(complete, "state", completion.State.ToString());
                AddTime(complete, "now", Now());
                AddText(complete, "error", completion.Error);
                AddText(complete, "error_id", completion.ErrorId);
                AddText(complete, "sha", completion.ScriptSha256);
                AddText(complete, "storage_version", completion.StorageVersion);
                if (await complete.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }

            await UpsertTasksAsync(connection, transaction, runId, taskList, cancellationToken);
            await CommitAnsweredAsync(session, transaction, true, cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>The run's log lines in the order they were appended; empty for an unknown run.</summary>
    public Task<IReadOnlyList<RunLogEntry>> GetRunLogAsync(Guid runId, CancellationToken cancellationToken)
    {
        return ExecuteAsync<IReadOnlyList<RunLogEntry>>(async session =>
        {
            await using var command = Command(session.Connection, null,
                "SELECT time, task, level, message FROM flowstore.run_logs WHERE run_id = @id ORDER BY seq;");
            AddUuid(command, "id", runId);
            var entries = new List<RunLogEntry>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new RunLogEntry(ReadTime(reader, 0), ReadOptionalText(reader, 1), reader.GetString(2), reader.GetString(3)));
            }
            return entries;
        }, cancellationToken);
    }

    /// <summary>
    /// A Scheduled run becomes Cancelled at once (ended now, error "cancelled before it started"); a Running one gets
    /// its cancel flag set, which its agent sees at its next heartbeat (true again if already set). False when the run
    /// has ended; <c>RunNotFound</c> when there is no such run.
    /// </summary>
    public Task<bool> RequestCancelAsync(Guid runId, CancellationToken cancellationToken)
    {
        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(connection, transaction, """
                UPDATE flowstore.runs
                SET state = CASE state WHEN 'Scheduled' THEN 'Cancelled' ELSE state END,
                    ended = CASE state WHEN 'Scheduled' THEN @now ELSE ended END,
                    error = CASE state WHEN 'Scheduled' THEN @error ELSE error END,
                    cancel_requested = true
                WHERE id = @id AND state IN ('Scheduled', 'Running');
                """);
            AddUuid(command, "id", runId);
            AddTime(command, "now", Now());
            AddText(command, "error", CancelledBeforeStartError);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await EnsureRunExistsAsync(connection, transaction, runId, cancellationToken);
                return false;
            }
            await session.CommitAsync(transaction, cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Fails every Running run whose last heartbeat is <paramref name="timeout"/> or more ago (so a zero timeout fails
    /// every Running run): state Failed, ended now, error id <c>RunAgentLost</c>, an error naming the agent, its last
    /// heartbeat and the timeout; tasks still Running become Failed. Returns the failed runs as they are now. The stale
    /// runs are locked first (FOR UPDATE): a heartbeat that lands meanwhile waits, then finds its run failed.
    /// </summary>
    public Task<IReadOnlyList<FlowRunRecord>> FailStaleRunsAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The heartbeat timeout is negative.");
        }
        return ExecuteAsync<IReadOnlyList<FlowRunRecord>>(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var now = Now();
            var cutoff = timeout >= now - DateTimeOffset.UnixEpoch ? DateTimeOffset.UnixEpoch : now - timeout;

            var stale = new List<(Guid Id, string? Agent, DateTimeOffset Heartbeat)>();
            await using (var select = Command(connection, transaction, """
                SELECT id, agent, COALESCE(heartbeat, started, created)
                FROM flowstore.runs
                WHERE state = 'Running' AND COALESCE(heartbeat, started, created) <= @cutoff
                ORDER BY created, seq
                FOR UPDATE;
                """))
            {
                AddTime(select, "cutoff", cutoff);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    stale.Add((reader.GetGuid(0), ReadOptionalText(reader, 1), ReadTime(reader, 2)));
                }
            }
            if (stale.Count == 0)
            {
                return Array.Empty<FlowRunRecord>();
            }

            var seconds = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            var failed = new List<Guid>();
            foreach (var (id, agent, heartbeat) in stale)
            {
                await using (var fail = Command(connection, transaction, """
                    UPDATE flowstore.runs SET state = 'Failed', ended = @now, error = @error, error_id = @error_id
                    WHERE id = @id AND state = 'Running';
                    """))
                {
                    AddUuid(fail, "id", id);
                    AddTime(fail, "now", now);
                    AddText(fail, "error", $"agent '{agent}' stopped heartbeating (last heartbeat {TimestampText(heartbeat)}, " +
                        $"timeout {seconds}s); the run was marked failed");
                    AddText(fail, "error_id", ErrorIds.RunAgentLost);
                    if (await fail.ExecuteNonQueryAsync(cancellationToken) == 0)
                    {
                        continue;
                    }
                }
                await using (var failTasks = Command(connection, transaction, """
                    UPDATE flowstore.task_runs SET state = 'Failed', ended = @now, error = @error
                    WHERE run_id = @id AND state = 'Running';
                    """))
                {
                    AddUuid(failTasks, "id", id);
                    AddTime(failTasks, "now", now);
                    AddText(failTasks, "error", "the run's agent stopped heartbeating while the task was running");
                    await failTasks.ExecuteNonQueryAsync(cancellationToken);
                }
                failed.Add(id);
            }

            var records = new List<FlowRunRecord>();
            foreach (var id in failed)
            {
                records.Add((await ReadRunAsync(connection, transaction, id, cancellationToken))!);
            }
            await session.CommitAsync(transaction, cancellationToken);
            return records;
        }, cancellationToken);
    }

    // ---------------------------------------------------------------- helpers

    private static async Task UpsertTasksAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid runId,
        IReadOnlyList<TaskRunRecord> tasks, CancellationToken cancellationToken)
    {
        if (tasks.Count == 0)
        {
            return;
        }
        await using var upsert = Command(connection, transaction, """
            INSERT INTO flowstore.task_runs (run_id, slug, name, state, attempts, started, ended, error)
            VALUES (@run, @slug, @name, @state, @attempts, @started, @ended, @error)
            ON CONFLICT (run_id, slug) DO UPDATE SET
                name = excluded.name, state = excluded.state, attempts = excluded.attempts,
                started = excluded.started, ended = excluded.ended, error = excluded.error;
            """);
        AddUuid(upsert, "run", runId);
        var slug = new NpgsqlParameter("slug", NpgsqlDbType.Text);
        var name = new NpgsqlParameter("name", NpgsqlDbType.Text);
        var state = new NpgsqlParameter("state", NpgsqlDbType.Text);
        var attempts = new NpgsqlParameter("attempts", NpgsqlDbType.Integer);
        var started = new NpgsqlParameter("started", NpgsqlDbType.TimestampTz);
        var ended = new NpgsqlParameter("ended", NpgsqlDbType.TimestampTz);
        var error = new NpgsqlParameter("error", NpgsqlDbType.Text);
        upsert.Parameters.AddRange(new[] { slug, name, state, attempts, started, ended, error });
        foreach (var task in tasks)
        {
            slug.Value = Storable(task.Slug);
            name.Value = Storable(task.Name);
            state.Value = task.State.ToString();
            attempts.Value = task.Attempts;
            started.Value = task.Started is { } s ? Utc(Truncate(s)) : DBNull.Value;
            ended.Value = task.Ended is { } e ? Utc(Truncate(e)) : DBNull.Value;
            error.Value = (object?)Storable(task.Error) ?? DBNull.Value;
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task EnsureRunExistsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid runId, CancellationToken cancellationToken)
    {
        await using var exists = Command(connection, transaction, "SELECT 1 FROM flowstore.runs WHERE id = @id;");
        AddUuid(exists, "id", runId);
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw RunNotFound(runId);
        }
    }

    private FlowstoreException RunNotFound(Guid runId)
        => new(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"Run '{runId}' does not exist ({Description}).")
        { Target = runId.ToString() };
}
