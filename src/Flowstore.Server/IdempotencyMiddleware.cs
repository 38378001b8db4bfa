using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Flowstore.Backend.Http;

namespace Flowstore.Server;

/// <summary>
/// Makes a retried POST safe: a request carrying an Idempotency-Key header that the server has answered successfully
/// gets the first answer again instead of doing the work twice (a second run, a second claim, log lines twice); a
/// repeat that arrives while the first is still running waits for it. Keys are scoped to the caller's credentials and
/// the path. Only successful answers are kept, so a failed request is simply done again.
/// The answers of the calls that change state (<see cref="KeptInTheBackend"/>: create a project, register, start a
/// run, claim, append log lines, complete) are kept in the backend's database for <see cref="StoredLifetime"/>
/// (<see cref="IIdempotentAnswerStore"/>), so a retry that reaches a restarted server (or another server over the same
/// database) is answered, not done again; the others are kept in memory for <see cref="Lifetime"/>.
/// </summary>
internal sealed partial class IdempotencyMiddleware(RequestDelegate next, IFlowBackend backend, ILogger<IdempotencyMiddleware> logger)
{
    /// <summary>How long an answer is kept in memory for a repeat.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long an answer kept in the backend is given for a repeat (a client or agent retrying after an outage).</summary>
    public static readonly TimeSpan StoredLifetime = TimeSpan.FromHours(24);

    /// <summary>The endpoints whose answers outlive the server process.</summary>
    public static readonly IReadOnlySet<string> KeptInTheBackend = new HashSet<string>(StringComparer.Ordinal)
    {
        "CreateProject", "RegisterFlow", "CreateRun", "ClaimRun", "AppendRunLog", "CompleteRun",
    };

    private const int MaxEntries = 20_000;
    private const int MaxKeyLength = 128;
    private readonly ConcurrentDictionary<string, Entry> Entries = new(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        var key = context.Request.Headers[FlowstoreApi.IdempotencyKeyHeader].ToString();
        if (!HttpMethods.IsPost(context.Request.Method) || key.Length == 0)
        {
            await next(context);
            return;
        }
        if (key.Length > MaxKeyLength)
        {
            throw new RequestFieldException(FlowstoreApi.IdempotencyKeyHeader,
                $"The request is not valid: the {FlowstoreApi.IdempotencyKeyHeader} header is longer than {MaxKeyLength} characters.");
        }

        var scope = Scope(context, key);
        var store = backend is IIdempotentAnswerStore kept
                    && context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is { } name
                    && KeptInTheBackend.Contains(name)
            ? kept
            : null;
        var entry = new Entry();
        var existing = Entries.GetOrAdd(scope, entry);
        if (existing != entry)
        {
            if (await existing.Answer.Task.WaitAsync(context.RequestAborted) is { } answer && DateTimeOffset.UtcNow - existing.Created < Lifetime)
            {
                await WriteAsync(context, answer);
                return;
            }
            await next(context); // the first one failed: do it now, unremembered
            return;
        }

        Sweep();
        Answer? result = null;
        var original = context.Response.Body;
        try
        {
            if (store is not null && await store.GetIdempotentAnswerAsync(scope, context.RequestAborted) is { } saved)
            {
                // Answered before, by this server before a restart or by another server over the same database.
                result = new Answer(saved.Status, saved.ContentType, saved.Body);
                await WriteAsync(context, result);
                return;
            }

            using var buffer = new MemoryStream();
            context.Response.Body = buffer;
            await next(context);
            context.Response.Body = original;
            if (context.Response.StatusCode is >= 200 and < 300)
            {
                result = new Answer(context.Response.StatusCode, context.Response.ContentType, buffer.ToArray());
                if (store is not null)
                {
                    await KeepAsync(store, scope, result);
                }
            }
            buffer.Position = 0;
            await buffer.CopyToAsync(original, context.RequestAborted);
        }
        finally
        {
            context.Response.Body = original;
            entry.Answer.TrySetResult(result);
            if (result is null)
            {
                Entries.TryRemove(new KeyValuePair<string, Entry>(scope, entry));
            }
        }
    }

    private async Task KeepAsync(IIdempotentAnswerStore store, string scope, Answer answer)
    {
        var now = DateTimeOffset.UtcNow;
        try
        {
            // Not tied to the caller: the work is done, so its answer is kept even when the caller went away.
            await store.SaveIdempotentAnswerAsync(scope, new IdempotentAnswer(answer.Status, answer.ContentType, answer.Body, now, now + StoredLifetime),
                CancellationToken.None);
        }
        catch (FlowstoreException e)
        {
            // The work is done and answered; only a repeat after a restart would do it again.
            LogNotKept(logger, e.ErrorId, e.Message);
        }
    }

    private static Task WriteAsync(HttpContext context, Answer answer)
    {
        context.Response.StatusCode = answer.Status;
        context.Response.ContentType = answer.ContentType;
        return context.Response.Body.WriteAsync(answer.Body, context.RequestAborted).AsTask();
    }

    /// <summary>The credentials, path and key hashed together: two callers cannot see each other's answers, and no key is kept.</summary>
    private static string Scope(HttpContext context, string key)
    {
        var text = $"{context.Request.Headers.Authorization}\n{context.Request.Path}\n{key}";
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private void Sweep()
    {
        if (Entries.Count < MaxEntries / 2)
        {
            return;
        }
        var cutoff = DateTimeOffset.UtcNow - Lifetime;
        foreach (var (scope, entry) in Entries)
        {
            if (entry.Created < cutoff || Entries.Count > MaxEntries)
            {
                Entries.TryRemove(new KeyValuePair<string, Entry>(scope, entry));
            }
        }
    }

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "An idempotent answer could not be kept in the database ({ErrorId}: {Reason}); a retry after a restart would be done again")]
    private static partial void LogNotKept(ILogger logger, string errorId, string reason);

    private sealed record Answer(int Status, string? ContentType, byte[] Body);

    private sealed class Entry
    {
        public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;
        public TaskCompletionSource<Answer?> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Forgets expired idempotent answers in the backend: at the start, then every half hour.</summary>
internal sealed partial class IdempotentAnswerSweeper(IFlowBackend backend, ILogger<IdempotentAnswerSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (backend is not IIdempotentAnswerStore store)
        {
            return;
        }
        using var timer = new PeriodicTimer(Every);
        do
        {
            try
            {
                await store.PurgeIdempotentAnswersAsync(DateTimeOffset.UtcNow, stoppingToken);
            }
            catch (FlowstoreException e)
            {
                LogNotPurged(logger, e.ErrorId, e.Message); // the database is away: next time
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 411, Level = LogLevel.Warning, Message = "Expired idempotent answers could not be removed ({ErrorId}: {Reason})")]
    private static partial void LogNotPurged(ILogger logger, string errorId, string reason);
}
