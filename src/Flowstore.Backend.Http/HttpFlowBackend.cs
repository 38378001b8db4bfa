using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Flowstore.Backend.Http;

/// <summary>How an <see cref="HttpFlowBackend"/> talks to its server.</summary>
public sealed record HttpFlowBackendOptions
{
    /// <summary>Tries of a call that is safe to repeat, the first included (at least 1).</summary>
    public int Attempts { get; init; } = 4;

    /// <summary>The wait before the first retry; doubled before each further one.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long one request may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);
}

/// <summary>
/// The backend contract over Flowstore.Server's HTTP API (/api/v1), so every engine use case and cmdlet works against
/// a shared server as it does on the embedded file. Errors the server reports as problem details come back as the same
/// <see cref="FlowstoreException"/> (id, kind, message, target, hint). A server that cannot be reached is
/// <see cref="ErrorIds.ServerUnreachable"/> naming the URL, after bounded retries of the calls that are safe to repeat:
/// reads, puts and deletes, and any call the server never received (connection refused). A call that changes state and
/// may have reached the server (create, register, claim, append, complete) carries an Idempotency-Key, so the server
/// answers a retry with its first answer instead of doing it twice. The key goes in the Authorization header as a bearer
/// token, never in a URL, a message or a log. API keys are managed through the server's key endpoints (an Admin key's
/// calls): a key's token is made by the caller and only its hash is sent.
/// </summary>
public sealed class HttpFlowBackend : IFlowBackend, IApiKeyStore, IServerSecretStore
{
    private const int LargeBody = 1024 * 1024;

    private readonly HttpClient _http;
    private readonly HttpFlowBackendOptions _options;
    private readonly AuthenticationHeaderValue? _authorization;

    /// <param name="url">The server's base URL, e.g. http://flowstore.example:5080/.</param>
    /// <param name="apiKey">The API key, sent as a bearer token; null for a server without keys.</param>
    /// <param name="options">Retries and timeout; defaults when null.</param>
    public HttpFlowBackend(Uri url, string? apiKey, HttpFlowBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new FlowstoreException(ErrorIds.ServerUnreachable, FlowErrorKind.InvalidArgument,
                $"The Flowstore server URL '{Redacted(url)}' is not an absolute http or https URL.") { Target = Redacted(url) };
        }
        if (!string.IsNullOrEmpty(url.UserInfo) || !string.IsNullOrEmpty(url.Query))
        {
            // A key belongs in the Authorization header; a URL ends up in logs, histories and messages.
            throw new FlowstoreException(ErrorIds.ServerUnreachable, FlowErrorKind.InvalidArgument,
                $"The Flowstore server URL '{Redacted(url)}' must not carry credentials or a query; pass the API key on its own.")
                { Target = Redacted(url) };
        }
        _options = options ?? new HttpFlowBackendOptions();
        if (_options.Attempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Attempts must be at least 1.");
        }
        Url = new Uri(url.AbsoluteUri.EndsWith('/') ? url.AbsoluteUri : url.AbsoluteUri + "/");
        _authorization = string.IsNullOrEmpty(apiKey) ? null : new AuthenticationHeaderValue("Bearer", apiKey);
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.All,
        })
        {
            BaseAddress = Url,
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // per request below, so a timeout is told from a cancel
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Flowstore/" + typeof(HttpFlowBackend).Assembly.GetName().Version);
    }

    /// <summary>The server's base URL (with a trailing slash).</summary>
    public Uri Url { get; }

    public string Description => $"Flowstore server {Url}";

    // ---------------------------------------------------------------- projects and flows

    public Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken)
        => SendAsync<ProjectInfo>(HttpMethod.Post, "projects", new CreateProjectBody(name, description), Safety.Keyed, cancellationToken);

    public Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name, CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<ProjectInfo>>(HttpMethod.Get, "projects" + Query(("name", name)), null, Safety.Idempotent, cancellationToken);

    public Task<RegistrationOutcome> RegisterFlowAsync(FlowRegistrationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendAsync<RegistrationOutcome>(HttpMethod.Post, "flows/registrations", request, Safety.Keyed, cancellationToken);
    }

    public Task<IReadOnlyList<UnchangedRegistration>> FindUnchangedRegistrationsAsync(string project, IReadOnlyList<string> registrationInputs,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(registrationInputs);
        // A read: safe to retry as it is.
        return SendAsync<IReadOnlyList<UnchangedRegistration>>(HttpMethod.Post, "flows/registrations/unchanged",
            new FindUnchangedRegistrationsBody(project, registrationInputs), Safety.Idempotent, cancellationToken);
    }

    public Task<IReadOnlyList<FlowRecord>> GetFlowsAsync(FlowQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var path = "flows" + Query(
            ("project", query.Project),
            ("name", query.Name),
            ("id", query.Id?.ToString()),
            ("version", query.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("includeArchived", query.IncludeArchived ? "true" : null));
        return SendAsync<IReadOnlyList<FlowRecord>>(HttpMethod.Get, path, null, Safety.Idempotent, cancellationToken);
    }

    public async Task<int> ArchiveFlowAsync(Guid versionGroupId, CancellationToken cancellationToken)
        => (await SendAsync<ArchiveFlowAnswer>(HttpMethod.Post, $"flows/groups/{versionGroupId}/archive", null, Safety.Idempotent, cancellationToken)).Archived;

    // ---------------------------------------------------------------- schedules (the server's scheduler creates their runs)

    public Task<IReadOnlyList<FlowScheduleRecord>> GetSchedulesAsync(string? project, string? flowName, CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<FlowScheduleRecord>>(HttpMethod.Get, "schedules" + Query(("project", project), ("flow", flowName)), null,
            Safety.Idempotent, cancellationToken);

    public Task<FlowScheduleRecord> SetSchedulePausedAsync(string project, string flowName, bool paused, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(flowName);
        // Setting a state: repeating it leaves the same state.
        return SendAsync<FlowScheduleRecord>(HttpMethod.Put, "schedules/state", new SetSchedulePausedBody(project, flowName, paused),
            Safety.Idempotent, cancellationToken);
    }

    // ---------------------------------------------------------------- runs

    public Task<FlowRunRecord> CreateRunAsync(NewRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(run.Flow);
        return SendAsync<FlowRunRecord>(HttpMethod.Post, "runs", run, Safety.Keyed, cancellationToken);
    }

    public Task<FlowRunRecord?> ClaimRunAsync(string agent, Guid? runId, IReadOnlyCollection<string>? labels, CancellationToken cancellationToken)
        => SendAsync<FlowRunRecord?>(HttpMethod.Post, "runs/claim", new ClaimRunBody(agent, runId, labels?.ToArray()), Safety.Keyed, cancellationToken);

    public async Task<bool> HeartbeatAsync(Guid runId, string agent, IReadOnlyList<TaskRunRecord> tasks, CancellationToken cancellationToken)
        => (await SendAsync<HeartbeatAnswer>(HttpMethod.Post, $"runs/{runId}/heartbeat", new HeartbeatBody(agent, tasks), Safety.Idempotent, cancellationToken)).Stop;

    public Task AppendLogAsync(Guid runId, IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken)
        => SendAsync<object?>(HttpMethod.Post, $"runs/{runId}/logs", new AppendLogBody(entries), Safety.Keyed, cancellationToken);

    public async Task<bool> CompleteRunAsync(Guid runId, string agent, RunCompletion completion, CancellationToken cancellationToken)
        => (await SendAsync<CompleteRunAnswer>(HttpMethod.Post, $"runs/{runId}/complete", new CompleteRunBody(agent, completion), Safety.Keyed, cancellationToken)).Recorded;

    // ---------------------------------------------------------------- agents

    public Task ReportAgentAsync(AgentReport agent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        // Repeating a report leaves the same row (its last report a moment later).
        return SendAsync<object?>(HttpMethod.Post, "agents", agent, Safety.Idempotent, cancellationToken);
    }

    public Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<AgentRecord>>(HttpMethod.Get, "agents", null, Safety.Idempotent, cancellationToken);

    // Repeating it finds nothing more to forget.
    public Task<IReadOnlyList<string>> RemoveAgentsAsync(DateTimeOffset notSeenSince, CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<string>>(HttpMethod.Post, "agents/stale", new RemoveStaleAgentsBody(notSeenSince), Safety.Idempotent, cancellationToken);

    public Task<IReadOnlyList<FlowRunRecord>> GetRunsAsync(RunQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var path = "runs" + Query(
            ("id", query.Id?.ToString()),
            ("project", query.Project),
            ("flow", query.FlowName),
            ("state", query.State?.ToString()),
            ("last", query.Last?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return SendAsync<IReadOnlyList<FlowRunRecord>>(HttpMethod.Get, path, null, Safety.Idempotent, cancellationToken);
    }

    public Task<IReadOnlyList<RunLogEntry>> GetRunLogAsync(Guid runId, CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<RunLogEntry>>(HttpMethod.Get, $"runs/{runId}/logs", null, Safety.Idempotent, cancellationToken);

    public async Task<bool> RequestCancelAsync(Guid runId, CancellationToken cancellationToken)
        => (await SendAsync<CancelRunAnswer>(HttpMethod.Post, $"runs/{runId}/cancel", null, Safety.Idempotent, cancellationToken)).Cancelled;

    public Task<IReadOnlyList<FlowRunRecord>> FailStaleRunsAsync(TimeSpan timeout, CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<FlowRunRecord>>(HttpMethod.Post, "runs/stale", new FailStaleRunsBody(timeout), Safety.Idempotent, cancellationToken);

    // ---------------------------------------------------------------- secrets: values to the server, which encrypts them

    public string SecretStoreDescription => $"Flowstore server secret store ({Url})";

    public Task<SecretSetResult> SetSecretValueAsync(string name, string value, bool startNewKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        return SendAsync<SecretSetResult>(HttpMethod.Put, "secrets/" + Segment(name), new SetSecretBody(value, startNewKey), Safety.Idempotent, cancellationToken);
    }

    public Task<IReadOnlyList<SecretInfo>> DescribeSecretsAsync(CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<SecretInfo>>(HttpMethod.Get, "secrets", null, Safety.Idempotent, cancellationToken);

    public async Task<bool> RemoveSecretAsync(string name, CancellationToken cancellationToken)
        => (await SendAsync<DeleteSecretAnswer>(HttpMethod.Delete, "secrets/" + Segment(name), null, Safety.Idempotent, cancellationToken)).Deleted;

    public async Task<string?> GetRunSecretValueAsync(Guid runId, string agent, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(name);
        try
        {
            // A read (no Idempotency-Key: the answer is never kept by the server to replay).
            return (await SendAsync<SecretValueAnswer>(HttpMethod.Post, $"runs/{runId}/secret-values", new SecretValueRequest(agent, name),
                Safety.Idempotent, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretNotFound)
        {
            return null;
        }
    }

    // ---------------------------------------------------------------- secret ciphertexts (the backend contract; admins only)

    public Task PutSecretAsync(string name, byte[] ciphertext, CancellationToken cancellationToken)
        => SendAsync<object?>(HttpMethod.Put, "secret-ciphertexts/" + Segment(name), new PutSecretBody(ciphertext), Safety.Idempotent, cancellationToken);

    public async Task<SecretBlob?> GetSecretAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync<SecretBlob>(HttpMethod.Get, "secret-ciphertexts/" + Segment(name), null, Safety.Idempotent, cancellationToken);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretNotFound)
        {
            return null;
        }
    }

    public Task<IReadOnlyList<SecretBlob>> ListSecretsAsync(CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<SecretBlob>>(HttpMethod.Get, "secret-ciphertexts", null, Safety.Idempotent, cancellationToken);

    public async Task<bool> DeleteSecretAsync(string name, CancellationToken cancellationToken)
        => (await SendAsync<DeleteSecretAnswer>(HttpMethod.Delete, "secret-ciphertexts/" + Segment(name), null, Safety.Idempotent, cancellationToken)).Deleted;

    // ---------------------------------------------------------------- API keys (hashes only: a token never crosses the wire)

    public async Task<ApiKeyInfo> CreateApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var body = new CreateApiKeyBody(key.Name, key.Role, key.Projects, key.Expires, key.TokenHash, key.CreatedBy);
        return (await SendAsync<CreatedApiKeyAnswer>(HttpMethod.Post, "keys", body, Safety.Keyed, cancellationToken).ConfigureAwait(false)).Key;
    }

    public Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken)
        => SendAsync<IReadOnlyList<ApiKeyInfo>>(HttpMethod.Get, "keys", null, Safety.Idempotent, cancellationToken);

    public async Task<ApiKeyInfo?> RevokeApiKeyAsync(Guid id, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync<ApiKeyInfo>(HttpMethod.Post, $"keys/{id}/revoke", null, Safety.Idempotent, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.ApiKeyNotFound)
        {
            return null;
        }
    }

    /// <summary>Not through a client: a server makes its first key itself, on its first start (admin.key in its home).</summary>
    public Task<ApiKeyInfo?> CreateFirstApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
        => throw ServerSideOnly("makes its first API key itself, at its first start");

    /// <summary>Not through a client: only the server looks keys up by their hash, to authenticate its callers.</summary>
    public Task<ApiKeyInfo?> FindApiKeyByHashAsync(string tokenHash, CancellationToken cancellationToken)
        => throw ServerSideOnly("looks API keys up by their hash itself, to authenticate its callers");

    /// <summary>Not through a client: the server records a key's last use when it authenticates it.</summary>
    public Task TouchApiKeyAsync(Guid id, DateTimeOffset when, CancellationToken cancellationToken)
        => throw ServerSideOnly("records when an API key was last used itself");

    private FlowstoreException ServerSideOnly(string what) => new(ErrorIds.ApiKeysNotSupported, FlowErrorKind.NotImplemented,
        $"The Flowstore server at {Url} {what}; a client cannot.") { Target = Url.ToString() };

    /// <summary>Asks the server's health endpoint (which checks its database); the answer, or the error.</summary>
    public Task<HealthAnswer> GetHealthAsync(CancellationToken cancellationToken)
        => SendAsync<HealthAnswer>(HttpMethod.Get, FlowstoreApi.HealthPath, null, Safety.Idempotent, cancellationToken, api: false);

    public void Dispose() => _http.Dispose();

    // ---------------------------------------------------------------- the one way out

    private enum Safety
    {
        /// <summary>Repeating it leaves the same state (reads, puts, deletes, heartbeats, cancels).</summary>
        Idempotent,

        /// <summary>Changes state each time; retried only under one Idempotency-Key, which the server deduplicates.</summary>
        Keyed,
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, Safety safety, CancellationToken cancellationToken, bool api = true)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var target = api ? $"{FlowstoreApi.Prefix}/{path}" : path;
        var content = body is null ? null : JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), FlowstoreApi.ClientOptions);
        var idempotencyKey = safety == Safety.Keyed ? IdempotencyKey(method, target, content) : null;
        Exception? last = null;
        var delay = _options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, target);
            request.Headers.Authorization = _authorization;
            request.Headers.Accept.ParseAdd("application/json");
            if (idempotencyKey is not null)
            {
                request.Headers.TryAddWithoutValidation(FlowstoreApi.IdempotencyKeyHeader, idempotencyKey);
            }
            if (content is not null)
            {
                request.Content = new ByteArrayContent(content);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                // A large body waits for the server's go-ahead, so a body over its limit is refused (413 with a problem)
                // before it is sent, instead of a connection the server closes mid-upload.
                request.Headers.ExpectContinue = content.Length > LargeBody;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                if (IsTransient(response) && attempt < _options.Attempts)
                {
                    last = new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
                }
                else
                {
                    return await ReadAsync<T>(response, target, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException e)
            {
                last = new TimeoutException($"no answer within {_options.Timeout.TotalSeconds:0.#} s", e);
            }
            catch (HttpRequestException e)
            {
                last = e;
            }

            // Every call here is safe to repeat: idempotent, or keyed so the server answers a repeat with its first answer.
            if (attempt >= _options.Attempts)
            {
                throw Unreachable(last, attempt);
            }
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay += delay;
        }
    }

    /// <summary>
    /// The key of a call that changes state: new for every call, or, within an <see cref="IdempotencyScope"/> (a call the
    /// engine may send again after these retries gave up), made from the scope and the request, so the same request sent
    /// again has the same key and the server answers it as the first time.
    /// </summary>
    private static string IdempotencyKey(HttpMethod method, string target, byte[]? content)
    {
        if (IdempotencyScope.Current is not { } scope)
        {
            return Guid.NewGuid().ToString("N");
        }
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{scope.Nonce}\n{method.Method}\n{target}\n"));
        hash.AppendData(content ?? []);
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..32];
    }

    /// <summary>A gateway or an overloaded server said "not now" without a problem-details body: worth another try.</summary>
    private static bool IsTransient(HttpResponseMessage response)
        => response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
           && response.Content.Headers.ContentType?.MediaType != FlowstoreApi.ProblemMediaType;

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, string target, CancellationToken cancellationToken)
    {
        var media = response.Content.Headers.ContentType?.MediaType;
        if (!response.IsSuccessStatusCode)
        {
            if (media == FlowstoreApi.ProblemMediaType)
            {
                FlowProblem? problem = null;
                try
                {
                    problem = await response.Content.ReadFromJsonAsync<FlowProblem>(FlowstoreApi.ClientOptions, cancellationToken).ConfigureAwait(false);
                }
                catch (JsonException)
                {
                    // Not one of ours: reported below by its status.
                }
                if (problem is not null)
                {
                    throw problem.ToException();
                }
            }
            throw new FlowstoreException(ErrorIds.ServerError, FlowErrorKind.InvalidOperation,
                $"The Flowstore server at {Url} answered {target} with HTTP {(int)response.StatusCode} {response.ReasonPhrase} " +
                "and no Flowstore error; is the URL that of a Flowstore server?") { Target = Url.ToString() };
        }
        if (response.StatusCode == HttpStatusCode.NoContent || typeof(T) == typeof(object))
        {
            return default!;
        }
        try
        {
            var value = await response.Content.ReadFromJsonAsync<T>(FlowstoreApi.ClientOptions, cancellationToken).ConfigureAwait(false);
            return value ?? throw new JsonException("the answer is null");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new FlowstoreException(ErrorIds.ServerError, FlowErrorKind.InvalidData,
                $"The Flowstore server at {Url} answered {target} with a body this client cannot read ({e.Message}); " +
                "are the client and server versions compatible?", e) { Target = Url.ToString() };
        }
    }

    private FlowstoreException Unreachable(Exception? last, int attempts)
    {
        var reason = last switch
        {
            HttpRequestException { InnerException: SocketException s } => s.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.HostNotFound or SocketError.NoData => "host not found",
                SocketError.TimedOut => "connection timed out",
                _ => s.Message,
            },
            HttpRequestException e when e.StatusCode is { } status => $"HTTP {(int)status}",
            { } e => e.Message,
            null => "no answer",
        };
        return new FlowstoreException(ErrorIds.ServerUnreachable, FlowErrorKind.ConnectionError,
            $"The Flowstore server at {Url} could not be reached ({reason}; {attempts} attempt{(attempts == 1 ? "" : "s")}).", last)
            { Target = Url.ToString() };
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return given.Count == 0 ? "" : "?" + string.Join('&', given);
    }

    private static string Segment(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Uri.EscapeDataString(name);
    }

    private static string Redacted(Uri url)
    {
        if (!url.IsAbsoluteUri)
        {
            return url.OriginalString;
        }
        var builder = new UriBuilder(url) { UserName = "", Password = "", Query = "" };
        return builder.Uri.ToString();
    }
}
