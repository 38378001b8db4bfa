using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Polly;
using Polly.Retry;
using Polly.Timeout;

// One HttpClient, the retry pipeline, and the mapping of HTTP failures to Flowstore errors that name host,
// repository, path and ref and never the token: for every Git host reached over its REST API.
namespace Flowstore.Storage.GitHosts;

/// <summary>An HTTP client for one Git host's REST API with retries, rate-limit handling and error mapping.</summary>
public sealed class GitHostClient
{
    private static readonly HttpClient SharedHttp = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.All,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly GitHostHttpOptions _options;

    public GitHostClient(GitHostHttpOptions options)
    {
        _options = options;
        _http = options.Handler is null ? SharedHttp : new HttpClient(options.Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(options.MaxRetries, 0) is 0 ? 1 : options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                ShouldHandle = args => ValueTask.FromResult(options.MaxRetries > 0 && args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => true,
                    { Result: { } response } when IsServerError(response.StatusCode) => true,
                    { Result: { } response } when IsRateLimited(response) => WaitFor(response) is { } wait && wait <= options.MaxRateLimitWait,
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result is { } response && IsRateLimited(response) ? WaitFor(response) : null),
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    /// <summary>
    /// Sends a request (made anew for each attempt) with retries. Returns the response when it is a success or a
    /// client error other than 401/403/429 (the caller knows what a 404 or 409 means there); throws
    /// <see cref="ErrorIds.StorageAccessDenied"/>, <see cref="ErrorIds.StorageRateLimited"/> or
    /// <see cref="ErrorIds.StorageUnavailable"/> otherwise.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, GitHostTarget target, string? token,
        string operation, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        var attempts = 0;
        try
        {
            response = await _pipeline.ExecuteAsync(async ct =>
            {
                attempts++;
                using var request = createRequest();
                request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Flowstore", "1.0"));
                return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException && !cancellationToken.IsCancellationRequested)
        {
            var reason = e is TimeoutRejectedException ? $"no answer within {_options.AttemptTimeout.TotalSeconds:0} s" : e.Message;
            throw Error(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError, token, e,
                $"{target.Service} at {target.Host} could not be reached while {operation} ({target.Describe()}) after {attempts} attempt(s): {reason}. " +
                "Check the host URL and the network, then try again.");
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        var status = (int)response.StatusCode;
        if (IsRateLimited(response))
        {
            var reset = ResetTime(response);
            var hostMessage = await HostMessageAsync(response, token, cancellationToken).ConfigureAwait(false);
            response.Dispose();
            var when = reset is { } r
                ? $"the limit resets at {r.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}Z (in {Describe(r - DateTimeOffset.UtcNow)})"
                : "the host gave no reset time";
            throw Error(ErrorIds.StorageRateLimited, FlowErrorKind.InvalidOperation, token, null,
                $"{target.Service} at {target.Host} is rate limiting requests ({status}{hostMessage}) while {operation} ({target.Describe()}): {when}. " +
                "Try again after the reset, or use a token with a higher limit.");
        }
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            var hostMessage = await HostMessageAsync(response, token, cancellationToken).ConfigureAwait(false);
            response.Dispose();
            var advice = target.TokenSecret is null
                ? "No access token was sent: the storage needs an access token secret holding a token that can read (and, to publish, write) the repository."
                : status == 401
                    ? $"The token in secret '{target.TokenSecret}' was refused: check that it is valid and not expired."
                    : $"The token in secret '{target.TokenSecret}' lacks access: give it read (and, to publish, write) access to the repository.";
            throw Error(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied, token, null,
                $"{target.Service} at {target.Host} denied access ({status} {response.ReasonPhrase}{hostMessage}) while {operation} ({target.Describe()}). {advice}",
                target.TokenSecret is null ? target.TokenSecretHint() : null);
        }
        if (IsServerError(response.StatusCode))
        {
            var hostMessage = await HostMessageAsync(response, token, cancellationToken).ConfigureAwait(false);
            response.Dispose();
            throw Error(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError, token, null,
                $"{target.Service} at {target.Host} answered {status} {response.ReasonPhrase}{hostMessage} while {operation} ({target.Describe()}) after {attempts} attempt(s). Try again later.");
        }
        return response;
    }

    /// <summary>Reads a success response's JSON body; a malformed body is <see cref="ErrorIds.StorageFetchFailed"/>.</summary>
    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, GitHostTarget target, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidData,
                $"{target.Service} at {target.Host} sent an answer that is not JSON while {operation} ({target.Describe()}): {e.Message}", e) { Target = target.Repo };
        }
    }

    /// <summary>
    /// The host's own error text from a JSON body (GitLab {"message"|"error"}, Bitbucket {"errors":[{"message"}]}),
    /// as ": text", with the token removed; empty when there is none.
    /// </summary>
    public static async Task<string> HostMessageAsync(HttpResponseMessage response, string? token, CancellationToken cancellationToken)
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return "";
        }
        string? text = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
                {
                    text = string.Join("; ", errors.EnumerateArray()
                        .Select(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) ? m.ToString() : e.ToString()));
                }
                else if (root.TryGetProperty("message", out var message))
                {
                    text = message.ToString();
                }
                else if (root.TryGetProperty("error", out var error))
                {
                    text = error.ToString();
                }
            }
        }
        catch (JsonException)
        {
            text = body.Length > 0 && !body.TrimStart().StartsWith('<') ? body.Trim() : null;
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }
        text = Redact(text, token);
        return ": " + (text.Length > 300 ? text[..300] + "..." : text);
    }

    /// <summary>An error whose message has the token removed, whatever went into it.</summary>
    public static FlowstoreException Error(string id, FlowErrorKind kind, string? token, Exception? inner, string message, FlowHint? hint = null)
        => new(id, kind, Redact(message, token), inner is null ? null : new SanitizedException(inner, token)) { Hint = hint };

    /// <summary>Replaces every occurrence of the token with "***".</summary>
    public static string Redact(string text, string? token)
        => string.IsNullOrEmpty(token) ? text : text.Replace(token, "***", StringComparison.Ordinal);

    private static bool IsServerError(HttpStatusCode status) => (int)status >= 500 && (int)status <= 599;

    private static bool IsRateLimited(HttpResponseMessage response)
        => response.StatusCode == HttpStatusCode.TooManyRequests
            || (response.StatusCode == HttpStatusCode.Forbidden
                && (Header(response, "RateLimit-Remaining") ?? Header(response, "X-RateLimit-Remaining")) == "0");

    /// <summary>How long to wait before the limit resets (Retry-After, then RateLimit-Reset / X-RateLimit-Reset); null when unknown.</summary>
    private static TimeSpan? WaitFor(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            }
            if (retryAfter.Date is { } date)
            {
                var wait = date - DateTimeOffset.UtcNow;
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }
        }
        if (ResetTime(response) is { } reset)
        {
            var wait = reset - DateTimeOffset.UtcNow;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }

    /// <summary>When the limit resets: Retry-After, RateLimit-Reset or X-RateLimit-Reset (Unix seconds), RateLimit-ResetTime.</summary>
    private static DateTimeOffset? ResetTime(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return DateTimeOffset.UtcNow + delta;
            }
            if (retryAfter.Date is { } date)
            {
                return date;
            }
        }
        foreach (var name in new[] { "RateLimit-Reset", "X-RateLimit-Reset" })
        {
            if (Header(response, name) is { } value && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
            {
                // Unix time (GitLab); a small number is a delay in seconds (the IETF draft's RateLimit-Reset).
                return seconds > 1_000_000_000 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : DateTimeOffset.UtcNow.AddSeconds(seconds);
            }
        }
        if (Header(response, "RateLimit-ResetTime") is { } text
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }
        return null;
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;

    private static string Describe(TimeSpan span)
        => span <= TimeSpan.Zero ? "now"
            : span.TotalMinutes < 1 ? $"{Math.Ceiling(span.TotalSeconds):0} s"
            : span.TotalHours < 1 ? $"{Math.Ceiling(span.TotalMinutes):0} min"
            : $"{span.TotalHours:0.#} h";

    /// <summary>An inner exception that keeps the original's type name and message (token removed), not its object.</summary>
    private sealed class SanitizedException(Exception original, string? token)
        : Exception($"{original.GetType().Name}: {Redact(original.Message, token)}");
}
