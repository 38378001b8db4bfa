using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Flowstore.Backend.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Flowstore.Server;

/// <summary>
/// Makes a retried POST safe: a request carrying an Idempotency-Key header that the server has answered successfully
/// gets the first answer again instead of doing the work twice (a second run, a second claim, log lines twice); a
/// repeat that arrives while the first is still running waits for it. Keys are scoped to the caller's credentials and
/// the path. Only successful answers are kept, so a failed request is simply done again.
/// The answers of the calls that change state (endpoints with <see cref="KeptAnswerMetadata"/>: create a project or an
/// API key, register, start, claim or complete a run, append log lines) are kept in the backend's database for
/// <see cref="StoredLifetime"/>, written by the backend in the same transaction as the work (<see cref="IdempotentRequest"/>):
/// the work is never committed without its answer, so a retry that reaches a restarted server (or another server over
/// the same database) is answered, never done again, whenever the server stopped. The others are kept in memory for
/// <see cref="Lifetime"/>.
/// </summary>
internal sealed partial class IdempotencyMiddleware(RequestDelegate next, IFlowBackend backend, ILogger<IdempotencyMiddleware> logger)
{
    /// <summary>How long an answer is kept in memory for a repeat.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long an answer kept in the backend is given for a repeat (a client or agent retrying after an outage).</summary>
    public static readonly TimeSpan StoredLifetime = TimeSpan.FromHours(24);

    /// <summary>The media type of a JSON answer, as the endpoints write it.</summary>
    private const string JsonContentType = "application/json; charset=utf-8";

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
        var kept = context.GetEndpoint()?.Metadata.GetMetadata<KeptAnswerMetadata>();
        var store = kept is not null ? backend as IIdempotentAnswerStore : null;
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

            var request = store is null ? null : new IdempotentRequest(scope, work => Render(context, kept!, work));
            using var buffer = new MemoryStream();
            context.Response.Body = buffer;
            try
            {
                using (IdempotentRequest.Enter(request))
                {
                    await next(context);
                }
            }
            catch (IdempotentRequestAnsweredException answered)
            {
                // The same request was done meanwhile through another server: its answer stands, this work was rolled back.
                buffer.SetLength(0);
                await buffer.WriteAsync(answered.Answer.Body, context.RequestAborted);
                context.Response.StatusCode = answered.Answer.Status;
                context.Response.ContentType = answered.Answer.ContentType;
            }
            context.Response.Body = original;
            if (context.Response.StatusCode is >= 200 and < 300)
            {
                if (context.RequestServices.GetService<IAfterWorkFault>() is { } fault && await fault.AfterWorkAsync(context))
                {
                    return; // the test's crash: no answer leaves, none is remembered here
                }
                if (request?.Kept is { } committed)
                {
                    // The answer committed with the work is the answer, now and to every retry.
                    result = new Answer(committed.Status, committed.ContentType, committed.Body);
                    context.Response.StatusCode = result.Status;
                    context.Response.ContentType = result.ContentType;
                    await original.WriteAsync(result.Body, context.RequestAborted);
                    return;
                }
                result = new Answer(context.Response.StatusCode, context.Response.ContentType, buffer.ToArray());
                if (store is not null && request is { Forgone: false })
                {
                    // No work was committed (nothing to claim, a run no longer the agent's): kept all the same.
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

    /// <summary>The answer an endpoint gives for its backend call's result (<see cref="KeptAnswerMetadata"/>); null when the result is not its answer.</summary>
    private static IdempotentAnswer? Render(HttpContext context, KeptAnswerMetadata kept, object? work)
    {
        var now = DateTimeOffset.UtcNow;
        if (kept.ResultType is null)
        {
            return work is null ? new IdempotentAnswer(kept.Status, null, [], now, now + StoredLifetime) : null;
        }
        if (work is null || !kept.ResultType.IsInstanceOfType(work))
        {
            return null;
        }
        var body = kept.Body(work);
        var options = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        return new IdempotentAnswer(kept.Status, JsonContentType, JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), options), now, now + StoredLifetime);
    }

    private async Task KeepAsync(IIdempotentAnswerStore store, string scope, Answer answer)
    {
        var now = DateTimeOffset.UtcNow;
        try
        {
            // Not tied to the caller: the answer is given, so it is kept even when the caller went away.
            await store.SaveIdempotentAnswerAsync(scope, new IdempotentAnswer(answer.Status, answer.ContentType, answer.Body, now, now + StoredLifetime),
                CancellationToken.None);
        }
        catch (FlowstoreException e)
        {
            // No work was done: a repeat after a restart does the same nothing again.
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

/// <summary>
/// Marks an endpoint whose answer to a request with an Idempotency-Key is kept in the backend, committed with the work:
/// <see cref="Status"/> and the JSON of <see cref="Body"/> applied to the backend call's result, which is of
/// <see cref="ResultType"/> (null: the call returns nothing and the answer has no body).
/// </summary>
internal sealed record KeptAnswerMetadata(int Status, Type? ResultType, Func<object, object> Body)
{
    public static KeptAnswerMetadata Of<T>(int status, Func<T, object>? body = null) where T : notnull
        => new(status, typeof(T), result => body is null ? result : body((T)result));

    public static KeptAnswerMetadata NoBody(int status) => new(status, null, result => result);
}

/// <summary>
/// A test's fault: called right after a request's work was done (the endpoint answered 2xx, its transaction committed)
/// and before the answer leaves the server, where a crash would lose it. Only code registers one (a test, through
/// <see cref="FlowServer.Create"/>'s configure callback); no setting or variable does.
/// </summary>
internal interface IAfterWorkFault
{
    /// <summary>True when the request is to end here with no answer (the fault dropped the connection).</summary>
    ValueTask<bool> AfterWorkAsync(HttpContext context);
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
