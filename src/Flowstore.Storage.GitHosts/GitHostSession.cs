using System.Text.Json;

namespace Flowstore.Storage.GitHosts;

/// <summary>
/// One storage operation against a Git host: the client, the resolved token, what the operation is about (the
/// ref changes as the operation goes: a default branch once looked up, the branch published to) and how a request
/// carries the token. Every request and every error goes through here, so no message holds the token.
/// </summary>
public sealed class GitHostSession
{
    private readonly GitHostClient _client;
    private readonly Action<HttpRequestMessage, string?, bool> _headers;
    private readonly GitHostAdvice _advice;

    /// <param name="client">The host's HTTP client (retries, rate limits, error mapping).</param>
    /// <param name="target">What the operation is about.</param>
    /// <param name="token">The access token, or null for anonymous access.</param>
    /// <param name="headers">Adds the auth headers to a request (arguments: request, token, whether it has a body).</param>
    /// <param name="advice">What a not-found message asks the user to check.</param>
    public GitHostSession(GitHostClient client, GitHostTarget target, string? token, Action<HttpRequestMessage, string?, bool> headers, GitHostAdvice advice)
    {
        _client = client;
        Target = target;
        Token = token;
        _headers = headers;
        _advice = advice;
    }

    public GitHostTarget Target { get; private set; }

    public string? Token { get; }

    /// <summary>The ref messages name from now on.</summary>
    public void AtRef(string reference) => Target = Target with { Ref = reference };

    /// <summary>
    /// Sends a JSON API request (made anew for each attempt; <paramref name="content"/> makes its body) with retries.
    /// A 401/403/429/5xx is an error already; other answers are returned for the caller to read.
    /// </summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string operation, CancellationToken cancellationToken,
        Func<HttpContent>? content = null)
        => _client.SendAsync(() =>
        {
            var request = new HttpRequestMessage(method, url);
            request.Headers.Accept.ParseAdd("application/json");
            _headers(request, Token, content is not null);
            if (content is not null)
            {
                request.Content = content();
            }
            return request;
        }, Target, Token, operation, cancellationToken, _advice.Refused is { } refused ? r => refused(r, Target.TokenSecret) : null);

    /// <summary>A success answer's JSON body.</summary>
    public Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
        => GitHostClient.ReadJsonAsync(response, Target, operation, cancellationToken);

    /// <summary>The host's own error text as ": text", without the token; empty when there is none.</summary>
    public Task<string> HostMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        => GitHostClient.HostMessageAsync(response, Token, cancellationToken);

    /// <summary>An unexpected answer to a read is <see cref="ErrorIds.StorageFetchFailed"/>.</summary>
    public void EnsureSuccess(HttpResponseMessage response, string operation)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidOperation,
                $"{Target.Service} answered {(int)response.StatusCode} {response.ReasonPhrase} while {operation} ({Target.Describe()}).") { Target = Target.Repo };
        }
    }

    /// <summary>An error with the token removed from its message.</summary>
    public FlowstoreException Error(string id, FlowErrorKind kind, string message)
        => GitHostClient.Error(id, kind, Token, null, message);

    /// <summary>The text with the token removed.</summary>
    public string Redact(string text) => GitHostClient.Redact(text, Token);

    /// <summary>
    /// <see cref="ErrorIds.StorageNotFound"/> for <paramref name="part"/> of the address: what was not found, the
    /// target, and what to check; <paramref name="hint"/>, else (a repository not found without a token) the hint to set one.
    /// </summary>
    public FlowstoreException NotFound(string what, GitHostPart part, FlowHint? hint = null)
        => new(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
            Redact($"{Target.StorageType ?? Target.Service} storage: {what.TrimEnd('.')} ({Target.Describe()}). {_advice.For(part, Target.TokenSecret, Token is null)}"))
        {
            Target = Target.Repo,
            Hint = hint ?? (part == GitHostPart.Repository && Token is null ? Target.TokenSecretHint() : null),
        };

    /// <summary>An empty repository: StorageNotFound naming its default branch (when known) with the hint to publish the script.</summary>
    public FlowstoreException Empty(string? defaultBranch)
        => NotFound($"the {Target.Noun} is empty: " +
            (defaultBranch is null ? "it has no commit yet" : $"its default branch '{defaultBranch}' has no commit yet") + "; push or publish the flow file first",
            GitHostPart.Path, FlowHint.PublishScript());

    /// <summary>A pinned commit the host no longer has: <see cref="ErrorIds.PinnedVersionUnavailable"/>.</summary>
    /// <param name="label">The repository for messages ("GitLab project 'g/p'").</param>
    /// <param name="commit">The pinned commit.</param>
    /// <param name="detail">What the host said, formatted ("" when nothing).</param>
    public FlowstoreException PinnedCommitGone(string label, string commit, string detail)
        => new(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
            $"Commit {commit} is no longer in {label} on {Target.Host} (path '{Target.Path}'){detail}; " +
            "the pinned run cannot be repeated; a run that is not pinned uses the current script.") { Target = Target.Repo, Hint = FlowHint.RunUnpinned() };
}
