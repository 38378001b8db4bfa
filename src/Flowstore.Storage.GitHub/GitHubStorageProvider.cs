using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using Octokit;
using Octokit.Internal;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.GitHub;

/// <summary>
/// GitHub storage through Octokit: every fetch resolves the ref (the default branch when none) to a commit SHA and
/// reads the file at that commit; publishing commits through the contents API. Network failures and 5xx answers
/// are retried with backoff; an exhausted rate limit is waited out when it resets soon. Errors name the
/// repository, path and ref, never the token, and carry no Octokit exception (whose text can hold request details).
/// </summary>
public sealed class GitHubStorageProvider : IStorageProvider
{
    private static readonly ProductHeaderValue Product = new("Flowstore", typeof(GitHubStorageProvider).Assembly.GetName().Version?.ToString(3) ?? "1.0.0");

    private readonly GitHubStorageOptions? _options;
    private readonly StorageRetry _retry;

    /// <summary>Options from the environment (<see cref="GitHubStorageOptions.FromEnvironment"/>), read at each use.</summary>
    public GitHubStorageProvider()
        : this(null)
    {
    }

    public GitHubStorageProvider(GitHubStorageOptions? options)
    {
        _options = options;
        // Built once: the retries and their delay do not come from the environment.
        var retry = options ?? new GitHubStorageOptions();
        _retry = new StorageRetry(new StorageRetryOptions { MaxRetries = retry.MaxRetries, BaseDelay = retry.RetryDelay });
    }

    public string Type => "GitHub";

    public Type SettingsType => typeof(GitHubStorage);

    private GitHubStorageOptions Options => _options ?? GitHubStorageOptions.FromEnvironment();

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var github = (GitHubStorage)settings;
        github.Validate();
        return github with { Path = github.NormalizedPath };
    }

    public async Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var github = (GitHubStorage)settings;
        github.Validate();
        using var session = await OpenAsync(github, context.Secrets, context.Log, cancellationToken).ConfigureAwait(false);
        context.Progress?.Report(new StorageProgress($"Checking {Describe(github)}", "Resolving the ref", 10));
        var commit = await session.ResolveRefAsync(cancellationToken).ConfigureAwait(false);
        context.Progress?.Report(new StorageProgress($"Checking {Describe(github)}", $"Reading the file at {Short(commit)}", 50));
        var bytes = await session.ReadFileAsync(commit, pinned: false, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': {github.NormalizedPath} exists in {github.Repo} at {session.RefName} (commit {commit}).");
        context.Progress?.Report(new StorageProgress($"Checking {Describe(github)}", "Done", 100));
        return new PreparedStorage(github, new StoredScript(Encoding.UTF8.GetString(bytes), Origin(github, commit)));
    }

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var github = (GitHubStorage)settings;
        github.Validate();
        using var session = await OpenAsync(github, secrets, null, cancellationToken).ConfigureAwait(false);
        var commit = pinnedVersion ?? await session.ResolveRefAsync(cancellationToken).ConfigureAwait(false);
        var bytes = await session.ReadFileAsync(commit, pinned: pinnedVersion is not null, cancellationToken).ConfigureAwait(false);
        return new FetchedFlowSource(Encoding.UTF8.GetString(bytes), null, FlowStructure.Sha256Hex(bytes), commit, Origin(github, commit));
    }

    /// <summary>
    /// Commits the script through the contents API to the branch (the publish's branch, else the storage's ref, else the
    /// default branch); an unchanged file makes no commit. Returns the storage (its ref set to the publish's branch when
    /// given) and the commit.
    /// </summary>
    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var github = (GitHubStorage)settings;
        github.Validate();
        github = github with { Path = github.NormalizedPath };
        if (github.AccessTokenSecret is not { Length: > 0 }
            && !await DefaultTokenResolvesAsync(context.Secrets, cancellationToken).ConfigureAwait(false))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Publishing {context.ScriptPath} to GitHub {github.Repo}/{github.Path} needs a token with write access: the storage names no access token secret " +
                $"and there is no secret '{GitHostTokens.GitHubDefault}'.")
            {
                Target = github.Repo,
                Hint = TokenSecretHint,
            };
        }
        if (context.Branch is null && github.Ref is { } pinnedRef && IsFullSha(pinnedRef))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"GitHub storage {github} names a commit, which cannot be committed to; publish to a branch instead.") { Target = github.Repo, Hint = FlowHint.PublishToBranch() };
        }

        using var session = await OpenAsync(github, context.Secrets, context.Log, cancellationToken).ConfigureAwait(false);
        session.Publishing = true;
        var activity = $"Publishing {System.IO.Path.GetFileName(context.ScriptPath)} to GitHub {github.Repo}";
        context.Progress?.Report(new StorageProgress(activity, "Finding the branch", 10));
        var branch = context.Branch ?? github.Ref ?? await session.DefaultBranchAsync(cancellationToken).ConfigureAwait(false);
        session.RefName = branch;

        context.Progress?.Report(new StorageProgress(activity, $"Reading {github.Path} on {branch}", 30));
        var existing = await session.ReadContentAsync(branch, cancellationToken).ConfigureAwait(false);
        var bytes = Encoding.UTF8.GetBytes(context.ScriptSource);
        string commit;
        if (existing is not null && string.Equals(existing.Sha, GitBlobSha(bytes), StringComparison.OrdinalIgnoreCase))
        {
            commit = await session.ResolveCommitAsync(branch, cancellationToken).ConfigureAwait(false);
            context.Log($"{github.Path} on {github.Repo}@{branch} already has this content (commit {commit}); nothing to commit.");
        }
        else
        {
            context.Progress?.Report(new StorageProgress(activity, $"Committing to {branch}", 60));
            var message = context.Message is { Length: > 0 } m ? m : $"Publish {github.Path} (flow '{context.Flow}')";
            commit = await session.CommitAsync(branch, context.ScriptSource, message, existing?.Sha, cancellationToken).ConfigureAwait(false);
            context.Log($"Committed {github.Path} to {github.Repo}@{branch}: {commit}.");
        }
        context.Progress?.Report(new StorageProgress(activity, $"Commit {Short(commit)}", 100));
        if (context.Branch is not null)
        {
            github = github with { Ref = context.Branch };
        }
        return new PublishedFlowSource(github, commit, WebUrl(github, commit));
    }

    // ---------------------------------------------------------------- helpers

    private static string Describe(GitHubStorage github) => $"GitHub {github.Repo}/{github.NormalizedPath}";

    /// <summary>A hint to give the storage an access token secret.</summary>
    private static async Task<bool> DefaultTokenResolvesAsync(ISecretResolver secrets, CancellationToken cancellationToken)
        => (await GitHostTokens.ResolveAsync(secrets, null, GitHostTokens.GitHubDefault, "GitHub storage", null, cancellationToken).ConfigureAwait(false)).Value is not null;

    private static FlowHint TokenSecretHint => FlowHint.StorageSetting("GitHub", "AccessTokenSecret");

    private static string Origin(GitHubStorage github, string commit)
        => $"github:{(github.BaseUrl is null ? "" : github.Server + "/")}{github.Repo}/{github.NormalizedPath}@{commit}";

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;

    private static bool IsFullSha(string text) => text.Length == 40 && text.All(Uri.IsHexDigit);

    /// <summary>The media type of "Get a commit" that answers the SHA only.</summary>
    private const string ShaMediaType = "application/vnd.github.sha";

    /// <summary>The media type of "Get repository content" that answers an object for files of any supported size.</summary>
    private const string ObjectMediaType = "application/vnd.github.object";

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    /// <summary>A path or ref with slashes, each segment escaped.</summary>
    private static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    /// <summary>The git blob SHA-1 of content (what GitHub reports as a file's "sha").</summary>
    internal static string GitBlobSha(byte[] content)
    {
        var header = Encoding.ASCII.GetBytes($"blob {content.Length.ToString(CultureInfo.InvariantCulture)}\0");
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. content]));
    }

    /// <summary>The file's page at a commit, for messages (never holds a secret).</summary>
    private static string WebUrl(GitHubStorage github, string commit)
    {
        var web = github.BaseUrl is { } url ? new Uri(url).GetLeftPart(UriPartial.Authority) : "https://github.com";
        return $"{web}/{github.Repo}/blob/{commit}/{github.NormalizedPath}";
    }

    /// <summary>
    /// The API's address, as Octokit's GitHubClient(header, baseAddress) makes it: api.github.com for github.com,
    /// else the server's /api/v3/ (GitHub Enterprise Server).
    /// </summary>
    internal static Uri ApiAddress(string? baseUrl)
    {
        if (baseUrl is null)
        {
            return GitHubClient.GitHubApiUrl;
        }
        var uri = new Uri(baseUrl);
        return uri.Host is "github.com" or "api.github.com" ? GitHubClient.GitHubApiUrl : new Uri(uri, "/api/v3/");
    }

    private async Task<Session> OpenAsync(GitHubStorage github, ISecretResolver secrets, Action<string>? log, CancellationToken cancellationToken)
    {
        var token = await GitHostTokens.ResolveAsync(secrets, github.AccessTokenSecret is { Length: > 0 } name ? name : null, GitHostTokens.GitHubDefault,
            $"GitHub storage {github}", log, cancellationToken).ConfigureAwait(false);
        // Messages name the secret the token came from, also when it is the default name.
        return new Session(github with { AccessTokenSecret = token.SecretName }, token.Value, Options, _retry, log);
    }

    /// <summary>One storage operation's client: the token, the Octokit client, the retry pipeline, error mapping.</summary>
    private sealed class Session : IDisposable
    {
        private readonly GitHubStorage _storage;
        private readonly string? _token;
        private readonly GitHubStorageOptions _options;
        private readonly StorageRetry _retry;
        private readonly Action<string>? _log;
        private readonly HttpClientAdapter _http;
        private readonly GitHubClient _client;
        private readonly string _owner;
        private readonly string _name;

        public Session(GitHubStorage storage, string? token, GitHubStorageOptions options, StorageRetry retry, Action<string>? log)
        {
            _storage = storage;
            _token = token;
            _options = options;
            _retry = retry;
            _log = log;
            var parts = storage.Repo.Split('/');
            (_owner, _name) = (parts[0], parts[1]);
            var credentials = token is null ? Credentials.Anonymous : new Credentials(token);
            var baseAddress = ApiAddress(storage.BaseUrl);
            _http = new HttpClientAdapter(HttpMessageHandlerFactory.CreateDefault);
            var connection = new Connection(Product, baseAddress, new InMemoryCredentialStore(credentials), _http, new SimpleJsonSerializer());
            _client = new GitHubClient(connection);
            _client.SetRequestTimeout(options.RequestTimeout);
            RefName = storage.Ref;
        }

        /// <summary>True while publishing: a conflict on any call means the branch moved meanwhile.</summary>
        public bool Publishing { get; set; }

        /// <summary>The ref being read or written, for messages (the default branch's name once looked up).</summary>
        public string? RefName { get; set; }

        private string RefText => RefName is null ? "the default branch" : $"ref '{RefName}'";

        private string Where => $"GitHub repository {_storage.Repo}{(_storage.BaseUrl is null ? "" : " on " + _storage.Server)}, path '{_storage.NormalizedPath}', {RefText}";

        public void Dispose() => _http.Dispose();

        /// <summary>The repository's default branch.</summary>
        public async Task<string> DefaultBranchAsync(CancellationToken cancellationToken)
        {
            var repository = await CallAsync(() => _client.Repository.Get(_owner, _name), "reading the repository", idempotent: true,
                notFound: _ => Task.FromResult(RepositoryNotFound()), cancellationToken).ConfigureAwait(false);
            return repository.DefaultBranch;
        }

        /// <summary>The commit SHA of the storage's ref (the default branch when none).</summary>
        public async Task<string> ResolveRefAsync(CancellationToken cancellationToken)
        {
            RefName ??= await DefaultBranchAsync(cancellationToken).ConfigureAwait(false);
            return await ResolveCommitAsync(RefName, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The commit SHA a branch, tag or SHA names.</summary>
        public async Task<string> ResolveCommitAsync(string reference, CancellationToken cancellationToken)
        {
            // GET /repos/{owner}/{repo}/commits/{ref} with the SHA media type: only the commit's SHA, as text; the JSON
            // form computes the commit's diff, which can time out for large commits. Octokit's GetSha1 asks for JSON
            // but expects text, and Commit.Get asks for the whole commit: the connection is asked directly, for an
            // object: Octokit hands over a response that is not application/json as its text, and deserializes JSON
            // (a server or proxy that ignores the media type answers the commit's JSON, whose "sha" is read then).
            var uri = new Uri($"repos/{Escape(_owner)}/{Escape(_name)}/commits/{EscapePath(reference)}", UriKind.Relative);
            var found = await CallAsync(() => _client.Connection.Get<object>(uri, null, ShaMediaType), $"resolving {RefText}", idempotent: true,
                notFound: async ct => await RepositoryExistsAsync(ct).ConfigureAwait(false)
                    ? new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                        $"{Where}: the ref '{reference}' was not found (no branch, tag or commit of that name). Check the storage's ref.") { Target = _storage.Repo }
                    : RepositoryNotFound(),
                cancellationToken).ConfigureAwait(false);
            var sha = (found.Body switch
            {
                string text => text,
                IDictionary<string, object> commit when commit.TryGetValue("sha", out var value) => value as string,
                _ => null,
            })?.Trim() ?? "";
            if (!IsFullSha(sha))
            {
                throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidData,
                    $"{Where}: GitHub answered the commit lookup with something that is not a commit SHA.") { Target = _storage.Repo };
            }
            return sha.ToLowerInvariant();
        }

        /// <summary>The file's bytes at a commit.</summary>
        public async Task<byte[]> ReadFileAsync(string commit, bool pinned, CancellationToken cancellationToken)
        {
            var bytes = await CallAsync(() => _client.Repository.Content.GetRawContentByRef(_owner, _name, _storage.NormalizedPath, commit),
                $"reading the file at commit {Short(commit)}", idempotent: true,
                notFound: async ct => !await RepositoryExistsAsync(ct).ConfigureAwait(false)
                    ? RepositoryNotFound()
                    : pinned
                        ? new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                            $"{Where}: the pinned commit {commit} or the file in it is no longer in the repository (was history rewritten?); " +
                            "a run that is not pinned uses the current commit.") { Target = _storage.Repo, Hint = FlowHint.RunUnpinned() }
                        : new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                            $"{Where}: the file '{_storage.NormalizedPath}' does not exist at commit {commit}. Commit and push it (or publish it), " +
                            "and check that the path matches the file in the repository exactly.") { Target = _storage.NormalizedPath, Hint = FlowHint.PublishScript() },
                cancellationToken).ConfigureAwait(false);
            return bytes ?? throw new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                $"{Where}: '{_storage.NormalizedPath}' is a directory at commit {commit}, not a flow file.") { Target = _storage.NormalizedPath };
        }

        /// <summary>The file's content object on a branch (its blob SHA; no content), or null when the file (or branch) does not exist.</summary>
        public async Task<RepositoryContent?> ReadContentAsync(string branch, CancellationToken cancellationToken)
        {
            var missing = new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound, "missing");
            try
            {
                // The object media type answers files up to 100 MB (their content left out over 1 MB) and directories
                // alike, where the JSON form refuses files over 1 MB
                // (https://docs.github.com/en/rest/repos/contents#get-repository-content). Only the blob SHA is used.
                var uri = new Uri($"repos/{Escape(_owner)}/{Escape(_name)}/contents/{EscapePath(_storage.NormalizedPath)}", UriKind.Relative);
                var response = await CallAsync(() => _client.Connection.Get<RepositoryContent>(uri, new Dictionary<string, string> { ["ref"] = branch }, ObjectMediaType),
                    $"reading the file on branch '{branch}'", idempotent: true,
                    notFound: async ct => await RepositoryExistsAsync(ct).ConfigureAwait(false) ? missing : RepositoryNotFound(),
                    cancellationToken).ConfigureAwait(false);
                var file = response.Body;
                if (file is null || file.Type != ContentType.File || string.IsNullOrEmpty(file.Sha))
                {
                    throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidArgument,
                        $"{Where}: '{_storage.NormalizedPath}' is {(file?.Type == ContentType.Dir ? "a directory" : "not a file")} on branch '{branch}'; give the flow file's path.")
                        { Target = _storage.NormalizedPath };
                }
                return file;
            }
            catch (FlowstoreException e) when (ReferenceEquals(e, missing))
            {
                return null;
            }
        }

        /// <summary>Creates or updates the file on a branch; returns the new commit's SHA.</summary>
        public async Task<string> CommitAsync(string branch, string content, string message, string? existingSha, CancellationToken cancellationToken)
        {
            // Not retried after a 5xx or a dropped connection (the commit may have been made); publishing again is
            // safe: an unchanged file makes no new commit.
            var changes = await CallAsync(
                () => existingSha is null
                    ? _client.Repository.Content.CreateFile(_owner, _name, _storage.NormalizedPath, new CreateFileRequest(message, content, branch))
                    : _client.Repository.Content.UpdateFile(_owner, _name, _storage.NormalizedPath, new UpdateFileRequest(message, content, existingSha, branch)),
                $"committing to branch '{branch}'", idempotent: false,
                notFound: async ct => await RepositoryExistsAsync(ct).ConfigureAwait(false)
                    ? new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                        $"{Where}: the branch '{branch}' does not exist, or the token cannot write to the repository. Create the branch first, or publish to another branch.")
                        {
                            Target = _storage.Repo,
                            Hint = FlowHint.PublishToBranch(),
                        }
                    : RepositoryNotFound(),
                cancellationToken).ConfigureAwait(false);
            return changes.Commit.Sha;
        }

        private FlowstoreException RepositoryNotFound() => new(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
            $"{Where}: the repository was not found" + (_token is null
                ? ". If it is private, the storage needs an access token secret."
                : $", or the token in secret '{_storage.AccessTokenSecret}' cannot see it. Check the repository's name and the token's access."))
        {
            Target = _storage.Repo,
            Hint = _token is null ? TokenSecretHint : null,
        };

        private async Task<bool> RepositoryExistsAsync(CancellationToken cancellationToken)
        {
            try
            {
                await DefaultBranchAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (FlowstoreException e) when (e.ErrorId == ErrorIds.StorageNotFound)
            {
                return false;
            }
        }

        // ------------------------------------------------------------ calls, retries, errors

        /// <summary>What one call has seen so far: its attempts, and how many of them hit a secondary rate limit.</summary>
        private sealed class CallState
        {
            public int Attempts;
            public int SecondaryLimits;
        }

        private async Task<T> CallAsync<T>(Func<Task<T>> call, string action, bool idempotent,
            Func<CancellationToken, Task<FlowstoreException>> notFound, CancellationToken cancellationToken)
        {
            var state = new CallState();
            var storageCall = new StorageCall<T>(Where, action)
            {
                Target = _storage.Repo,
                Log = _log,
                OnException = e => RateLimitWait(e, state) is { } wait ? RetryVerdict.Wait(wait, Reason(e, state))
                    : idempotent && IsTransient(e, cancellationToken) ? RetryVerdict.Transient(Reason(e, state))
                    : RetryVerdict.Stop,
                Unavailable = failure => Map(failure.Exception!, action, state, idempotent),
            };
            try
            {
                return await _retry.ExecuteAsync(storageCall, async ct =>
                {
                    state.Attempts++;
                    try
                    {
                        return await call().WaitAsync(ct).ConfigureAwait(false);
                    }
                    catch (ApiException e) when (IsSecondaryLimit(e) || (int)e.StatusCode == 429)
                    {
                        state.SecondaryLimits++;
                        throw;
                    }
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (NotFoundException)
            {
                throw await notFound(cancellationToken).ConfigureAwait(false);
            }
            catch (ApiValidationException) when (action.StartsWith("resolving", StringComparison.Ordinal))
            {
                // GitHub answers an unknown ref with 422 "No commit found for SHA".
                throw await notFound(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ApiException or HttpRequestException or TaskCanceledException or TimeoutException or IOException)
            {
                throw Map(e, action, state, idempotent);
            }
        }

        /// <summary>An Octokit or network failure as a Flowstore error: no Octokit text except GitHub's own message, token removed.</summary>
        private FlowstoreException Map(Exception e, string action, CallState state, bool idempotent)
        {
            var publishing = !idempotent;
            var attempts = state.Attempts;
            if (e is ApiException api)
            {
                if (RateLimit(api, state) is { } limit)
                {
                    var wait = Math.Max(0, Math.Ceiling((limit.Reset - DateTimeOffset.UtcNow).TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                    var bound = $"({_options.MaxRateLimitWait.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s, {GitHubStorageOptions.MaxRateLimitWaitVariable})";
                    return new FlowstoreException(ErrorIds.StorageRateLimited, FlowErrorKind.ConnectionError, limit.Secondary
                        ? $"{Where}: GitHub's secondary rate limit was exceeded ({(int)api.StatusCode}{GitHubMessage(api)}) while {action}; GitHub asks to wait " +
                          $"until {GitHostRateLimit.Format(limit.Reset)} UTC (in {wait} s), longer than Flowstore waits {bound}. Try again after that, " +
                          "with fewer requests at once (secondary limits count bursts and concurrent requests, see GitHub's rate limit documentation)."
                        : $"{Where}: GitHub's API rate limit is exhausted ({(int)api.StatusCode}) while {action}; it resets at " +
                          $"{GitHostRateLimit.Format(limit.Reset)} UTC (in {wait} s), later than Flowstore waits {bound}. Try again after the reset" +
                          (_token is null ? ", or give the storage an access token secret for a higher limit." : "."))
                    { Target = _storage.Repo };
                }
                var status = (int)api.StatusCode;
                var said = GitHubMessage(api);
                switch (api.StatusCode)
                {
                    case HttpStatusCode.Unauthorized:
                        return new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied, _token is null
                            ? $"{Where}: GitHub requires authentication{said} while {action}; the storage needs an access token secret."
                            : $"{Where}: GitHub rejected the token in secret '{_storage.AccessTokenSecret}' (401{said}) while {action}. " +
                              "Check that the secret holds a valid, unexpired token.") { Target = _storage.Repo, Hint = _token is null ? TokenSecretHint : null };
                    case HttpStatusCode.Forbidden:
                        return new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                            $"{Where}: GitHub denied access (403{said}) while {action}. " + (_token is null
                                ? "The storage needs an access token secret with access to the repository."
                                : $"The token in secret '{_storage.AccessTokenSecret}' needs {(publishing ? "write" : "read")} access to the repository's contents."))
                        {
                            Target = _storage.Repo,
                            Hint = _token is null ? TokenSecretHint : null,
                        };
                    case HttpStatusCode.Conflict when IsEmptyRepository(api):
                        // "Get a commit" answers an empty repository with 409 "Git Repository is empty."
                        return new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                            $"{Where}: the repository {_storage.Repo} is empty (it has no commits; 409{said}) while {action}. " +
                            "Push the flow file to it, or publish the script (the first publish creates the file and the branch).")
                        {
                            Target = _storage.Repo,
                            Hint = FlowHint.PublishScript(),
                        };
                    case HttpStatusCode.Conflict when publishing || Publishing:
                        return new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                            $"{Where}: the file changed on the branch while {action} (409{said}). Publish again.") { Target = _storage.NormalizedPath };
                }
                if (status >= 500)
                {
                    return new FlowstoreException(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
                        $"{Where}: GitHub answered {status}{said} while {action}" + (publishing
                            ? "; the commit may or may not have been made. Publish again (an unchanged file makes no new commit)."
                            : $" ({attempts} attempt{(attempts == 1 ? "" : "s")}). Try again later.")) { Target = _storage.Repo };
                }
                return new FlowstoreException(publishing ? ErrorIds.StoragePublishFailed : ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidOperation,
                    $"{Where}: GitHub answered {status}{said} while {action}.") { Target = _storage.Repo };
            }
            var reason = e is TaskCanceledException or TimeoutException
                ? $"no answer within {_options.RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s"
                : Scrub(e.Message);
            return new FlowstoreException(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
                $"{Where}: GitHub at {(_storage.BaseUrl is null ? "api.github.com" : _storage.Server)} could not be reached while {action} ({reason}" +
                (publishing ? "); the commit may or may not have been made. Publish again (an unchanged file makes no new commit)."
                    : $"; {attempts} attempt{(attempts == 1 ? "" : "s")}). Check the network and the base URL, and try again.")) { Target = _storage.Repo };
        }

        private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
        {
            ApiException api => (int)api.StatusCode >= 500,
            HttpRequestException or IOException or TimeoutException => true,
            TaskCanceledException => !cancellationToken.IsCancellationRequested,
            _ => false,
        };

        private string Reason(Exception e, CallState state) => e switch
        {
            ApiException api when RateLimit(api, state) is { Secondary: true } => "GitHub's secondary rate limit was exceeded",
            ApiException api when RateLimit(api, state) is not null => "the rate limit is exhausted",
            ApiException api => $"GitHub answered {(int)api.StatusCode}",
            TaskCanceledException or TimeoutException => "no answer in time",
            _ => "the connection failed",
        };

        /// <summary>How long to wait for a rate limit that resets soon enough (within <see cref="GitHubStorageOptions.MaxRateLimitWait"/>), else null.</summary>
        private TimeSpan? RateLimitWait(Exception e, CallState state)
        {
            if (e is not ApiException api || RateLimit(api, state) is not { } limit)
            {
                return null;
            }
            var wait = limit.Reset - DateTimeOffset.UtcNow;
            if (wait > _options.MaxRateLimitWait)
            {
                return null;
            }
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait + TimeSpan.FromMilliseconds(250);
        }

        /// <summary>A rate limit: when GitHub allows the next request, and whether it is a secondary limit.</summary>
        private readonly record struct Limit(DateTimeOffset Reset, bool Secondary);

        /// <summary>
        /// When a 403/429 is a rate limit, the time to retry, as GitHub documents it
        /// (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit):
        /// retry-after when present; else x-ratelimit-reset when x-ratelimit-remaining is 0 (the primary limit); else,
        /// for a secondary limit (its message says so; a 429), at least a minute, doubling while the call keeps hitting
        /// it. A 403 that is none of these is not a rate limit (the token lacks access).
        /// </summary>
        private Limit? RateLimit(ApiException api, CallState state)
        {
            var status = (int)api.StatusCode;
            if (status is not (403 or 429))
            {
                return null;
            }
            var headers = api.HttpResponse?.Headers;
            string? Header(string name) => headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
            var secondary = IsSecondaryLimit(api);
            var now = DateTimeOffset.UtcNow;
            if (Header("Retry-After") is not null && GitHostRateLimit.ResetTime(name => name == "Retry-After" ? Header(name) : null, now) is { } after)
            {
                return new Limit(after, secondary);
            }
            if (Header("X-RateLimit-Remaining") == "0")
            {
                return new Limit(GitHostRateLimit.ResetTime(name => name == "X-RateLimit-Reset" ? Header(name) : null, now) ?? now.AddHours(1), secondary);
            }
            if (secondary || status == 429)
            {
                var doubling = Math.Min(Math.Max(0, state.SecondaryLimits - 1), 10);
                return new Limit(now + _options.SecondaryRateLimitWait * Math.Pow(2, doubling), Secondary: true);
            }
            return null;
        }

        /// <summary>GitHub's 409 for a repository without commits ("Git Repository is empty.").</summary>
        private static bool IsEmptyRepository(ApiException api)
            => (api.ApiError?.Message ?? api.HttpResponse?.Body as string ?? "").Contains("is empty", StringComparison.OrdinalIgnoreCase);

        /// <summary>A 403/429 whose message says a secondary rate limit was exceeded (formerly "abuse detection").</summary>
        private static bool IsSecondaryLimit(ApiException api)
        {
            if ((int)api.StatusCode is not (403 or 429))
            {
                return false;
            }
            var text = api.ApiError?.Message ?? api.HttpResponse?.Body as string ?? "";
            return text.Contains("secondary rate limit", StringComparison.OrdinalIgnoreCase)
                || text.Contains("abuse detection", StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>GitHub's own error message (": Bad credentials"), shortened and without the token, or "".</summary>
        private string GitHubMessage(ApiException api)
        {
            var message = api.ApiError?.Message;
            if (string.IsNullOrWhiteSpace(message))
            {
                return "";
            }
            message = Scrub(message.ReplaceLineEndings(" ").Trim());
            return ": " + (message.Length > 200 ? message[..200] + "..." : message);
        }

        private string Scrub(string text)
            => _token is { Length: > 0 } token ? text.Replace(token, "***", StringComparison.Ordinal) : text;
    }
}
