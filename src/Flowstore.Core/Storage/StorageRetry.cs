using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Flowstore;

/// <summary>How often and how patiently storage calls are retried; tests use short delays and no jitter.</summary>
public sealed record StorageRetryOptions
{
    /// <summary>The defaults of every provider: 3 retries, 500 ms doubling with jitter up to 20 s, no per-attempt timeout.</summary>
    public static StorageRetryOptions Default { get; } = new();

    /// <summary>Retries after the first attempt (so <c>MaxRetries + 1</c> attempts); 0 turns retrying off.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The first backoff; each later one doubles.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest backoff between two attempts.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Randomises the backoff so that many clients do not retry in step.</summary>
    public bool UseJitter { get; init; } = true;

    /// <summary>The time one attempt may take (a slower one counts as transient); null for no limit.</summary>
    public TimeSpan? AttemptTimeout { get; init; }

    /// <summary>Attempts in all.</summary>
    public int MaxAttempts => Math.Max(0, MaxRetries) + 1;
}

/// <summary>What one failed attempt means for the next: stop, retry after the backoff, or retry after a given wait.</summary>
/// <param name="Retry">Whether another attempt may help.</param>
/// <param name="Reason">A short reason for logs and the final error (never a secret), e.g. "503 Service Unavailable".</param>
/// <param name="After">A wait the storage asked for (rate limits); the backoff when null.</param>
public readonly record struct RetryVerdict(bool Retry, string Reason, TimeSpan? After = null)
{
    /// <summary>Not worth another attempt: the outcome goes back to the caller as it is.</summary>
    public static RetryVerdict Stop { get; } = new(false, "");

    /// <summary>A transient failure: retried with backoff, then <see cref="ErrorIds.StorageUnavailable"/>.</summary>
    public static RetryVerdict Transient(string reason) => new(true, reason);

    /// <summary>The storage asked to wait (e.g. a rate limit's reset) before the next attempt.</summary>
    public static RetryVerdict Wait(TimeSpan after, string reason) => new(true, reason, after);
}

/// <summary>
/// One storage call for <see cref="StorageRetry"/>: what it is (for logs and the final error) and which of its
/// outcomes are transient. Exceptions no classifier calls transient, and results that are not, go back to the caller.
/// </summary>
/// <param name="Storage">The storage, as messages name it, e.g. "Git storage https://host/repo.git" or "GCS at http://host".</param>
/// <param name="Operation">What was being done, e.g. "reading flows/etl.cs at branch 'main'".</param>
public sealed record StorageCall<T>(string Storage, string Operation)
{
    /// <summary>Classifies a thrown exception; <see cref="StorageRetry.IsTransient"/> when null.</summary>
    public Func<Exception, RetryVerdict>? OnException { get; init; }

    /// <summary>Classifies a returned result (a 5xx response, a git run that could not connect); none retried when null.</summary>
    public Func<T, RetryVerdict>? OnResult { get; init; }

    /// <summary>Told of each retry ("…; retrying in 1.0 s (attempt 2 of 4)"); may be null.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// Builds the error when the attempts run out on a transient outcome; <see cref="StorageErrors.Unavailable"/>
    /// when null. Gets the last outcome (a result that is disposable is disposed after this call).
    /// </summary>
    public Func<StorageFailure<T>, FlowstoreException>? Unavailable { get; init; }

    /// <summary>Where the error points (its target object); <see cref="Storage"/> when null.</summary>
    public string? Target { get; init; }
}

/// <summary>The last outcome of a call whose attempts ran out.</summary>
public sealed record StorageFailure<T>(StorageCall<T> Call, int Attempts, string Reason, T? Result, Exception? Exception);

/// <summary>
/// The one retry policy of storage providers: transient failures (network errors, 5xx, timeouts, rate limits with a
/// short reset) are retried with exponential backoff, then reported as <see cref="ErrorIds.StorageUnavailable"/>
/// naming the storage and the operation. The Polly pipeline is built once per options (keep one instance per
/// provider, or use <see cref="Default"/>); each call brings its own classification.
/// </summary>
public sealed class StorageRetry
{
    private static readonly ResiliencePropertyKey<Func<Outcome<object>, RetryVerdict>> ClassifyKey = new("Flowstore.Classify");
    private static readonly ResiliencePropertyKey<Action<string>?> LogKey = new("Flowstore.Log");
    private static readonly ResiliencePropertyKey<string> DescribeKey = new("Flowstore.Describe");

    private readonly ResiliencePipeline _pipeline;

    public StorageRetry(StorageRetryOptions options)
    {
        Options = options;
        var builder = new ResiliencePipelineBuilder();
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = options.UseJitter,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(Verdict(args.Context, args.Outcome).Retry),
                DelayGenerator = args => ValueTask.FromResult(Verdict(args.Context, args.Outcome).After),
                OnRetry = args =>
                {
                    if (args.Context.Properties.GetValue(LogKey, null) is { } log)
                    {
                        var verdict = Verdict(args.Context, args.Outcome);
                        log($"{args.Context.Properties.GetValue(DescribeKey, "")}: {verdict.Reason}; retrying in " +
                            $"{args.RetryDelay.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s (attempt {args.AttemptNumber + 2} of {options.MaxAttempts}).");
                    }
                    return default;
                },
            });
        }
        if (options.AttemptTimeout is { } timeout)
        {
            builder.AddTimeout(timeout);
        }
        _pipeline = builder.Build();
    }

    /// <summary>The policy with <see cref="StorageRetryOptions.Default"/>.</summary>
    public static StorageRetry Default { get; } = new(StorageRetryOptions.Default);

    public StorageRetryOptions Options { get; }

    private static RetryVerdict Verdict(ResilienceContext context, Outcome<object> outcome)
        => context.Properties.TryGetValue(ClassifyKey, out var classify) ? classify(outcome) : RetryVerdict.Stop;

    /// <summary>
    /// Runs <paramref name="action"/> (anew for each attempt) until it succeeds, fails for good, or the attempts run out
    /// on a transient failure (then the call's <see cref="StorageCall{T}.Unavailable"/> error). Cancellation of
    /// <paramref name="cancellationToken"/> is never retried.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(StorageCall<T> call, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        RetryVerdict Classify(Outcome<object> outcome) => outcome.Exception switch
        {
            OperationCanceledException when cancellationToken.IsCancellationRequested => RetryVerdict.Stop,
            FlowstoreException => RetryVerdict.Stop,
            TimeoutRejectedException t => RetryVerdict.Transient($"no answer within {Seconds(t.Timeout)} s"),
            { } e => call.OnException is { } onException ? onException(e) : IsTransient(e, cancellationToken) ? RetryVerdict.Transient(Describe(e)) : RetryVerdict.Stop,
            null => call.OnResult is { } onResult && outcome.Result is T result ? onResult(result) : RetryVerdict.Stop,
        };

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ClassifyKey, Classify);
        context.Properties.Set(LogKey, call.Log);
        context.Properties.Set(DescribeKey, $"{call.Storage}: {call.Operation}");
        var attempts = 0;
        Outcome<object> last;
        try
        {
            last = await _pipeline.ExecuteOutcomeAsync(async (ctx, run) =>
            {
                attempts++;
                try
                {
                    return Outcome.FromResult<object>(await run(ctx.CancellationToken).ConfigureAwait(false));
                }
                catch (Exception e)
                {
                    return Outcome.FromException<object>(e);
                }
            }, context, action).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        var verdict = Classify(last);
        if (verdict.Retry)
        {
            var result = last.Exception is null ? (T?)last.Result : default;
            try
            {
                var failure = new StorageFailure<T>(call, attempts, verdict.Reason, result, last.Exception);
                throw call.Unavailable?.Invoke(failure) ?? StorageErrors.Unavailable(failure);
            }
            finally
            {
                (result as IDisposable)?.Dispose();
            }
        }
        last.ThrowIfException();
        return (T)last.Result!;
    }

    /// <summary>
    /// Network failures worth another attempt: connections refused or reset, DNS failures, I/O errors, timeouts (a
    /// cancellation not asked for by <paramref name="cancellationToken"/>), anywhere in the chain of inner exceptions.
    /// </summary>
    public static bool IsTransient(Exception error, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException or IOException or TimeoutException or TimeoutRejectedException
                or OperationCanceledException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>HTTP statuses worth another attempt: 5xx and 408 Request Timeout (429 is a rate limit: see <see cref="RetryVerdict.Wait"/>).</summary>
    public static bool IsTransientStatus(HttpStatusCode status) => (int)status >= 500 || status == HttpStatusCode.RequestTimeout;

    /// <summary>A short reason for a network failure (no URLs with credentials, no bodies).</summary>
    public static string Describe(Exception error) => error switch
    {
        TimeoutRejectedException t => $"no answer within {Seconds(t.Timeout)} s",
        OperationCanceledException or TimeoutException => "timed out",
        HttpRequestException { InnerException: SocketException s } => s.SocketErrorCode.ToString(),
        HttpRequestException { InnerException: IOException io } => io.Message,
        HttpRequestException h => h.HttpRequestError.ToString(),
        SocketException s => s.SocketErrorCode.ToString(),
        IOException io => io.Message,
        _ => error.GetType().Name,
    };

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
}

/// <summary>The errors every storage provider raises alike, so that their ids and wording stay in one place.</summary>
public static class StorageErrors
{
    /// <summary>
    /// <see cref="ErrorIds.StorageUnavailable"/>: "&lt;storage&gt; could not be reached while &lt;operation&gt; after 4
    /// attempts: &lt;reason&gt;. Check that it is up and reachable from this machine, then try again." The failure's
    /// exception is not kept as the inner one: library messages may quote URLs or answers.
    /// </summary>
    public static FlowstoreException Unavailable<T>(StorageFailure<T> failure)
        => Unavailable(failure.Call.Storage, failure.Call.Operation, failure.Attempts, failure.Reason, failure.Call.Target);

    /// <inheritdoc cref="Unavailable{T}(StorageFailure{T})"/>
    public static FlowstoreException Unavailable(string storage, string operation, int attempts, string reason, string? target = null, Exception? inner = null)
        => new(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
            $"{storage} could not be reached while {operation} after {attempts} attempt{(attempts == 1 ? "" : "s")}: {reason}. " +
            "Check that it is up and reachable from this machine, then try again.", inner)
        { Target = target ?? storage };
}
