using System.Data.Common;
using Flowstore.Backend.Relational;
using Npgsql;
using NpgsqlTypes;

namespace Flowstore.Backend.Postgres;

// The run store (RelationalFlowBackend.Runs.cs): PostgreSQL appends a run's log lines in one statement (unnest of
// arrays), numbered after the last one while the transaction holds the run's row lock.
public sealed partial class PostgresFlowBackend
{
    internal override async Task InsertLogLinesAsync(RelationalSession session, DbTransaction transaction, Guid runId,
        IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken)
    {
        await using var insert = session.Command(transaction, """
            INSERT INTO flowstore.run_logs (run_id, seq, time, task, level, message)
            SELECT @id, last.seq + line.ordinality, line.time, line.task, line.level, line.message
            FROM (SELECT COALESCE(MAX(seq), 0) AS seq FROM flowstore.run_logs WHERE run_id = @id) last,
                 unnest(@times, @tasks, @levels, @messages) WITH ORDINALITY AS line (time, task, level, message, ordinality);
            """);
        Dialect.AddGuid(insert, "id", runId);
        AddArray("times", NpgsqlDbType.TimestampTz, entries.Select(e => Utc(Truncate(e.Time))).ToArray());
        AddArray("tasks", NpgsqlDbType.Text, entries.Select(e => Storable(e.Task)).ToArray());
        AddArray("levels", NpgsqlDbType.Text, entries.Select(e => Storable(e.Level ?? "Info")).ToArray());
        AddArray("messages", NpgsqlDbType.Text, entries.Select(e => Storable(e.Message ?? "")).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);

        void AddArray(string name, NpgsqlDbType elementType, Array values)
            => insert.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | elementType) { Value = values });
    }
}
