using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.GitLab;

/// <summary>
/// GitLab storage through the REST API v4. A run reads GET /projects/:id/repository/files/:path/raw[?ref=ref]: the
/// script and, in X-Gitlab-Commit-Id, the commit the ref (the default branch without one) names - the repository files
/// endpoints are the only API a token with just the read_repository scope may call. Publishing (scope api) reads GET
/// /projects/:id (default branch), repository/branches/:branch, repository/commits/:ref and repository/files/:path,
/// and commits with POST /projects/:id/repository/commits (or, for unchanged content on a new branch, creates the branch
/// with POST repository/branches). The token goes in PRIVATE-TOKEN.
/// </summary>
public sealed class GitLabStorageProvider : GitHostStorageProvider<GitLabStorage>
{
    public GitLabStorageProvider()
        : this(GitHostHttpOptions.Default)
    {
    }

    internal GitLabStorageProvider(GitHostHttpOptions options)
        : base("GitLab", "GitLab", options)
    {
    }

    protected override string DefaultTokenSecret => GitHostTokens.GitLabDefault;

    protected override string DefaultHost => GitLabStorage.DefaultHost;

    protected override string TokenHeader => "PRIVATE-TOKEN";

    protected override GitHostAdvice Advice { get; } = new(
        "If the project is private, the storage needs an access token secret: GitLab answers 404 for private projects without a token.",
        secret => $"Check the project path or id, and that the token in secret '{secret}' can see it.")
    {
        Refused = Refused,
    };

    /// <summary>
    /// What GitLab's 403 means: insufficient_scope names the scopes the endpoint accepts (lib/api/api_guard.rb); the
    /// repository files endpoints accept read_repository for reads (lib/api/files.rb), the rest of the API read_api or api,
    /// writes api only. Another 403 on a write is a role that may not push to the branch.
    /// </summary>
    private static string? Refused(GitHostRefusal refusal, string? secret) => secret is null ? null : refusal switch
    {
        { Status: 403, Code: "insufficient_scope" } =>
            $"The token in secret '{secret}' lacks the scope this call needs{(refusal.Scopes is { Length: > 0 } scopes ? $" (GitLab accepts: {scopes})" : "")}: " +
            "running flows needs a token with the read_repository scope (read_api or api also do); publishing needs the api scope.",
        { Status: 403, Write: true } =>
            $"The token in secret '{secret}' may not commit to the branch: publishing needs a token with the api scope whose user (or the " +
            "project or group token's bot) has at least the Developer role, and may push to the branch if it is protected.",
        _ => null,
    };

    protected override GitLabStorage CompleteNames(GitLabStorage settings) => settings with { Repo = settings.Repo.Trim().Trim('/') };

    protected override GitHostTarget Target(GitLabStorage settings, string reference)
        => new(Service, settings.Host!, settings.Repo, settings.Path, reference, settings.AccessTokenSecret, "project");

    protected override IGitHostApi CreateApi(GitLabStorage settings, GitHostSession session) => new Api(settings, session);

    /// <summary>GitLab's REST calls for one operation.</summary>
    private sealed class Api(GitLabStorage storage, GitHostSession session) : IGitHostApi
    {
        private readonly string _project = $"{session.Target.Host}/api/v4/projects/{Uri.EscapeDataString(storage.Repo)}";

        public GitHostSession Session => session;

        public string Label => $"GitLab project '{storage.Repo}'";

        /// <summary>
        /// GET /projects/:id: the default branch. GitLab names one also for an empty project (the group's or instance's
        /// default branch name, with empty_repo true): then the branch has no commit yet.
        /// </summary>
        public async Task<GitHostBranch?> DefaultBranchAsync(bool required, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Get, _project, "reading the project", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw session.NotFound("the project was not found", GitHostPart.Repository);
            }
            session.EnsureSuccess(response, "reading the project");
            var json = await session.ReadJsonAsync(response, "reading the project", cancellationToken).ConfigureAwait(false);
            var name = json.TryGetProperty("default_branch", out var branch) && branch.ValueKind == JsonValueKind.String ? branch.GetString() : null;
            if (name is null)
            {
                return required
                    ? throw session.NotFound("the project has no default branch (its repository is empty); push the flow file first", GitHostPart.Repository)
                    : null;
            }
            var empty = json.TryGetProperty("empty_repo", out var emptyRepo) && emptyRepo.ValueKind == JsonValueKind.True;
            return new GitHostBranch(name, null, Exists: !empty);
        }

        /// <summary>
        /// GET repository/files/:path/raw[?ref=]: the file and, in X-Gitlab-Commit-Id, the commit the ref names (the
        /// default branch's head without a ref); null when the answer has no such header (then the ref is resolved first).
        /// </summary>
        public async Task<GitHostRead?> ReadAtRefAsync(string? reference, bool pinned, CancellationToken cancellationToken)
        {
            var query = reference is null ? "" : "?ref=" + Uri.EscapeDataString(reference);
            var at = reference is null ? "the default branch" : reference;
            using var response = await session.SendAsync(HttpMethod.Get, $"{_project}/repository/files/{Uri.EscapeDataString(storage.Path)}/raw{query}",
                $"reading {storage.Path} at {at}", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                var message = await ProjectOrMessageAsync(response, cancellationToken).ConfigureAwait(false);
                var noCommit = message.Contains("Commit", StringComparison.OrdinalIgnoreCase);
                if (pinned && reference is not null)
                {
                    throw noCommit
                        ? session.PinnedCommitGone(Label, reference, message)
                        : session.NotFound($"the file does not exist at commit {reference}{message}", GitHostPart.Path);
                }
                if (reference is null)
                {
                    // Name the default branch when the token may read the project (read_api); the run needs no more than read_repository.
                    var branch = await TryDefaultBranchAsync(cancellationToken).ConfigureAwait(false);
                    if (branch is not null)
                    {
                        session.AtRef(branch.Name + " (the default branch)");
                    }
                    throw noCommit
                        ? session.Empty(branch?.Name)
                        : session.NotFound($"the file does not exist on the default branch{message}", GitHostPart.Path);
                }
                throw noCommit
                    ? session.NotFound($"the ref '{reference}' is not a branch, tag or commit of the project{message}", GitHostPart.Ref)
                    : session.NotFound($"the file does not exist at ref '{reference}'{message}", GitHostPart.Path);
            }
            session.EnsureSuccess(response, "reading the file");
            if (!response.Headers.TryGetValues("X-Gitlab-Commit-Id", out var values) || values.FirstOrDefault() is not { Length: > 0 } commit)
            {
                return null;
            }
            return new GitHostRead(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false), commit);
        }

        /// <summary>The default branch, or null when the token may not read the project (a read_repository token).</summary>
        private async Task<GitHostBranch?> TryDefaultBranchAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await DefaultBranchAsync(required: false, cancellationToken).ConfigureAwait(false);
            }
            catch (FlowstoreException e) when (e.ErrorId == ErrorIds.StorageAccessDenied)
            {
                return null;
            }
        }

        /// <summary>GET repository/commits/:sha: the commit SHA of a branch, tag or SHA.</summary>
        public async Task<string> ResolveCommitAsync(string reference, bool pinned, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Get, $"{_project}/repository/commits/{Uri.EscapeDataString(reference)}",
                $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                var message = await ProjectOrMessageAsync(response, cancellationToken).ConfigureAwait(false);
                throw pinned
                    ? session.PinnedCommitGone(Label, reference, message)
                    : session.NotFound($"the ref '{reference}' is not a branch, tag or commit of the project{message}", GitHostPart.Ref);
            }
            session.EnsureSuccess(response, $"resolving ref '{reference}'");
            var json = await session.ReadJsonAsync(response, $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
            return json.GetProperty("id").GetString()!;
        }

        /// <summary>GET repository/branches/:branch: its head commit, or null when there is no such branch.</summary>
        public async Task<string?> BranchHeadAsync(string branch, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Get, $"{_project}/repository/branches/{Uri.EscapeDataString(branch)}",
                $"reading branch '{branch}'", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                await ProjectOrMessageAsync(response, cancellationToken).ConfigureAwait(false);
                return null;
            }
            session.EnsureSuccess(response, $"reading branch '{branch}'");
            var json = await session.ReadJsonAsync(response, $"reading branch '{branch}'", cancellationToken).ConfigureAwait(false);
            return json.GetProperty("commit").GetProperty("id").GetString();
        }

        /// <summary>GET repository/files/:path/raw?ref=SHA.</summary>
        public async Task<byte[]> ReadFileAsync(string commit, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Get,
                $"{_project}/repository/files/{Uri.EscapeDataString(storage.Path)}/raw?ref={Uri.EscapeDataString(commit)}",
                $"reading {storage.Path} at {commit}", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                var message = await session.HostMessageAsync(response, cancellationToken).ConfigureAwait(false);
                throw session.NotFound($"the file does not exist at commit {commit}{message}", GitHostPart.Path);
            }
            session.EnsureSuccess(response, "reading the file");
            return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }

        /// <summary>GET repository/files/:path?ref=SHA: the content and the file's last commit, or null when it does not exist there.</summary>
        public async Task<GitHostFile?> ReadExistingFileAsync(string commit, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Get,
                $"{_project}/repository/files/{Uri.EscapeDataString(storage.Path)}?ref={Uri.EscapeDataString(commit)}",
                $"reading {storage.Path} at {commit}", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
            session.EnsureSuccess(response, "reading the file");
            var json = await session.ReadJsonAsync(response, "reading the file", cancellationToken).ConfigureAwait(false);
            var content = json.GetProperty("content").GetString() ?? "";
            var encoding = json.TryGetProperty("encoding", out var e) ? e.GetString() : "base64";
            var bytes = encoding == "base64" ? Convert.FromBase64String(content) : System.Text.Encoding.UTF8.GetBytes(content);
            var last = json.TryGetProperty("last_commit_id", out var l) ? l.GetString() : null;
            return new GitHostFile(bytes, last);
        }

        /// <summary>POST repository/commits with one create or update action (a new branch starts at start_sha).</summary>
        public async Task<string> CommitFileAsync(GitHostCommit commit, CancellationToken cancellationToken)
        {
            var action = new JsonObject
            {
                ["action"] = commit.Existing is null ? "create" : "update",
                ["file_path"] = storage.Path,
                ["content"] = Convert.ToBase64String(commit.Content),
                ["encoding"] = "base64",
            };
            if (commit.Existing is { LastCommit: { } lastCommit })
            {
                action["last_commit_id"] = lastCommit;
            }
            var body = new JsonObject
            {
                ["branch"] = commit.Branch,
                ["commit_message"] = commit.Message,
                ["actions"] = new JsonArray(action),
            };
            if (commit.Head is null && commit.BaseCommit is not null)
            {
                body["start_sha"] = commit.BaseCommit;
            }
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
            using var response = await session.SendAsync(HttpMethod.Post, $"{_project}/repository/commits",
                $"committing {storage.Path} to branch '{commit.Branch}'", cancellationToken, () =>
                {
                    var content = new ByteArrayContent(bytes);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    return content;
                }).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var message = await session.HostMessageAsync(response, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    throw session.NotFound("the project was not found" + message, GitHostPart.Repository);
                }
                throw session.Error(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"GitLab refused the commit of {storage.Path} to branch '{commit.Branch}' of project '{storage.Repo}' on {session.Target.Host} " +
                    $"({(int)response.StatusCode}{message}). If the file changed meanwhile, publish again.");
            }
            var json = await session.ReadJsonAsync(response, "committing", cancellationToken).ConfigureAwait(false);
            return json.GetProperty("id").GetString()!;
        }

        /// <summary>POST repository/branches?branch=&amp;ref=: the branch at a commit, without a new commit.</summary>
        public async Task<bool> CreateBranchAsync(string branch, string commit, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Post,
                $"{_project}/repository/branches?branch={Uri.EscapeDataString(branch)}&ref={Uri.EscapeDataString(commit)}",
                $"creating branch '{branch}' at {commit}", cancellationToken, () => new ByteArrayContent([])).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var message = await session.HostMessageAsync(response, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    throw session.NotFound("the project was not found" + message, GitHostPart.Repository);
                }
                throw session.Error(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"GitLab refused to create branch '{branch}' at {commit} in project '{storage.Repo}' on {session.Target.Host} " +
                    $"({(int)response.StatusCode}{message}). If the branch was created meanwhile, publish again.");
            }
            return true;
        }

        public string WebUrl(string commit)
            => $"{session.Target.Host}/{storage.Repo}/-/blob/{commit}/{GitHostUrls.EscapeSegments(storage.Path)}";

        /// <summary>A 404's host message; a 404 that names the project (it does not exist) is StorageNotFound.</summary>
        private async Task<string> ProjectOrMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            var message = await session.HostMessageAsync(response, cancellationToken).ConfigureAwait(false);
            return message.Contains("Project", StringComparison.OrdinalIgnoreCase)
                ? throw session.NotFound("the project was not found", GitHostPart.Repository)
                : message;
        }
    }
}
