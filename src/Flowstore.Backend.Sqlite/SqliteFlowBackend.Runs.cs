using System.Data.Common;
using System.Globalization;
using Flowstore.Backend.Relational;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

// The run store (RelationalFlowBackend.Runs.cs): SQLite appends a run's log lines one statement a line, numbered after
// the last one, under the write lock its transaction holds.
public sealed partial class SqliteFlowBackend
{
    internal override async Task InsertLogLinesAsync(RelationalSession session, DbTransaction transaction, Guid runId,
        IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)session.Connection;
        var sqliteTransaction = (SqliteTransaction)transaction;
        long seq;
        await using (var max = Command(connection, sqliteTransaction, "SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id = $id;"))
        {
            max.Parameters.AddWithValue("$id", GuidText(runId));
            seq = Convert.ToInt64(await max.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        await using var insert = Command(connection, sqliteTransaction, """
            INSERT INTO run_logs (run_id, seq, time, task, level, message)
            VALUES ($id, $seq, $time, $task, $level, $message);
            """);
        insert.Parameters.AddWithValue("$id", GuidText(runId));
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
    }
}
