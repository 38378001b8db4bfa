namespace Flowstore;

/// <summary>
/// The answer a server gave to a request carrying an Idempotency-Key, kept so that a retry of the same request (same
/// caller, path and key) gets it again instead of doing the work twice, also after the server restarted.
/// </summary>
/// <param name="Status">The HTTP status of the first answer (2xx only: a failed request is simply done again).</param>
/// <param name="ContentType">Its media type.</param>
/// <param name="Body">Its body, as sent.</param>
/// <param name="Created">When it was given.</param>
/// <param name="Expires">When it may be forgotten.</param>
public sealed record IdempotentAnswer(int Status, string? ContentType, byte[] Body, DateTimeOffset Created, DateTimeOffset Expires);

/// <summary>
/// Where a server keeps <see cref="IdempotentAnswer"/>s: a table of the backend's own database (SQLite, PostgreSQL), so
/// that they outlive the server process and are shared by servers over one database. The scope is an opaque hash
/// (of the caller's credentials, the path and the key), never a key itself.
/// </summary>
public interface IIdempotentAnswerStore
{
    /// <summary>The answer kept for <paramref name="scope"/>, or null when there is none or it has expired.</summary>
    Task<IdempotentAnswer?> GetIdempotentAnswerAsync(string scope, CancellationToken cancellationToken);

    /// <summary>Keeps an answer for <paramref name="scope"/>; when one is kept already (another server's), that one stays and is returned.</summary>
    Task<IdempotentAnswer> SaveIdempotentAnswerAsync(string scope, IdempotentAnswer answer, CancellationToken cancellationToken);

    /// <summary>Forgets the answers that expired before <paramref name="now"/>; how many.</summary>
    Task<int> PurgeIdempotentAnswersAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
