using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

/// <summary>A server's answers to requests with an Idempotency-Key, kept in the file so a restarted server still has them.</summary>
public sealed partial class SqliteFlowBackend : IIdempotentAnswerStore
{
    public Task<IdempotentAnswer?> GetIdempotentAnswerAsync(string scope, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        return RunAsync(async connection =>
        {
            await using var command = Command(connection, null, """
                SELECT status, content_type, body, created, expires FROM idempotent_answers WHERE scope = $scope AND expires > $now;
                """);
            command.Parameters.AddWithValue("$scope", scope);
            command.Parameters.AddWithValue("$now", TimestampText(Now()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadIdempotentAnswer(reader) : null;
        }, cancellationToken);
    }

    public Task<IdempotentAnswer> SaveIdempotentAnswerAsync(string scope, IdempotentAnswer answer, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        ArgumentNullException.ThrowIfNull(answer);
        return RunAsync(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            var now = TimestampText(Now());
            // An expired answer under the same scope is replaced; a live one (another server's) stays.
            await using (var insert = Command(connection, transaction, """
                INSERT INTO idempotent_answers (scope, status, content_type, body, created, expires)
                VALUES ($scope, $status, $content_type, $body, $created, $expires)
                ON CONFLICT (scope) DO UPDATE SET status = excluded.status, content_type = excluded.content_type, body = excluded.body,
                    created = excluded.created, expires = excluded.expires
                WHERE idempotent_answers.expires <= $now;
                """))
            {
                var p = insert.Parameters;
                p.AddWithValue("$scope", scope);
                p.AddWithValue("$status", answer.Status);
                p.AddWithValue("$content_type", (object?)answer.ContentType ?? DBNull.Value);
                p.Add("$body", SqliteType.Blob).Value = answer.Body;
                p.AddWithValue("$created", TimestampText(answer.Created));
                p.AddWithValue("$expires", TimestampText(answer.Expires));
                p.AddWithValue("$now", now);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            IdempotentAnswer kept;
            await using (var select = Command(connection, transaction,
                "SELECT status, content_type, body, created, expires FROM idempotent_answers WHERE scope = $scope;"))
            {
                select.Parameters.AddWithValue("$scope", scope);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                kept = ReadIdempotentAnswer(reader);
            }
            await transaction.CommitAsync(cancellationToken);
            return kept;
        }, cancellationToken);
    }

    public Task<int> PurgeIdempotentAnswersAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => RunAsync(async connection =>
        {
            await using var command = Command(connection, null, "DELETE FROM idempotent_answers WHERE expires <= $now;");
            command.Parameters.AddWithValue("$now", TimestampText(now));
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static IdempotentAnswer ReadIdempotentAnswer(SqliteDataReader reader) => new(
        reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1), (byte[])reader.GetValue(2),
        ParseTimestamp(reader.GetString(3)), ParseTimestamp(reader.GetString(4)));
}
