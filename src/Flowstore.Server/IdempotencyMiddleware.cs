using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Flowstore.Backend.Http;

namespace Flowstore.Server;

/// <summary>
/// Makes a retried POST safe: a request carrying an Idempotency-Key header that the server has answered successfully in
/// the last <see cref="Lifetime"/> gets the first answer again instead of doing the work twice (a second run, a second
/// claim, log lines twice); a repeat that arrives while the first is still running waits for it. Keys are scoped to the
/// caller's credentials and the path. Only successful answers are kept (in memory: a restarted server has none), so a
/// failed request is simply done again.
/// </summary>
internal sealed class IdempotencyMiddleware(RequestDelegate next)
{
    /// <summary>How long an answer is kept for a repeat.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

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
        var entry = new Entry();
        var existing = Entries.GetOrAdd(scope, entry);
        if (existing != entry)
        {
            if (await existing.Answer.Task.WaitAsync(context.RequestAborted) is { } answer && DateTimeOffset.UtcNow - existing.Created < Lifetime)
            {
                context.Response.StatusCode = answer.Status;
                context.Response.ContentType = answer.ContentType;
                await context.Response.Body.WriteAsync(answer.Body, context.RequestAborted);
                return;
            }
            await next(context); // the first one failed: do it now, unremembered
            return;
        }

        Sweep();
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        Answer? kept = null;
        try
        {
            await next(context);
            if (context.Response.StatusCode is >= 200 and < 300)
            {
                kept = new Answer(context.Response.StatusCode, context.Response.ContentType, buffer.ToArray());
            }
        }
        finally
        {
            context.Response.Body = original;
            entry.Answer.TrySetResult(kept);
            if (kept is null)
            {
                Entries.TryRemove(new KeyValuePair<string, Entry>(scope, entry));
            }
        }
        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    private static string Scope(HttpContext context, string key)
    {
        // The credentials hashed, never kept: two callers cannot see each other's answers.
        var credentials = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString())));
        return $"{credentials}|{context.Request.Path}|{key}";
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

    private sealed record Answer(int Status, string? ContentType, byte[] Body);

    private sealed class Entry
    {
        public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;
        public TaskCompletionSource<Answer?> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
