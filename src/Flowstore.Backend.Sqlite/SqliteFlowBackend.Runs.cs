using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

// The run store (IRunStore): the queue, claims, heartbeats, logs and history of flow runs.
//
// Every write takes SQLite's write lock first (BEGIN IMMEDIATE) and re-checks the run's state in the UPDATE itself, so
// two agents (threads, instances or processes on the same file) can never both claim a run, and a run failed as stale
// can no longer be completed by the agent that lost it. "Now" is this process's UTC clock at microsecond precision;
// timestamps are fixed-width ISO text, so comparing the text compares the times.
public sealed partial class SqliteFlowBackend
{
    /// <summary>The error id of a run failed because its agent stopped heartbeating.</summary>
    internal const string RunAgentLostErrorId = ErrorIds.RunAgentLost;

    /// <summary>The error id of an operation on a run id the file does not have.</summary>
    internal const string RunNotFoundErrorId = ErrorIds.RunNotFound;

    /// <summary>The error of a run cancelled while it was still Scheduled.</summary>
    internal const string CancelledBeforeStartError = "cancelled before it started";

    public Task<FlowRunRecord> CreateRunAsync(NewRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(run.Flow);
        var parametersJson = RunInputs.ValidateParametersJson(run.ParametersJson);

        return RunAsync(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using (var exists = Command(connection, transaction, "SELECT 1 FROM flows WHERE id = $id;"))
            {
                exists.Parameters.AddWithValue("$id", GuidText(run.Flow.Id));
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
                INSERT INTO runs (id, flow_id, state, parameters_json, created, pinned_storage_version, pinned_from_run, created_by)
                VALUES ($id, $flow, 'Scheduled', $parameters, $created, $pinned_version, $pinned_from, $created_by);
                """))
            {
                var p = insert.Parameters;
                p.AddWithValue("$id", GuidText(id));
                p.AddWithValue("$flow", GuidText(run.Flow.Id));
                p.AddWithValue("$parameters", parametersJson);
                p.AddWithValue("$created", TimestampText(Now()));
                p.AddWithValue("$pinned_version", (object?)run.PinnedStorageVersion ?? DBNull.Value);
                p.AddWithValue("$pinned_from", run.PinnedFromRun is { } from ? GuidText(from) : DBNull.Value);
                p.AddWithValue("$created_by", (object?)run.CreatedBy ?? DBNull.Value);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            var created = await ReadRunAsync(connection, transaction, id, cancellationToken);
            await CommitAnsweredAsync(connection, transaction, created, cancellationToken);
            return created!;
        }, cancellationToken);
    }

    public Task<FlowRunRecord?> ClaimRunAsync(string agent, Guid? runId, IReadOnlyCollection<string>? labels, CancellationToken cancellationToken)
    {
        var agentName = RunInputs.ValidateAgent(agent);
        var agentLabels = RunInputs.ValidateLabels(labels);
        // An agent takes a run only when every label of the run's flow is one of its own.
        var labelFilter = agentLabels is null ? "" : """

                              AND NOT EXISTS (SELECT 1 FROM flows lf, json_each(lf.labels_json) l
                                              WHERE lf.id = runs.flow_id
                                                AND l.value NOT IN (SELECT value FROM json_each($labels)))
            """;
        return RunAsync(async connection =>
        {
            // BEGIN IMMEDIATE, and the state is checked again by the UPDATE itself: of two claimers (in any process),
            // the second one to get the write lock finds the run Running and updates nothing.
            await using var transaction = connection.BeginTransaction(deferred: false);
            Guid? claimed = null;
            await using (var claim = Command(connection, transaction, $"""
                UPDATE runs SET state = 'Running', agent = $agent, started = $now, heartbeat = $now
                WHERE id = (SELECT id FROM runs
                            WHERE state = 'Scheduled'{(runId is null ? "" : " AND id = $id")}{labelFilter}
                            ORDER BY created, rowid
                            LIMIT 1)
                  AND state = 'Scheduled'
                RETURNING id;
                """))
            {
                claim.Parameters.AddWithValue("$agent", agentName);
                claim.Parameters.AddWithValue("$now", TimestampText(Now()));
                if (agentLabels is not null)
                {
                    claim.Parameters.AddWithValue("$labels", JsonSerializer.Serialize(agentLabels));
                }
                if (runId is { } id)
                {
                    claim.Parameters.AddWithValue("$id", GuidText(id));
                }
                await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    claimed = ParseGuid(reader.GetString(0));
                }
            }

            if (claimed is null)
            {
                return null;
            }
            var record = await ReadRunAsync(connection, transaction, claimed.Value, cancellationToken);
            await CommitAnsweredAsync(connection, transaction, record, cancellationToken);
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
        return RunAsync(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            bool cancelRequested;
            await using (var beat = Command(connection, transaction, """
                UPDATE runs SET heartbeat = $now
                WHERE id = $id AND state = 'Running' AND agent = $agent
                RETURNING cancel_requested;
                """))
            {
                beat.Parameters.AddWithValue("$id", GuidText(runId));
                beat.Parameters.AddWithValue("$agent", agentName);
                beat.Parameters.AddWithValue("$now", TimestampText(Now()));
                await using var reader = await beat.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return true; // not (or no longer) this agent's running run: stop
                }
                cancelRequested = reader.GetInt64(0) != 0;
            }

            await UpsertTasksAsync(connection, transaction, runId, taskList, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return cancelRequested;
        }, cancellationToken);
    }

    /// <summary>
    /// Appends log lines after the run's last one (sequence numbers continue per run, in one transaction). Lines may be
    /// appended to a run in any state. <c>RunNotFound</c> when the run does not exist.
    /// </summary>
    public Task AppendLogAsync(Guid runId, IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Any(e => e is null))
        {
            throw new ArgumentException("A log entry is null.", nameof(entries));
        }
        return RunAsync(async connection =>
        {
            if (entries.Count == 0)
            {
                return 0;
            }
            await using var transaction = connection.BeginTransaction(deferred: false);
            await EnsureRunExistsAsync(connection, transaction, runId, cancellationToken);

            long seq;
            await using (var max = Command(connection, transaction,
                "SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id = $id;"))
            {
                max.Parameters.AddWithValue("$id", GuidText(runId));
                seq = Convert.ToInt64(await max.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            }

            await using var insert = Command(connection, transaction, """
                INSERT INTO run_logs (run_id, seq, time, task, level, message)
                VALUES ($id, $seq, $time, $task, $level, $message);
                """);
            var id = insert.Parameters.AddWithValue("$id", GuidText(runId));
            var seqParameter = insert.Parameters.Add("$seq", SqliteType.Integer);
            var time = insert.Parameters.Add("$time", SqliteType.Text);
            var task = insert.Parameters.Add("$task", SqliteType.Text);
            var level = insert.Parameters.Add("$level", SqliteType.Text);
            var message = insert.Parameters.Add("$message", SqliteType.Text);
            foreach (var entry in entries)
            {
                seqParameter.Value = ++seq;
                time.Value = TimestampText(entry.Time);
                task.Value = (object?)entry.Task ?? DBNull.Value;
                level.Value = entry.Level ?? "Info";
                message.Value = entry.Message ?? "";
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await CommitAnsweredAsync(connection, transaction, null, cancellationToken);
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

        return RunAsync(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using (var complete = Command(connection, transaction, """
                UPDATE runs SET state = $state, ended = $now, error = $error, error_id = $error_id,
                                script_sha256 = COALESCE($sha, script_sha256),
                                storage_version = COALESCE($storage_version, storage_version)
                WHERE id = $id AND state = 'Running' AND agent = $agent;
                """))
            {
                var p = complete.Parameters;
                p.AddWithValue("$id", GuidText(runId));
                p.AddWithValue("$agent", agentName);
                p.AddWithValue("$state", completion.State.ToString());
                p.AddWithValue("$now", TimestampText(Now()));
                p.AddWithValue("$error", (object?)completion.Error ?? DBNull.Value);
                p.AddWithValue("$error_id", (object?)completion.ErrorId ?? DBNull.Value);
                p.AddWithValue("$sha", (object?)completion.ScriptSha256 ?? DBNull.Value);
                p.AddWithValue("$storage_version", (object?)completion.StorageVersion ?? DBNull.Value);
                if (await complete.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }

            await UpsertTasksAsync(connection, transaction, runId, taskList, cancellationToken);
            await CommitAnsweredAsync(connection, transaction, true, cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>The run's log lines in the order they were appended; empty for an unknown run.</summary>
    public Task<IReadOnlyList<RunLogEntry>> GetRunLogAsync(Guid runId, CancellationToken cancellationToken)
    {
        return RunAsync<IReadOnlyList<RunLogEntry>>(async connection =>
        {
            await using var command = Command(connection, null,
                "SELECT time, task, level, message FROM run_logs WHERE run_id = $id ORDER BY seq;");
            command.Parameters.AddWithValue("$id", GuidText(runId));
            var entries = new List<RunLogEntry>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new RunLogEntry(
                    ParseTimestamp(reader.GetString(0)),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.GetString(2),
                    reader.GetString(3)));
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
        return RunAsync(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var command = Command(connection, transaction, """
                UPDATE runs
                SET state = CASE state WHEN 'Scheduled' THEN 'Cancelled' ELSE state END,
                    ended = CASE state WHEN 'Scheduled' THEN $now ELSE ended END,
                    error = CASE state WHEN 'Scheduled' THEN $error ELSE error END,
                    cancel_requested = 1
                WHERE id = $id AND state IN ('Scheduled', 'Running');
                """);
            command.Parameters.AddWithValue("$id", GuidText(runId));
            command.Parameters.AddWithValue("$now", TimestampText(Now()));
            command.Parameters.AddWithValue("$error", CancelledBeforeStartError);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await EnsureRunExistsAsync(connection, transaction, runId, cancellationToken);
                return false;
            }
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Fails every Running run whose last heartbeat is <paramref name="timeout"/> or more ago (so a zero timeout fails
    /// every Running run): state Failed, ended now, error id <c>RunAgentLost</c>, an error naming the agent, its last
    /// heartbeat and the timeout; tasks still Running become Failed. Returns the failed runs as they are now.
    /// </summary>
    public Task<IReadOnlyList<FlowRunRecord>> FailStaleRunsAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The heartbeat timeout is negative.");
        }
        return RunAsync<IReadOnlyList<FlowRunRecord>>(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            var now = Now();
            var cutoff = timeout >= now - DateTimeOffset.UnixEpoch ? DateTimeOffset.UnixEpoch : now - timeout;
            var nowText = TimestampText(now);

            var stale = new List<(Guid Id, string? Agent, string Heartbeat)>();
            await using (var select = Command(connection, transaction, """
                SELECT id, agent, COALESCE(heartbeat, started, created)
                FROM runs
                WHERE state = 'Running' AND COALESCE(heartbeat, started, created) <= $cutoff
                ORDER BY created, rowid;
                """))
            {
                select.Parameters.AddWithValue("$cutoff", TimestampText(cutoff));
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    stale.Add((ParseGuid(reader.GetString(0)), reader.IsDBNull(1) ? null : reader.GetString(1),
                        reader.GetString(2)));
                }
            }
            if (stale.Count == 0)
            {
                return Array.Empty<FlowRunRecord>();
            }

            var seconds = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            await using var fail = Command(connection, transaction, """
                UPDATE runs SET state = 'Failed', ended = $now, error = $error, error_id = $error_id
                WHERE id = $id AND state = 'Running';
                """);
            var idParameter = fail.Parameters.Add("$id", SqliteType.Text);
            var errorParameter = fail.Parameters.Add("$error", SqliteType.Text);
            fail.Parameters.AddWithValue("$now", nowText);
            fail.Parameters.AddWithValue("$error_id", RunAgentLostErrorId);

            await using var failTasks = Command(connection, transaction, """
                UPDATE task_runs SET state = 'Failed', ended = $now, error = $error
                WHERE run_id = $id AND state = 'Running';
                """);
            var taskIdParameter = failTasks.Parameters.Add("$id", SqliteType.Text);
            failTasks.Parameters.AddWithValue("$now", nowText);
            failTasks.Parameters.AddWithValue("$error",
                "the run's agent stopped heartbeating while the task was running");

            var failed = new List<Guid>();
            foreach (var (id, agent, heartbeat) in stale)
            {
                idParameter.Value = GuidText(id);
                errorParameter.Value = $"agent '{agent}' stopped heartbeating (last heartbeat {heartbeat}, " +
                    $"timeout {seconds}s); the run was marked failed";
                if (await fail.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    continue;
                }
                taskIdParameter.Value = GuidText(id);
                await failTasks.ExecuteNonQueryAsync(cancellationToken);
                failed.Add(id);
            }

            var records = new List<FlowRunRecord>();
            foreach (var id in failed)
            {
                records.Add((await ReadRunAsync(connection, transaction, id, cancellationToken))!);
            }
            await transaction.CommitAsync(cancellationToken);
            return records;
        }, cancellationToken);
    }

    // ---------------------------------------------------------------- helpers

    private static async Task UpsertTasksAsync(SqliteConnection connection, SqliteTransaction transaction, Guid runId,
        IReadOnlyList<TaskRunRecord> tasks, CancellationToken cancellationToken)
    {
        if (tasks.Count == 0)
        {
            return;
        }
        await using var upsert = Command(connection, transaction, """
            INSERT INTO task_runs (run_id, slug, name, state, attempts, started, ended, error)
            VALUES ($run, $slug, $name, $state, $attempts, $started, $ended, $error)
            ON CONFLICT (run_id, slug) DO UPDATE SET
                name = excluded.name, state = excluded.state, attempts = excluded.attempts,
                started = excluded.started, ended = excluded.ended, error = excluded.error;
            """);
        upsert.Parameters.AddWithValue("$run", GuidText(runId));
        var slug = upsert.Parameters.Add("$slug", SqliteType.Text);
        var name = upsert.Parameters.Add("$name", SqliteType.Text);
        var state = upsert.Parameters.Add("$state", SqliteType.Text);
        var attempts = upsert.Parameters.Add("$attempts", SqliteType.Integer);
        var started = upsert.Parameters.Add("$started", SqliteType.Text);
        var ended = upsert.Parameters.Add("$ended", SqliteType.Text);
        var error = upsert.Parameters.Add("$error", SqliteType.Text);
        foreach (var task in tasks)
        {
            slug.Value = task.Slug;
            name.Value = task.Name;
            state.Value = task.State.ToString();
            attempts.Value = task.Attempts;
            started.Value = task.Started is { } s ? TimestampText(s) : DBNull.Value;
            ended.Value = task.Ended is { } e ? TimestampText(e) : DBNull.Value;
            error.Value = (object?)task.Error ?? DBNull.Value;
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task EnsureRunExistsAsync(
        SqliteConnection connection, SqliteTransaction transaction, Guid runId, CancellationToken cancellationToken)
    {
        await using var exists = Command(connection, transaction, "SELECT 1 FROM runs WHERE id = $id;");
        exists.Parameters.AddWithValue("$id", GuidText(runId));
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw new FlowstoreException(RunNotFoundErrorId, FlowErrorKind.ObjectNotFound,
                $"Run '{runId}' does not exist ({Description}).") { Target = runId.ToString() };
        }
    }
}
