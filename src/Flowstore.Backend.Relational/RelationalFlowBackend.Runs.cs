using System.Data.Common;

namespace Flowstore.Backend.Relational;

// The run store's reads: runs with their tasks, newest first.
public abstract partial class RelationalFlowBackend
{
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
}
