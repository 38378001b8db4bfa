using Npgsql;
using NpgsqlTypes;

namespace Flowstore.Backend.Postgres;

/// <summary>A server's answers to requests with an Idempotency-Key, kept in the database so every server over it (and a restarted one) has them.</summary>
public sealed partial class PostgresFlowBackend : IIdempotentAnswerStore
{
    public Task<IdempotentAnswer?> GetIdempotentAnswerAsync(string scope, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        return ExecuteAsync(async session =>
        {
            await using var command = Command(session.Connection, null, """
                SELECT status, content_type, body, created, expires FROM flowstore.idempotent_answers WHERE scope = @scope AND expires > @now;
                """);
            AddText(command, "scope", scope);
            AddTime(command, "now", Now());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadIdempotentAnswer(reader) : null;
        }, cancellationToken);
    }

    public Task<IdempotentAnswer> SaveIdempotentAnswerAsync(string scope, IdempotentAnswer answer, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        ArgumentNullException.ThrowIfNull(answer);
        return ExecuteAsync(async session =>
        {
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken);
            // An expired answer under the same scope is replaced; a live one (another server's) stays.
            await using (var insert = Command(session.Connection, transaction, """
                INSERT INTO flowstore.idempotent_answers (scope, status, content_type, body, created, expires)
                VALUES (@scope, @status, @content_type, @body, @created, @expires)
                ON CONFLICT (scope) DO UPDATE SET status = excluded.status, content_type = excluded.content_type, body = excluded.body,
                    created = excluded.created, expires = excluded.expires
                WHERE flowstore.idempotent_answers.expires <= @now;
                """))
            {
                AddText(insert, "scope", scope);
                insert.Parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Integer) { Value = answer.Status });
                AddText(insert, "content_type", answer.ContentType);
                insert.Parameters.Add(new NpgsqlParameter("body", NpgsqlDbType.Bytea) { Value = answer.Body });
                AddTime(insert, "created", answer.Created);
                AddTime(insert, "expires", answer.Expires);
                AddTime(insert, "now", Now());
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            IdempotentAnswer kept;
            await using (var select = Command(session.Connection, transaction,
                "SELECT status, content_type, body, created, expires FROM flowstore.idempotent_answers WHERE scope = @scope;"))
            {
                AddText(select, "scope", scope);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                kept = ReadIdempotentAnswer(reader);
            }
            await session.CommitAsync(transaction, cancellationToken);
            return kept;
        }, cancellationToken);
    }

    public Task<int> PurgeIdempotentAnswersAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => ExecuteAsync(async session =>
        {
            await using var command = Command(session.Connection, null, "DELETE FROM flowstore.idempotent_answers WHERE expires <= @now;");
            AddTime(command, "now", now);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static IdempotentAnswer ReadIdempotentAnswer(NpgsqlDataReader reader) => new(
        reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<byte[]>(2), ReadTime(reader, 3), ReadTime(reader, 4));
}
