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

/// <summary>
/// A request a server answers under an Idempotency-Key whose answer the backend keeps (<see cref="IIdempotentAnswerStore"/>),
/// while it is <see cref="Current"/> (the server makes it current around the request's handling). The backend call that
/// does the request's work (create a project or an API key, register, start, claim or complete a run, append log lines)
/// writes <see cref="AnswerFor"/> its result in the same transaction as the work: the work is never committed without its
/// answer, so a retry after any crash gets the answer instead of doing the work again. Only the first such call of the
/// request keeps it (<see cref="Kept"/>, set once that call committed). When a live answer is kept for the scope already
/// (the same request done at the same time through another server), the call's work is rolled back and
/// <see cref="IdempotentRequestAnsweredException"/> carries that answer.
/// </summary>
public sealed class IdempotentRequest
{
    private static readonly AsyncLocal<IdempotentRequest?> Ambient = new();
    private readonly Func<object?, IdempotentAnswer?> _answer;
    private bool _forgone;

    /// <param name="scope">The opaque scope the answer is kept under (<see cref="IIdempotentAnswerStore"/>).</param>
    /// <param name="answer">The answer the server gives for a backend call's result; null when that result is not the request's answer.</param>
    public IdempotentRequest(string scope, Func<object?, IdempotentAnswer?> answer)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        ArgumentNullException.ThrowIfNull(answer);
        Scope = scope;
        _answer = answer;
    }

    /// <summary>The request being answered in this asynchronous flow, if any.</summary>
    public static IdempotentRequest? Current => Ambient.Value;

    public string Scope { get; }

    /// <summary>The answer committed with the request's work; null until then.</summary>
    public IdempotentAnswer? Kept { get; private set; }

    /// <summary>True once <see cref="Forgo"/> was called: nothing of this request is kept in the backend.</summary>
    public bool Forgone => _forgone;

    /// <summary>Makes <paramref name="request"/> current until the result is disposed.</summary>
    public static IDisposable Enter(IdempotentRequest? request)
    {
        var previous = Ambient.Value;
        Ambient.Value = request;
        return new Exit(previous);
    }

    /// <summary>
    /// The answer to keep with the work whose result is <paramref name="result"/>; null when it was kept already, the
    /// request forgoes keeping, or the result is not this request's answer.
    /// </summary>
    public IdempotentAnswer? AnswerFor(object? result) => Kept is null && !_forgone ? _answer(result) : null;

    /// <summary>The answer of this request must not be kept in the backend (e.g. it carries a token made by the server).</summary>
    public void Forgo() => _forgone = true;

    /// <summary>Called by a backend once the transaction holding the work and <paramref name="answer"/> committed.</summary>
    public void MarkKept(IdempotentAnswer answer) => Kept ??= answer ?? throw new ArgumentNullException(nameof(answer));

    private sealed class Exit(IdempotentRequest? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}

/// <summary>
/// The backend found a live answer kept for the <see cref="IdempotentRequest"/> it was doing the work of (the same request
/// was done meanwhile, e.g. through another server): the work was rolled back, and <see cref="Answer"/> is what the request
/// is to be answered.
/// </summary>
public sealed class IdempotentRequestAnsweredException(IdempotentAnswer answer)
    : Exception("The request was answered already; its kept answer is given again and this call's work was rolled back.")
{
    public IdempotentAnswer Answer { get; } = answer;
}

/// <summary>
/// One logical call that a client may send more than once (the engine keeps trying an agent's claim, log batch or
/// completion while its server is away, after the HTTP client's own retries gave up): while it is <see cref="Current"/>,
/// a request that changes state carries an Idempotency-Key made from <see cref="Nonce"/> and the request itself
/// (method, path, body), so sending the same request again within the scope is the same request to the server, which
/// answers it as the first time instead of doing it twice. A different request within the scope gets another key.
/// </summary>
public sealed class IdempotencyScope
{
    private static readonly AsyncLocal<IdempotencyScope?> Ambient = new();

    /// <summary>What makes this call's keys its own.</summary>
    public string Nonce { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The logical call in this asynchronous flow, if any.</summary>
    public static IdempotencyScope? Current => Ambient.Value;

    /// <summary>Makes <paramref name="scope"/> current until the result is disposed.</summary>
    public static IDisposable Enter(IdempotencyScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var previous = Ambient.Value;
        Ambient.Value = scope;
        return new Exit(previous);
    }

    private sealed class Exit(IdempotencyScope? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}
