using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

// One HttpClient, retries through the storage retry policy, rate limits, and the mapping of HTTP failures to
// Flowstore errors that name host, repository, path and ref and never the token: for every Git host reached over
// its REST API.
namespace Flowstore.Storage.GitHosts;

/// <summary>A 401 or 403 as the host answered it, for the host's own explanation of what it means.</summary>
/// <param name="Status">401 or 403.</param>
/// <param name="Write">The request would change the repository (not a GET or HEAD).</param>
/// <param name="WithToken">A token was sent.</param>
/// <param name="Code">The host's error code: an OAuth error such as insufficient_scope, a Bitbucket exceptionName.</param>
/// <param name="Scopes">The scopes an insufficient_scope answer names (space-separated), else null.</param>
public sealed record GitHostRefusal(int Status, bool Write, bool WithToken, string? Code, string? Scopes);

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
    private readonly StorageRetry _retry;
    private readonly GitHostHttpOptions _options;

    public GitHostClient(GitHostHttpOptions options)
    {
        _options = options;
        _http = options.Handler is null ? SharedHttp : new HttpClient(options.Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        _retry = new StorageRetry(options.Retry);
    }

    /// <summary>
    /// Sends a request (made anew for each attempt) with retries. Returns the response when it is a success or a
    /// client error other than 401/403/429 (the caller knows what a 404 or 409 means there); throws
    /// <see cref="ErrorIds.StorageAccessDenied"/>, <see cref="ErrorIds.StorageRateLimited"/> or
    /// <see cref="ErrorIds.StorageUnavailable"/> otherwise. <paramref name="explain"/> says what a 401 or 403 means
    /// on this host (null: the general advice), given the refusal as the host worded it.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, GitHostTarget target, string? token,
        string operation, CancellationToken cancellationToken, Func<GitHostRefusal, string?>? explain = null)
    {
        var write = false;
        var call = new StorageCall<Answer>($"{target.Service} at {target.Host}", $"{operation} ({target.Describe()})")
        {
            Target = target.Repo,
            OnException = e => StorageRetry.IsTransient(e, cancellationToken)
                ? RetryVerdict.Transient(Redact(StorageRetry.Describe(e), token))
                : RetryVerdict.Stop,
            OnResult = Classify,
            Unavailable = failure => failure.Result is { } last && IsRateLimited(last.Response)
                ? RateLimited(last, target, token, operation)
                : StorageErrors.Unavailable(failure),
        };
        var answer = await _retry.ExecuteAsync(call, async ct =>
        {
            using var request = createRequest();
            write = request.Method != HttpMethod.Get && request.Method != HttpMethod.Head;
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Flowstore", "1.0"));
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var mapped = status is 401 or 403 or 429 || IsServerError(response.StatusCode);
            return mapped ? await ReadErrorAsync(response, token, ct).ConfigureAwait(false) : new Answer(response, "");
        }, cancellationToken).ConfigureAwait(false);

        var response = answer.Response;
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        var status = (int)response.StatusCode;
        if (IsRateLimited(response))
        {
            response.Dispose();
            throw RateLimited(answer, target, token, operation);
        }
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            response.Dispose();
            var refusal = new GitHostRefusal(status, write, target.TokenSecret is not null, answer.Code, answer.Scopes);
            var explained = explain?.Invoke(refusal);
            var advice = explained
                ?? (target.TokenSecret is null
                    ? "No access token was sent: the storage needs an access token secret holding a token that can read (and, to publish, write) the repository."
                    : status == 401
                        ? $"The token in secret '{target.TokenSecret}' was refused: check that it is valid and not expired."
                        : $"The token in secret '{target.TokenSecret}' lacks access: give it read (and, to publish, write) access to the repository.");
            // A token of the wrong kind or scope: the fix is another token in the same secret.
            var hint = target.TokenSecret is null ? target.TokenSecretHint() : explained is not null ? FlowHint.SetSecret(target.TokenSecret) : null;
            throw Error(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied, token, null,
                $"{target.Service} at {target.Host} denied access ({status} {response.ReasonPhrase}{answer.HostMessage}) while {operation} ({target.Describe()}). {advice}",
                hint);
        }
        return response;
    }

    /// <summary>
    /// A response and, for an answer this client maps to an error, the host's message (read while the attempt runs),
    /// its error code and the scopes it names (an OAuth insufficient_scope answer).
    /// </summary>
    private sealed record Answer(HttpResponseMessage Response, string HostMessage, string? Code = null, string? Scopes = null) : IDisposable
    {
        public void Dispose() => Response.Dispose();
    }

    private static async Task<Answer> ReadErrorAsync(HttpResponseMessage response, string? token, CancellationToken cancellationToken)
    {
        var (message, code, scopes) = await HostErrorAsync(response, token, cancellationToken).ConfigureAwait(false);
        return new Answer(response, message, code, scopes);
    }

    /// <summary>5xx: retried with backoff; a rate limit that resets soon: retried after the reset; else the answer stands.</summary>
    private RetryVerdict Classify(Answer answer)
    {
        var response = answer.Response;
        if (IsServerError(response.StatusCode))
        {
            return RetryVerdict.Transient($"{(int)response.StatusCode} {response.ReasonPhrase}{answer.HostMessage}");
        }
        if (IsRateLimited(response) && GitHostRateLimit.WaitUntil(ResetTime(response), DateTimeOffset.UtcNow) is { } wait && wait <= _options.MaxRateLimitWait)
        {
            return RetryVerdict.Wait(wait, $"rate limited ({(int)response.StatusCode})");
        }
        return RetryVerdict.Stop;
    }

    private static FlowstoreException RateLimited(Answer answer, GitHostTarget target, string? token, string operation)
    {
        var reset = ResetTime(answer.Response);
        var when = reset is { } r
            ? $"the limit resets at {GitHostRateLimit.Format(r)}Z (in {Describe(r - DateTimeOffset.UtcNow)})"
            : "the host gave no reset time";
        return Error(ErrorIds.StorageRateLimited, FlowErrorKind.InvalidOperation, token, null,
            $"{target.Service} at {target.Host} is rate limiting requests ({(int)answer.Response.StatusCode}{answer.HostMessage}) while {operation} ({target.Describe()}): {when}. " +
            "Try again after the reset, or use a token with a higher limit.");
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
        => (await HostErrorAsync(response, token, cancellationToken).ConfigureAwait(false)).Message;

    /// <summary>
    /// The host's error text (as <see cref="HostMessageAsync"/>), its code (OAuth "error", Bitbucket's first exceptionName)
    /// and the scopes an OAuth insufficient_scope answer names ("scope", space-separated).
    /// </summary>
    private static async Task<(string Message, string? Code, string? Scopes)> HostErrorAsync(HttpResponseMessage response, string? token,
        CancellationToken cancellationToken)
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return ("", null, null);
        }
        string? text = null;
        string? code = null;
        string? scopes = null;
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
                    code = errors.EnumerateArray()
                        .Select(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("exceptionName", out var x) ? x.ToString() : null)
                        .FirstOrDefault(x => x is not null);
                }
                else if (root.TryGetProperty("message", out var message))
                {
                    text = message.ToString();
                }
                else if (root.TryGetProperty("error", out var error))
                {
                    // OAuth 2.0 bearer token errors (RFC 6750): error, error_description and, for insufficient_scope, scope.
                    code = error.ToString();
                    text = root.TryGetProperty("error_description", out var description) ? $"{code}: {description}" : code;
                    if (root.TryGetProperty("scope", out var scope))
                    {
                        scopes = scope.ValueKind == JsonValueKind.Array
                            ? string.Join(' ', scope.EnumerateArray().Select(x => x.ToString()))
                            : scope.ToString();
                        text += $" (scope: {scopes})";
                    }
                }
            }
        }
        catch (JsonException)
        {
            text = body.Length > 0 && !body.TrimStart().StartsWith('<') ? body.Trim() : null;
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            return ("", code, scopes);
        }
        text = Redact(text, token);
        return (": " + (text.Length > 300 ? text[..300] + "..." : text), code, scopes);
    }

    /// <summary>An error whose message has the token removed, whatever went into it.</summary>
    public static FlowstoreException Error(string id, FlowErrorKind kind, string? token, Exception? inner, string message, FlowHint? hint = null)
        => new(id, kind, Redact(message, token), inner is null ? null : new SanitizedException(inner, token)) { Hint = hint };

    /// <summary>Replaces every occurrence of the token with "***".</summary>
    public static string Redact(string text, string? token)
        => string.IsNullOrEmpty(token) ? text : text.Replace(token, "***", StringComparison.Ordinal);

    private static bool IsServerError(HttpStatusCode status) => (int)status >= 500 && (int)status <= 599;

    private static bool IsRateLimited(HttpResponseMessage response) => GitHostRateLimit.IsLimited((int)response.StatusCode, name => Header(response, name));

    /// <summary>When the limit resets (<see cref="GitHostRateLimit.ResetTime"/>).</summary>
    private static DateTimeOffset? ResetTime(HttpResponseMessage response) => GitHostRateLimit.ResetTime(name => Header(response, name), DateTimeOffset.UtcNow);

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
