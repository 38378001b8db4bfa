using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.Bitbucket;

/// <summary>
/// Bitbucket Server / Data Center storage through the REST API 1.0, under
/// /rest/api/1.0/projects/{key}/repos/{slug}: GET default-branch, GET commits?until={ref}&amp;limit=1 (ref to SHA),
/// GET raw/{path}?at={sha} (the script), and PUT browse/{path} (the file edit API, multipart) to publish. The token
/// (an HTTP access token) goes in Authorization: Bearer.
/// </summary>
public sealed class BitbucketStorageProvider : IStorageProvider
{
    private const string Service = "Bitbucket Server";
    private readonly GitHostClient _client;

    public BitbucketStorageProvider()
        : this(GitHostHttpOptions.Default)
    {
    }

    internal BitbucketStorageProvider(GitHostHttpOptions options) => _client = new GitHostClient(options);

    public string Type => "Bitbucket";

    public Type SettingsType => typeof(BitbucketStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => Complete((BitbucketStorage)settings);

    public async Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var bitbucket = Complete((BitbucketStorage)settings);
        context.Progress?.Report(new StorageProgress($"Checking {Describe(bitbucket)}", "Reading the committed file", 0));
        var fetched = await FetchCoreAsync(bitbucket, null, context.Secrets, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': {bitbucket.Path} exists in Bitbucket repository {bitbucket.Project}/{bitbucket.Repo} at {fetched.StorageVersion} ({fetched.Origin}).");
        if (context.CheckStoredScript is { } check)
        {
            await check(fetched.ScriptText!, fetched.Origin, cancellationToken).ConfigureAwait(false);
        }
        context.Progress?.Report(new StorageProgress($"Checking {Describe(bitbucket)}", "Done", 100));
        return bitbucket;
    }

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => FetchCoreAsync(Complete((BitbucketStorage)settings), pinnedVersion, secrets, cancellationToken);

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var bitbucket = Complete((BitbucketStorage)settings);
        var activity = $"Publishing {context.ScriptPath} to {Describe(bitbucket)}";
        context.Progress?.Report(new StorageProgress(activity, "Reading the repository", 0));
        var session = await OpenAsync(bitbucket, context.Secrets, context.Branch ?? bitbucket.Ref, cancellationToken).ConfigureAwait(false);

        string? defaultBranch = null;
        if (context.Branch is null || bitbucket.Ref is null)
        {
            defaultBranch = (await DefaultBranchAsync(session, required: false, cancellationToken).ConfigureAwait(false))?.Name;
        }
        var branch = context.Branch ?? bitbucket.Ref ?? defaultBranch
            ?? throw NotFound(session, "the repository has no default branch (it is empty); publish with -Branch to create one", "repo");
        session = session with { Target = session.Target with { Ref = branch } };

        // The branch's head, or (a new branch) where it starts: the storage's ref, else the default branch.
        var head = await ResolveCommitAsync(session, "refs/heads/" + branch, pinned: false, optional: true, cancellationToken).ConfigureAwait(false);
        string? sourceBranch = null;
        string? startSha = null;
        if (head is null)
        {
            if (context.Branch is null)
            {
                throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidArgument,
                    $"Cannot publish to ref '{branch}' of Bitbucket repository {bitbucket.Project}/{bitbucket.Repo} on {session.Host}: it is not a branch. " +
                    "Publish with -Branch <name> to commit to a branch (a new one starts from this ref).") { Target = bitbucket.Repo };
            }
            sourceBranch = bitbucket.Ref ?? defaultBranch;
            if (sourceBranch is not null)
            {
                startSha = await ResolveCommitAsync(session with { Target = session.Target with { Ref = sourceBranch } }, sourceBranch,
                    pinned: false, optional: false, cancellationToken).ConfigureAwait(false);
            }
        }
        var baseCommit = head ?? startSha;

        context.Progress?.Report(new StorageProgress(activity, $"Comparing with {bitbucket.Path} on branch {branch}", 30));
        var current = baseCommit is null ? null : await ReadRawAsync(session, baseCommit, optional: true, cancellationToken).ConfigureAwait(false);
        var content = System.Text.Encoding.UTF8.GetBytes(context.ScriptSource);
        var published = new BitbucketStorage(bitbucket.Project, bitbucket.Repo, bitbucket.Path, bitbucket.Host, bitbucket.Ref, bitbucket.AccessTokenSecret);
        if (context.Branch is not null)
        {
            published.Ref = context.Branch;
        }
        if (current is not null && head is not null && current.AsSpan().SequenceEqual(content))
        {
            context.Log($"{bitbucket.Path} on branch '{branch}' of Bitbucket repository {bitbucket.Project}/{bitbucket.Repo} already has this content (commit {head}); nothing to commit.");
            context.Progress?.Report(new StorageProgress(activity, "Unchanged", 100));
            return new PublishedFlowSource(published, head, WebUrl(session, head));
        }

        context.Progress?.Report(new StorageProgress(activity, $"Committing to branch {branch}", 60));
        var message = context.Message ?? $"Publish {bitbucket.Path} (flow '{context.Flow}')";
        var fileName = bitbucket.Path.Split('/')[^1];
        using var response = await SendAsync(session, HttpMethod.Put, $"{session.RepoUrl}/browse/{GitHostUrls.EscapeSegments(bitbucket.Path)}",
            $"committing {bitbucket.Path} to branch '{branch}'", cancellationToken, () =>
            {
                var form = new MultipartFormDataContent();
                var file = new ByteArrayContent(content);
                file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(file, "content", fileName);
                form.Add(new StringContent(message), "message");
                form.Add(new StringContent(branch), "branch");
                if (current is not null && baseCommit is not null)
                {
                    form.Add(new StringContent(baseCommit), "sourceCommitId");
                }
                if (head is null && sourceBranch is not null)
                {
                    form.Add(new StringContent(sourceBranch), "sourceBranch");
                }
                return form;
            }).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var (exception, text) = await ErrorOfAsync(response, session, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound && IsMissingRepository(exception))
            {
                throw NotFound(session, text, exception.Contains("Project", StringComparison.Ordinal) ? "project" : "repo");
            }
            var error = text.Length > 0 ? ": " + text : "";
            throw GitHostClient.Error(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation, session.Token, null,
                $"Bitbucket Server refused the commit of {bitbucket.Path} to branch '{branch}' of repository {bitbucket.Project}/{bitbucket.Repo} on {session.Host} " +
                $"({(int)response.StatusCode}{error}). If the file changed meanwhile, publish again.");
        }
        var commit = await GitHostClient.ReadJsonAsync(response, session.Target, "committing", cancellationToken).ConfigureAwait(false);
        var sha = commit.GetProperty("id").GetString()!;
        context.Log($"Committed {bitbucket.Path} to branch '{branch}' of Bitbucket repository {bitbucket.Project}/{bitbucket.Repo}: {sha}.");
        context.Progress?.Report(new StorageProgress(activity, $"Committed {sha[..Math.Min(12, sha.Length)]}", 100));
        return new PublishedFlowSource(published, sha, WebUrl(session, sha));
    }

    // ---------------------------------------------------------------- fetch

    private async Task<FetchedFlowSource> FetchCoreAsync(BitbucketStorage bitbucket, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var session = await OpenAsync(bitbucket, secrets, pinnedVersion ?? bitbucket.Ref, cancellationToken).ConfigureAwait(false);
        string sha;
        if (pinnedVersion is not null)
        {
            sha = (await ResolveCommitAsync(session, pinnedVersion, pinned: true, optional: false, cancellationToken).ConfigureAwait(false))!;
        }
        else if (bitbucket.Ref is { } reference)
        {
            sha = (await ResolveCommitAsync(session, reference, pinned: false, optional: false, cancellationToken).ConfigureAwait(false))!;
        }
        else
        {
            var branch = (await DefaultBranchAsync(session, required: true, cancellationToken).ConfigureAwait(false))!.Value;
            session = session with { Target = session.Target with { Ref = branch.Name + " (the default branch)" } };
            sha = branch.Commit;
        }
        var bytes = (await ReadRawAsync(session, sha, optional: false, cancellationToken).ConfigureAwait(false))!;
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        return new FetchedFlowSource(text, null, FlowStructure.Sha256Hex(bytes), sha, WebUrl(session, sha));
    }

    // ---------------------------------------------------------------- API calls

    private sealed record Session(string Host, string RepoUrl, string? Token, GitHostTarget Target, BitbucketStorage Storage);

    private readonly record struct Branch(string Name, string Commit);

    private static async Task<Session> OpenAsync(BitbucketStorage bitbucket, ISecretResolver secrets, string? reference, CancellationToken cancellationToken)
    {
        var host = bitbucket.Host!;
        var target = new GitHostTarget(Service, host, $"{bitbucket.Project}/{bitbucket.Repo}", bitbucket.Path, reference ?? "the default branch", bitbucket.AccessTokenSecret);
        string? token = null;
        if (bitbucket.AccessTokenSecret is { } secret)
        {
            try
            {
                token = await secrets.ResolveAsync(secret, cancellationToken).ConfigureAwait(false);
            }
            catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretNotFound)
            {
                throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound,
                    $"Bitbucket storage ({target.Describe()}) needs the access token secret '{secret}': {e.Message} " +
                    $"Set it with Set-FlowSecret -Name {secret}, or as an environment variable.", e) { Target = secret };
            }
        }
        var repoUrl = $"{host}/rest/api/1.0/projects/{Uri.EscapeDataString(bitbucket.Project)}/repos/{Uri.EscapeDataString(bitbucket.Repo)}";
        return new Session(host, repoUrl, token, target, bitbucket);
    }

    /// <summary>GET default-branch: the default branch and its head commit; null (when not required) for an empty repository.</summary>
    private async Task<Branch?> DefaultBranchAsync(Session session, bool required, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(session, HttpMethod.Get, $"{session.RepoUrl}/default-branch", "reading the default branch", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var (exception, message) = await ErrorOfAsync(response, session, cancellationToken).ConfigureAwait(false);
            if (IsMissingRepository(exception))
            {
                throw NotFound(session, message, exception.Contains("Project", StringComparison.Ordinal) ? "project" : "repo");
            }
            if (!required)
            {
                return null;
            }
            throw NotFound(session, $"the repository has no default branch (it is empty){Suffix(message)}; push the flow file first", "repo");
        }
        EnsureSuccess(response, session, "reading the default branch");
        var json = await GitHostClient.ReadJsonAsync(response, session.Target, "reading the default branch", cancellationToken).ConfigureAwait(false);
        var name = json.TryGetProperty("displayId", out var display) ? display.GetString()! : json.GetProperty("id").GetString()!.Replace("refs/heads/", "", StringComparison.Ordinal);
        var commit = json.TryGetProperty("latestCommit", out var latest) ? latest.GetString() : null;
        if (commit is null)
        {
            // Older servers give only latestChangeset.
            commit = json.GetProperty("latestChangeset").GetString()!;
        }
        return new Branch(name, commit);
    }

    /// <summary>GET commits?until={ref}&amp;limit=1: the commit a branch, tag or SHA names; null when optional and missing.</summary>
    private async Task<string?> ResolveCommitAsync(Session session, string reference, bool pinned, bool optional, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(session, HttpMethod.Get, $"{session.RepoUrl}/commits?until={Uri.EscapeDataString(reference)}&limit=1",
            $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var (exception, message) = await ErrorOfAsync(response, session, cancellationToken).ConfigureAwait(false);
            if (IsMissingRepository(exception))
            {
                throw NotFound(session, message, exception.Contains("Project", StringComparison.Ordinal) ? "project" : "repo");
            }
            if (optional)
            {
                return null;
            }
            if (pinned)
            {
                throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                    $"Commit {reference} is no longer in Bitbucket repository {session.Target.Repo} on {session.Host} (path '{session.Target.Path}'){Suffix(message)}; " +
                    "the pinned run cannot be repeated. Start a run without -Pinned to use the current script.") { Target = session.Target.Repo };
            }
            throw NotFound(session, $"the ref '{reference}' is not a branch, tag or commit of the repository{Suffix(message)}", "ref");
        }
        EnsureSuccess(response, session, $"resolving ref '{reference}'");
        var json = await GitHostClient.ReadJsonAsync(response, session.Target, $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
        var values = json.GetProperty("values");
        if (values.GetArrayLength() == 0)
        {
            return optional ? null : throw NotFound(session, $"the ref '{reference}' names no commit", "ref");
        }
        return values[0].GetProperty("id").GetString();
    }

    /// <summary>GET raw/{path}?at={sha}: the file's bytes; null when optional and missing.</summary>
    private async Task<byte[]?> ReadRawAsync(Session session, string sha, bool optional, CancellationToken cancellationToken)
    {
        var path = session.Storage.Path;
        using var response = await SendAsync(session, HttpMethod.Get, $"{session.RepoUrl}/raw/{GitHostUrls.EscapeSegments(path)}?at={Uri.EscapeDataString(sha)}",
            $"reading {path} at {sha}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var (exception, message) = await ErrorOfAsync(response, session, cancellationToken).ConfigureAwait(false);
            if (IsMissingRepository(exception))
            {
                throw NotFound(session, message, exception.Contains("Project", StringComparison.Ordinal) ? "project" : "repo");
            }
            return optional ? null : throw NotFound(session, $"the file does not exist at commit {sha}{Suffix(message)}", "path");
        }
        EnsureSuccess(response, session, "reading the file");
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task<HttpResponseMessage> SendAsync(Session session, HttpMethod method, string url, string operation, CancellationToken cancellationToken,
        Func<HttpContent>? content = null)
        => _client.SendAsync(() =>
        {
            var request = new HttpRequestMessage(method, url);
            request.Headers.Accept.ParseAdd("application/json");
            if (session.Token is { } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            if (content is not null)
            {
                // Multipart requests need this header to pass Bitbucket's XSRF check.
                request.Headers.TryAddWithoutValidation("X-Atlassian-Token", "no-check");
                request.Content = content();
            }
            return request;
        }, session.Target, session.Token, operation, cancellationToken);

    /// <summary>The exceptionName and message of a Bitbucket error body {"errors":[{"message","exceptionName"}]}.</summary>
    private static async Task<(string Exception, string Message)> ErrorOfAsync(HttpResponseMessage response, Session session, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
            {
                var first = errors[0];
                var exception = first.TryGetProperty("exceptionName", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : "";
                var message = first.TryGetProperty("message", out var m) ? m.ToString() : "";
                return (exception, GitHostClient.Redact(message, session.Token));
            }
        }
        catch (JsonException)
        {
        }
        return ("", "");
    }

    private static bool IsMissingRepository(string exceptionName)
        => exceptionName.EndsWith("NoSuchRepositoryException", StringComparison.Ordinal) || exceptionName.EndsWith("NoSuchProjectException", StringComparison.Ordinal);

    private static string Suffix(string message) => message.Length == 0 ? "" : $" ({message.TrimEnd('.')})";

    private static void EnsureSuccess(HttpResponseMessage response, Session session, string operation)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidOperation,
                $"Bitbucket Server answered {(int)response.StatusCode} {response.ReasonPhrase} while {operation} ({session.Target.Describe()}).") { Target = session.Target.Repo };
        }
    }

    private static FlowstoreException NotFound(Session session, string what, string part)
    {
        var hint = part switch
        {
            "project" or "repo" => session.Token is null
                ? " Check the project key and repository slug; if the repository is private, set AccessTokenSecret."
                : $" Check the project key and repository slug, and that the token in secret '{session.Target.TokenSecret}' can read the repository.",
            "ref" => " Check the branch, tag or commit name.",
            _ => " Check the path (it is case-sensitive and relative to the repository root), or push the file first.",
        };
        if (what.Length == 0)
        {
            what = part == "project" ? "the project was not found" : "the repository was not found";
        }
        return new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
            GitHostClient.Redact($"Bitbucket storage: {what.TrimEnd('.')} ({session.Target.Describe()}).{hint}", session.Token)) { Target = session.Target.Repo };
    }

    private static string WebUrl(Session session, string sha)
        => $"{session.Host}/projects/{Uri.EscapeDataString(session.Storage.Project)}/repos/{Uri.EscapeDataString(session.Storage.Repo)}/browse/{GitHostUrls.EscapeSegments(session.Storage.Path)}?at={sha}";

    private static string Describe(BitbucketStorage bitbucket) => $"Bitbucket {bitbucket.Host} {bitbucket.Project}/{bitbucket.Repo}:{bitbucket.Path}";

    /// <summary>Checks the settings and fills in the defaults; no I/O.</summary>
    internal static BitbucketStorage Complete(BitbucketStorage settings)
    {
        var bitbucket = new BitbucketStorage(settings.Project ?? "", settings.Repo ?? "", settings.Path ?? "", settings.Host, settings.Ref, settings.AccessTokenSecret);
        if (string.IsNullOrWhiteSpace(bitbucket.Project) || string.IsNullOrWhiteSpace(bitbucket.Repo))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                "Bitbucket storage needs the project key and the repository slug: -Project KEY -Repo slug.");
        }
        bitbucket.Project = bitbucket.Project.Trim();
        bitbucket.Repo = bitbucket.Repo.Trim();
        var name = $"{bitbucket.Project}/{bitbucket.Repo}";
        if (string.IsNullOrWhiteSpace(bitbucket.Path))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Bitbucket storage of repository {name} needs the flow file's path in the repository: -Path flows/my_flow.cs.") { Target = name };
        }
        if (string.IsNullOrWhiteSpace(bitbucket.Host))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Bitbucket storage of repository {name} needs the server: -Host https://bitbucket.example.com.") { Target = name };
        }
        bitbucket.Path = GitHostUrls.NormalizePath(bitbucket.Path);
        bitbucket.Host = GitHostUrls.NormalizeHost(bitbucket.Host, Service);
        bitbucket.Ref = string.IsNullOrWhiteSpace(bitbucket.Ref) ? null : bitbucket.Ref.Trim();
        bitbucket.AccessTokenSecret = string.IsNullOrWhiteSpace(bitbucket.AccessTokenSecret) ? null : bitbucket.AccessTokenSecret.Trim();
        return bitbucket;
    }
}
