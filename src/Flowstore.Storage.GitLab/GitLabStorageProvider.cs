using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.GitLab;

/// <summary>
/// GitLab storage through the REST API v4: GET /projects/:id (default branch), GET
/// /projects/:id/repository/commits/:ref (ref to SHA), GET /projects/:id/repository/files/:path/raw?ref=SHA
/// (the script), and POST /projects/:id/repository/commits to publish. The token goes in PRIVATE-TOKEN.
/// </summary>
public sealed class GitLabStorageProvider : IStorageProvider
{
    private const string Service = "GitLab";
    private readonly GitHostClient _client;

    public GitLabStorageProvider()
        : this(GitHostHttpOptions.Default)
    {
    }

    internal GitLabStorageProvider(GitHostHttpOptions options) => _client = new GitHostClient(options);

    public string Type => "GitLab";

    public Type SettingsType => typeof(GitLabStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => Complete((GitLabStorage)settings);

    public async Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var gitlab = Complete((GitLabStorage)settings);
        context.Progress?.Report(new StorageProgress($"Checking {Describe(gitlab)}", "Reading the committed file", 0));
        var fetched = await FetchCoreAsync(gitlab, null, context.Secrets, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': {gitlab.Path} exists in GitLab project '{gitlab.Repo}' at {fetched.StorageVersion} ({fetched.Origin}).");
        if (context.CheckStoredScript is { } check)
        {
            await check(fetched.ScriptText!, fetched.Origin, cancellationToken).ConfigureAwait(false);
        }
        context.Progress?.Report(new StorageProgress($"Checking {Describe(gitlab)}", "Done", 100));
        return gitlab;
    }

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => FetchCoreAsync(Complete((GitLabStorage)settings), pinnedVersion, secrets, cancellationToken);

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var gitlab = Complete((GitLabStorage)settings);
        var activity = $"Publishing {context.ScriptPath} to {Describe(gitlab)}";
        context.Progress?.Report(new StorageProgress(activity, "Reading the project", 0));
        var session = await OpenAsync(gitlab, context.Secrets, context.Branch ?? gitlab.Ref, cancellationToken).ConfigureAwait(false);
        var project = await GetProjectAsync(session, cancellationToken).ConfigureAwait(false);
        var branch = context.Branch ?? gitlab.Ref ?? project.DefaultBranch
            ?? throw NotFound(session, "the project has no default branch (it is empty); publish with -Branch to create one", "project");
        session = session with { Target = session.Target with { Ref = branch } };

        // The branch's head, or (a new branch) where it starts: the storage's ref, else the default branch.
        var head = await BranchHeadAsync(session, branch, cancellationToken).ConfigureAwait(false);
        string? startSha = null;
        if (head is null)
        {
            if (context.Branch is null)
            {
                throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidArgument,
                    $"Cannot publish to ref '{branch}' of GitLab project '{gitlab.Repo}' on {session.Host}: it is not a branch. " +
                    "Publish with -Branch <name> to commit to a branch (a new one starts from this ref).") { Target = gitlab.Repo };
            }
            var from = gitlab.Ref ?? project.DefaultBranch;
            if (from is not null)
            {
                startSha = await ResolveCommitAsync(session with { Target = session.Target with { Ref = from } }, from, pinned: false, cancellationToken).ConfigureAwait(false);
            }
        }
        var baseCommit = head ?? startSha;

        context.Progress?.Report(new StorageProgress(activity, $"Comparing with {gitlab.Path} on branch {branch}", 30));
        var current = baseCommit is null ? null : await GetFileMetaAsync(session, gitlab.Path, baseCommit, cancellationToken).ConfigureAwait(false);
        var content = System.Text.Encoding.UTF8.GetBytes(context.ScriptSource);
        var published = new GitLabStorage(gitlab.Repo, gitlab.Path, gitlab.Host, gitlab.Ref, gitlab.AccessTokenSecret);
        if (context.Branch is not null)
        {
            published.Ref = context.Branch;
        }
        if (current is not null && head is not null && current.Value.Content.AsSpan().SequenceEqual(content))
        {
            context.Log($"{gitlab.Path} on branch '{branch}' of GitLab project '{gitlab.Repo}' already has this content (commit {head}); nothing to commit.");
            context.Progress?.Report(new StorageProgress(activity, "Unchanged", 100));
            return new PublishedFlowSource(published, head, WebUrl(session, head, gitlab.Path));
        }

        context.Progress?.Report(new StorageProgress(activity, $"Committing to branch {branch}", 60));
        var action = new JsonObject
        {
            ["action"] = current is null ? "create" : "update",
            ["file_path"] = gitlab.Path,
            ["content"] = Convert.ToBase64String(content),
            ["encoding"] = "base64",
        };
        if (current is { LastCommitId: { } lastCommit })
        {
            action["last_commit_id"] = lastCommit;
        }
        var body = new JsonObject
        {
            ["branch"] = branch,
            ["commit_message"] = context.Message ?? $"Publish {gitlab.Path} (flow '{context.Flow}')",
            ["actions"] = new JsonArray(action),
        };
        if (head is null && startSha is not null)
        {
            body["start_sha"] = startSha;
        }
        using var response = await SendAsync(session, HttpMethod.Post, $"{session.ProjectUrl}/repository/commits",
            $"committing {gitlab.Path} to branch '{branch}'", cancellationToken, body).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var message = await GitHostClient.HostMessageAsync(response, session.Token, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw NotFound(session, "the project was not found" + message, "project");
            }
            throw GitHostClient.Error(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation, session.Token, null,
                $"GitLab refused the commit of {gitlab.Path} to branch '{branch}' of project '{gitlab.Repo}' on {session.Host} " +
                $"({(int)response.StatusCode}{message}). If the file changed meanwhile, publish again.");
        }
        var commit = await GitHostClient.ReadJsonAsync(response, session.Target, "committing", cancellationToken).ConfigureAwait(false);
        var sha = commit.GetProperty("id").GetString()!;
        context.Log($"Committed {gitlab.Path} to branch '{branch}' of GitLab project '{gitlab.Repo}': {sha}.");
        context.Progress?.Report(new StorageProgress(activity, $"Committed {sha[..Math.Min(12, sha.Length)]}", 100));
        return new PublishedFlowSource(published, sha, WebUrl(session, sha, gitlab.Path));
    }

    // ---------------------------------------------------------------- fetch

    private async Task<FetchedFlowSource> FetchCoreAsync(GitLabStorage gitlab, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var session = await OpenAsync(gitlab, secrets, pinnedVersion ?? gitlab.Ref, cancellationToken).ConfigureAwait(false);
        string sha;
        if (pinnedVersion is not null)
        {
            sha = await ResolveCommitAsync(session, pinnedVersion, pinned: true, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var reference = gitlab.Ref;
            if (reference is null)
            {
                var project = await GetProjectAsync(session, cancellationToken).ConfigureAwait(false);
                reference = project.DefaultBranch
                    ?? throw NotFound(session, "the project has no default branch (its repository is empty); push the flow file first", "project");
                session = session with { Target = session.Target with { Ref = reference + " (the default branch)" } };
            }
            sha = await ResolveCommitAsync(session, reference, pinned: false, cancellationToken).ConfigureAwait(false);
        }

        using var response = await SendAsync(session, HttpMethod.Get,
            $"{session.ProjectUrl}/repository/files/{Uri.EscapeDataString(gitlab.Path)}/raw?ref={Uri.EscapeDataString(sha)}",
            $"reading {gitlab.Path} at {sha}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var message = await GitHostClient.HostMessageAsync(response, session.Token, cancellationToken).ConfigureAwait(false);
            throw NotFound(session, $"the file does not exist at commit {sha}{message}", "path");
        }
        EnsureSuccess(response, session, "reading the file");
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        return new FetchedFlowSource(text, null, FlowStructure.Sha256Hex(bytes), sha, WebUrl(session, sha, gitlab.Path));
    }

    // ---------------------------------------------------------------- API calls

    private sealed record Session(string Host, string ProjectUrl, string? Token, GitHostTarget Target);

    private readonly record struct Project(string? DefaultBranch);

    private readonly record struct FileMeta(byte[] Content, string? LastCommitId);

    private static async Task<Session> OpenAsync(GitLabStorage gitlab, ISecretResolver secrets, string? reference, CancellationToken cancellationToken)
    {
        var host = gitlab.Host!;
        var target = new GitHostTarget(Service, host, gitlab.Repo, gitlab.Path, reference ?? "the default branch", gitlab.AccessTokenSecret);
        string? token = null;
        if (gitlab.AccessTokenSecret is { } secret)
        {
            try
            {
                token = await secrets.ResolveAsync(secret, cancellationToken).ConfigureAwait(false);
            }
            catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretNotFound)
            {
                throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound,
                    $"GitLab storage ({target.Describe("project")}) needs the access token secret '{secret}': {e.Message} " +
                    $"Set it with Set-FlowSecret -Name {secret}, or as an environment variable.", e) { Target = secret };
            }
        }
        var projectUrl = $"{host}/api/v4/projects/{Uri.EscapeDataString(gitlab.Repo)}";
        return new Session(host, projectUrl, token, target);
    }

    private async Task<Project> GetProjectAsync(Session session, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(session, HttpMethod.Get, session.ProjectUrl, "reading the project", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw NotFound(session, "the project was not found", "project");
        }
        EnsureSuccess(response, session, "reading the project");
        var json = await GitHostClient.ReadJsonAsync(response, session.Target, "reading the project", cancellationToken).ConfigureAwait(false);
        return new Project(json.TryGetProperty("default_branch", out var branch) && branch.ValueKind == JsonValueKind.String ? branch.GetString() : null);
    }

    /// <summary>The commit SHA of a branch, tag or SHA (GET repository/commits/:sha).</summary>
    private async Task<string> ResolveCommitAsync(Session session, string reference, bool pinned, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(session, HttpMethod.Get, $"{session.ProjectUrl}/repository/commits/{Uri.EscapeDataString(reference)}",
            $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var message = await GitHostClient.HostMessageAsync(response, session.Token, cancellationToken).ConfigureAwait(false);
            if (message.Contains("Project", StringComparison.OrdinalIgnoreCase))
            {
                throw NotFound(session, "the project was not found", "project");
            }
            if (pinned)
            {
                throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                    $"Commit {reference} is no longer in GitLab project '{session.Target.Repo}' on {session.Host} (path '{session.Target.Path}'){message}; " +
                    "the pinned run cannot be repeated. Start a run without -Pinned to use the current script.") { Target = session.Target.Repo };
            }
            throw NotFound(session, $"the ref '{reference}' is not a branch, tag or commit of the project{message}", "ref");
        }
        EnsureSuccess(response, session, $"resolving ref '{reference}'");
        var json = await GitHostClient.ReadJsonAsync(response, session.Target, $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
        return json.GetProperty("id").GetString()!;
    }

    /// <summary>The branch's head commit, or null when there is no such branch.</summary>
    private async Task<string?> BranchHeadAsync(Session session, string branch, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(session, HttpMethod.Get, $"{session.ProjectUrl}/repository/branches/{Uri.EscapeDataString(branch)}",
            $"reading branch '{branch}'", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var message = await GitHostClient.HostMessageAsync(response, session.Token, cancellationToken).ConfigureAwait(false);
            if (message.Contains("Project", StringComparison.OrdinalIgnoreCase))
            {
                throw NotFound(session, "the project was not found", "project");
            }
            return null;
        }
        EnsureSuccess(response, session, $"reading branch '{branch}'");
        var json = await GitHostClient.ReadJsonAsync(response, session.Target, $"reading branch '{branch}'", cancellationToken).ConfigureAwait(false);
        return json.GetProperty("commit").GetProperty("id").GetString();
    }

    /// <summary>The file's content and last commit at a commit (GET repository/files/:path), or null when it does not exist there.</summary>
    private async Task<FileMeta?> GetFileMetaAsync(Session session, string path, string commit, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(session, HttpMethod.Get,
            $"{session.ProjectUrl}/repository/files/{Uri.EscapeDataString(path)}?ref={Uri.EscapeDataString(commit)}",
            $"reading {path} at {commit}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        EnsureSuccess(response, session, "reading the file");
        var json = await GitHostClient.ReadJsonAsync(response, session.Target, "reading the file", cancellationToken).ConfigureAwait(false);
        var content = json.GetProperty("content").GetString() ?? "";
        var encoding = json.TryGetProperty("encoding", out var e) ? e.GetString() : "base64";
        var bytes = encoding == "base64" ? Convert.FromBase64String(content) : System.Text.Encoding.UTF8.GetBytes(content);
        var last = json.TryGetProperty("last_commit_id", out var l) ? l.GetString() : null;
        return new FileMeta(bytes, last);
    }

    private Task<HttpResponseMessage> SendAsync(Session session, HttpMethod method, string url, string operation, CancellationToken cancellationToken,
        JsonNode? json = null)
    {
        // The request is made anew for each attempt: serialise the body once.
        var body = json is null ? null : JsonSerializer.SerializeToUtf8Bytes(json);
        return _client.SendAsync(() =>
        {
            var request = new HttpRequestMessage(method, url);
            request.Headers.Accept.ParseAdd("application/json");
            if (session.Token is { } token)
            {
                request.Headers.TryAddWithoutValidation("PRIVATE-TOKEN", token);
            }
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            }
            return request;
        }, session.Target, session.Token, operation, cancellationToken);
    }

    private static void EnsureSuccess(HttpResponseMessage response, Session session, string operation)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidOperation,
                $"GitLab answered {(int)response.StatusCode} {response.ReasonPhrase} while {operation} ({session.Target.Describe("project")}).") { Target = session.Target.Repo };
        }
    }

    private static FlowstoreException NotFound(Session session, string what, string part)
    {
        var hint = part switch
        {
            "project" => session.Token is null
                ? " If the project is private, set AccessTokenSecret: GitLab answers 404 for private projects without a token."
                : $" Check the project path or id, and that the token in secret '{session.Target.TokenSecret}' can see it.",
            "ref" => " Check the branch, tag or commit name.",
            _ => " Check the path (it is case-sensitive and relative to the repository root), or push the file first.",
        };
        return new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
            GitHostClient.Redact($"GitLab storage: {what} ({session.Target.Describe("project")}).{hint}", session.Token)) { Target = session.Target.Repo };
    }

    private static string WebUrl(Session session, string sha, string path)
        => $"{session.Host}/{session.Target.Repo}/-/blob/{sha}/{GitHostUrls.EscapeSegments(path)}";

    private static string Describe(GitLabStorage gitlab) => $"GitLab {gitlab.Host} {gitlab.Repo}:{gitlab.Path}";

    /// <summary>Checks the settings and fills in the defaults; no I/O.</summary>
    internal static GitLabStorage Complete(GitLabStorage settings)
    {
        var gitlab = new GitLabStorage(settings.Repo ?? "", settings.Path ?? "", settings.Host, settings.Ref, settings.AccessTokenSecret);
        if (string.IsNullOrWhiteSpace(gitlab.Repo))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                "GitLab storage needs a project: -Repo group/project (or its numeric id).");
        }
        gitlab.Repo = gitlab.Repo.Trim().Trim('/');
        if (string.IsNullOrWhiteSpace(gitlab.Path))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"GitLab storage of project '{gitlab.Repo}' needs the flow file's path in the repository: -Path flows/my_flow.cs.") { Target = gitlab.Repo };
        }
        gitlab.Path = GitHostUrls.NormalizePath(gitlab.Path);
        gitlab.Host = GitHostUrls.NormalizeHost(string.IsNullOrWhiteSpace(gitlab.Host) ? GitLabStorage.DefaultHost : gitlab.Host, Service);
        gitlab.Ref = string.IsNullOrWhiteSpace(gitlab.Ref) ? null : gitlab.Ref.Trim();
        gitlab.AccessTokenSecret = string.IsNullOrWhiteSpace(gitlab.AccessTokenSecret) ? null : gitlab.AccessTokenSecret.Trim();
        return gitlab;
    }
}
