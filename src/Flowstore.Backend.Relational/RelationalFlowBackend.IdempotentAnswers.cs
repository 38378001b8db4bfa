using System.Data.Common;

namespace Flowstore.Backend.Relational;

// A server's answers to requests with an Idempotency-Key (idempotent_answers, schema 6), kept in the database so every
// server over it (and a restarted one) has them; the answer of a request's work is written in the work's own
// transaction (CommitAnsweredAsync), so the one is never committed without the other.
public abstract partial class RelationalFlowBackend : IIdempotentAnswerStore
{
    private const string AnswerColumns = "status, content_type, body, created, expires";

    public Task<IdempotentAnswer?> GetIdempotentAnswerAsync(string scope, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        return WithSessionAsync(async session =>
        {
            await using var command = session.Command(null,
                $"SELECT {AnswerColumns} FROM {Dialect.Schema}idempotent_answers WHERE scope = @scope AND expires > @now;");
            Dialect.AddText(command, "scope", scope);
            Dialect.AddTime(command, "now", Now());
            return (await ReadAllAsync(command, ReadIdempotentAnswer, cancellationToken)).FirstOrDefault();
        }, cancellationToken);
    }

    public Task<IdempotentAnswer> SaveIdempotentAnswerAsync(string scope, IdempotentAnswer answer, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        ArgumentNullException.ThrowIfNull(answer);
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await InsertAnswerAsync(session.Connection, transaction, scope, answer, cancellationToken);
            var kept = await ReadKeptAnswerAsync(session.Connection, transaction, scope, cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return kept;
        }, cancellationToken);
    }

    public Task<int> PurgeIdempotentAnswersAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => WithSessionAsync(async session =>
        {
            await using var command = session.Command(null, $"DELETE FROM {Dialect.Schema}idempotent_answers WHERE expires <= @now;");
            Dialect.AddTime(command, "now", now);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// Commits the work of a call whose result is <paramref name="result"/>, with the answer of the current
    /// <see cref="IdempotentRequest"/> (when there is one to keep) written in the same transaction, so the work is never
    /// committed without its answer. <see cref="IdempotentRequestAnsweredException"/>, nothing committed, when a live
    /// answer is kept for the request already.
    /// </summary>
    internal Task CommitAnsweredAsync(RelationalSession session, DbTransaction transaction, object? result, CancellationToken cancellationToken)
        => CommitAnsweredAsync(session.Connection, transaction, result, () => session.CommitAsync(transaction, cancellationToken), cancellationToken);

    /// <inheritdoc cref="CommitAnsweredAsync(RelationalSession, DbTransaction, object?, CancellationToken)"/>
    internal Task CommitAnsweredAsync(DbConnection connection, DbTransaction transaction, object? result, CancellationToken cancellationToken)
        => CommitAnsweredAsync(connection, transaction, result, () => transaction.CommitAsync(cancellationToken), cancellationToken);

    private async Task CommitAnsweredAsync(DbConnection connection, DbTransaction transaction, object? result, Func<Task> commit,
        CancellationToken cancellationToken)
    {
        var request = IdempotentRequest.Current;
        var answer = request?.AnswerFor(result);
        if (answer is not null && !await InsertAnswerAsync(connection, transaction, request!.Scope, answer, cancellationToken))
        {
            // Answered meanwhile (another server did the same request): that answer stands, this work is rolled back.
            throw new IdempotentRequestAnsweredException(await ReadKeptAnswerAsync(connection, transaction, request.Scope, cancellationToken));
        }
        await commit();
        if (answer is not null)
        {
            request!.MarkKept(answer);
        }
    }

    /// <summary>
    /// Writes <paramref name="answer"/> for <paramref name="scope"/> unless a live one is kept (an expired one is replaced);
    /// whether it was written. On PostgreSQL a concurrent transaction writing the same scope makes this wait for its end.
    /// </summary>
    private async Task<bool> InsertAnswerAsync(DbConnection connection, DbTransaction transaction, string scope, IdempotentAnswer answer,
        CancellationToken cancellationToken)
    {
        var table = $"{Dialect.Schema}idempotent_answers";
        await using var insert = Command(connection, transaction, $"""
            INSERT INTO {table} (scope, {AnswerColumns})
            VALUES (@scope, @status, @content_type, @body, @created, @expires)
            ON CONFLICT (scope) DO UPDATE SET status = excluded.status, content_type = excluded.content_type, body = excluded.body,
                created = excluded.created, expires = excluded.expires
            WHERE {table}.expires <= @now;
            """);
        Dialect.AddText(insert, "scope", scope);
        Dialect.AddInt(insert, "status", answer.Status);
        Dialect.AddText(insert, "content_type", answer.ContentType);
        Dialect.Add(insert, "body", SqlType.Blob, answer.Body);
        Dialect.AddTime(insert, "created", answer.Created);
        Dialect.AddTime(insert, "expires", answer.Expires);
        Dialect.AddTime(insert, "now", Now());
        return await insert.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private async Task<IdempotentAnswer> ReadKeptAnswerAsync(DbConnection connection, DbTransaction transaction, string scope,
        CancellationToken cancellationToken)
    {
        await using var select = Command(connection, transaction, $"SELECT {AnswerColumns} FROM {Dialect.Schema}idempotent_answers WHERE scope = @scope;");
        Dialect.AddText(select, "scope", scope);
        return (await ReadAllAsync(select, ReadIdempotentAnswer, cancellationToken)).Single();
    }

    private IdempotentAnswer ReadIdempotentAnswer(DbDataReader reader) => new(
        reader.GetInt32(0), Dialect.ReadOptionalText(reader, 1), (byte[])reader.GetValue(2), Dialect.ReadTime(reader, 3), Dialect.ReadTime(reader, 4));
}
