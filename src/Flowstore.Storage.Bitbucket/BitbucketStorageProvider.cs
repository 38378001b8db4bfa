using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.Bitbucket;

/// <summary>
/// Bitbucket Server / Data Center storage through the REST API 1.0, under
/// /rest/api/1.0/projects/{key}/repos/{slug}: GET default-branch (the configured name only), GET
/// commits?until={ref}&amp;limit=1 (ref to SHA, the default branch's head too), GET raw/{path}?at={sha} (the script),
/// PUT browse/{path} (the file edit API, multipart) to publish, and POST branches (a new branch whose start already
/// has the content). The token (an HTTP access token) goes in Authorization: Bearer.
/// </summary>
public sealed class BitbucketStorageProvider : GitHostStorageProvider<BitbucketStorage>
{
    public BitbucketStorageProvider()
        : this(GitHostHttpOptions.Default)
    {
    }

    internal BitbucketStorageProvider(GitHostHttpOptions options)
        : base("Bitbucket", "Bitbucket Server", options)
    {
    }

    protected override string DefaultTokenSecret => GitHostTokens.BitbucketDefault;

    /// <summary>Multipart requests need this header to pass Bitbucket's XSRF check.</summary>
    protected override IReadOnlyDictionary<string, string> ContentHeaders { get; } = new Dictionary<string, string> { ["X-Atlassian-Token"] = "no-check" };

    protected override GitHostAdvice Advice { get; } = new(
        "Check the project key and repository slug; if the repository is private, the storage needs an access token secret.",
        secret => $"Check the project key and repository slug, and that the token in secret '{secret}' can read the repository.")
    {
        Refused = Refused,
    };

    /// <summary>
    /// What Bitbucket's 401 and 403 mean (Data Center REST API, editFile: "401 The currently authenticated user does not
    /// have write permission for the given repository"; "403 The request was authenticated using a project or repository
    /// access token, which does not have a valid user associated with it"; reads: 401 for a token refused or without
    /// read permission).
    /// </summary>
    private static string? Refused(GitHostRefusal refusal, string? secret) => secret is null ? null : refusal switch
    {
        { Status: 401, Write: true, Code: var code } when code?.Contains("Authentication", StringComparison.Ordinal) != true =>
            $"The token in secret '{secret}' has no write permission for the repository: publishing needs an HTTP access token with " +
            "Repository write permission (a personal token of a user who can write to the repository).",
        { Status: 403, Write: true } =>
            $"The token in secret '{secret}' is a project or repository access token, and Bitbucket Server lets no such token edit files " +
            "(there is no user behind it to author the commit): publishing needs a personal HTTP access token with Repository write " +
            "permission; project and repository tokens with Repository read can run flows.",
        { Status: 401 } =>
            $"The token in secret '{secret}' was refused or cannot read the repository: check that it is valid and not expired and that it " +
            "has at least Repository read permission.",
        _ => null,
    };

    protected override BitbucketStorage CompleteNames(BitbucketStorage settings) => settings with { Project = settings.Project.Trim(), Repo = settings.Repo.Trim() };

    protected override GitHostTarget Target(BitbucketStorage settings, string reference)
        => new(Service, settings.Host!, $"{settings.Project}/{settings.Repo}", settings.Path, reference, settings.AccessTokenSecret);

    protected override IGitHostApi CreateApi(BitbucketStorage settings, GitHostSession session) => new Api(settings, session);

    /// <summary>Bitbucket Server's REST calls for one operation.</summary>
    private sealed class Api(BitbucketStorage storage, GitHostSession session) : IGitHostApi
    {
        private readonly string _repo =
            $"{session.Target.Host}/rest/api/1.0/projects/{Uri.EscapeDataString(storage.Project)}/repos/{Uri.EscapeDataString(storage.Repo)}";

        public GitHostSession Session => session;

        public string Label => $"Bitbucket repository {storage.Project}/{storage.Repo}";

        /// <summary>
        /// GET default-branch: the configured default branch, a minimal ref (id, displayId, type: no commit; Bitbucket Data
        /// Center REST API, getDefaultBranch_2), also in an empty repository; then its head through the commits list.
        /// </summary>
        public async Task<GitHostBranch?> DefaultBranchAsync(bool required, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Get, $"{_repo}/default-branch", "reading the default branch", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                var message = await RepositoryOrMessageAsync(response, cancellationToken).ConfigureAwait(false);
                return required
                    ? throw session.NotFound($"the repository has no default branch (it is empty){Suffix(message)}; push the flow file first", GitHostPart.Repository)
                    : null;
            }
            session.EnsureSuccess(response, "reading the default branch");
            var json = await session.ReadJsonAsync(response, "reading the default branch", cancellationToken).ConfigureAwait(false);
            var name = json.TryGetProperty("displayId", out var display) && display.ValueKind == JsonValueKind.String ? display.GetString()
                : json.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()!.Replace("refs/heads/", "", StringComparison.Ordinal)
                : null;
            if (string.IsNullOrEmpty(name))
            {
                return required
                    ? throw session.NotFound("Bitbucket Server named no default branch for the repository; set the storage's ref", GitHostPart.Ref)
                    : null;
            }
            var head = await ResolveAsync("refs/heads/" + name, pinned: false, optional: true, cancellationToken).ConfigureAwait(false);
            return new GitHostBranch(name, head, Exists: head is not null);
        }

        public async Task<string> ResolveCommitAsync(string reference, bool pinned, CancellationToken cancellationToken)
            => (await ResolveAsync(reference, pinned, optional: false, cancellationToken).ConfigureAwait(false))!;

        public Task<string?> BranchHeadAsync(string branch, CancellationToken cancellationToken)
            => ResolveAsync("refs/heads/" + branch, pinned: false, optional: true, cancellationToken);

        public async Task<byte[]> ReadFileAsync(string commit, CancellationToken cancellationToken)
            => (await ReadRawAsync(commit, optional: false, cancellationToken).ConfigureAwait(false))!;

        public async Task<GitHostFile?> ReadExistingFileAsync(string commit, CancellationToken cancellationToken)
            => await ReadRawAsync(commit, optional: true, cancellationToken).ConfigureAwait(false) is { } bytes ? new GitHostFile(bytes, null) : null;

        /// <summary>PUT browse/{path} (multipart): the edit follows sourceCommitId; a new branch starts at sourceBranch.</summary>
        public async Task<string> CommitFileAsync(GitHostCommit commit, CancellationToken cancellationToken)
        {
            var fileName = storage.Path.Split('/')[^1];
            using var response = await session.SendAsync(HttpMethod.Put, $"{_repo}/browse/{GitHostUrls.EscapeSegments(storage.Path)}",
                $"committing {storage.Path} to branch '{commit.Branch}'", cancellationToken, () =>
                {
                    var form = new MultipartFormDataContent();
                    var file = new ByteArrayContent(commit.Content);
                    file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    form.Add(file, "content", fileName);
                    form.Add(new StringContent(commit.Message), "message");
                    form.Add(new StringContent(commit.Branch), "branch");
                    if (commit.Existing is not null && commit.BaseCommit is not null)
                    {
                        form.Add(new StringContent(commit.BaseCommit), "sourceCommitId");
                    }
                    if (commit.Head is null && commit.StartBranch is not null)
                    {
                        form.Add(new StringContent(commit.StartBranch), "sourceBranch");
                    }
                    return form;
                }).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var (exception, text) = await ErrorOfAsync(response, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound && IsMissingRepository(exception))
                {
                    throw MissingRepository(exception, text);
                }
                var error = text.Length > 0 ? ": " + text : "";
                throw session.Error(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"Bitbucket Server refused the commit of {storage.Path} to branch '{commit.Branch}' of repository {storage.Project}/{storage.Repo} on {session.Target.Host} " +
                    $"({(int)response.StatusCode}{error}). If the file changed meanwhile, publish again.");
            }
            var json = await session.ReadJsonAsync(response, "committing", cancellationToken).ConfigureAwait(false);
            return json.GetProperty("id").GetString()!;
        }

        /// <summary>POST branches {name, startPoint}: the branch at a commit (needs write permission, as a file edit does).</summary>
        public async Task<bool> CreateBranchAsync(string branch, string commit, CancellationToken cancellationToken)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new { name = branch, startPoint = commit });
            using var response = await session.SendAsync(HttpMethod.Post, $"{_repo}/branches", $"creating branch '{branch}' at {commit}", cancellationToken, () =>
            {
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                return content;
            }).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var (exception, text) = await ErrorOfAsync(response, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound && IsMissingRepository(exception))
                {
                    throw MissingRepository(exception, text);
                }
                throw session.Error(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"Bitbucket Server refused to create branch '{branch}' at {commit} in repository {storage.Project}/{storage.Repo} on {session.Target.Host} " +
                    $"({(int)response.StatusCode}{(text.Length > 0 ? ": " + text : "")}). If the branch was created meanwhile, publish again.");
            }
            return true;
        }

        public string WebUrl(string commit)
            => $"{session.Target.Host}/projects/{Uri.EscapeDataString(storage.Project)}/repos/{Uri.EscapeDataString(storage.Repo)}/browse/{GitHostUrls.EscapeSegments(storage.Path)}?at={commit}";

        /// <summary>GET commits?until={ref}&amp;limit=1: the commit a branch, tag or SHA names; null when optional and missing.</summary>
        private async Task<string?> ResolveAsync(string reference, bool pinned, bool optional, CancellationToken cancellationToken)
        {
            using var response = await session.SendAsync(HttpMethod.Get, $"{_repo}/commits?until={Uri.EscapeDataString(reference)}&limit=1",
                $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                var message = await RepositoryOrMessageAsync(response, cancellationToken).ConfigureAwait(false);
                return optional ? null
                    : pinned ? throw session.PinnedCommitGone(Label, reference, Suffix(message))
                    : throw session.NotFound($"the ref '{reference}' is not a branch, tag or commit of the repository{Suffix(message)}", GitHostPart.Ref);
            }
            session.EnsureSuccess(response, $"resolving ref '{reference}'");
            var json = await session.ReadJsonAsync(response, $"resolving ref '{reference}'", cancellationToken).ConfigureAwait(false);
            var values = json.GetProperty("values");
            if (values.GetArrayLength() == 0)
            {
                return optional ? null : throw session.NotFound($"the ref '{reference}' names no commit", GitHostPart.Ref);
            }
            return values[0].GetProperty("id").GetString();
        }

        /// <summary>GET raw/{path}?at={sha}: the file's bytes; null when optional and missing.</summary>
        private async Task<byte[]?> ReadRawAsync(string commit, bool optional, CancellationToken cancellationToken)
        {
            var path = storage.Path;
            using var response = await session.SendAsync(HttpMethod.Get, $"{_repo}/raw/{GitHostUrls.EscapeSegments(path)}?at={Uri.EscapeDataString(commit)}",
                $"reading {path} at {commit}", cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                var message = await RepositoryOrMessageAsync(response, cancellationToken).ConfigureAwait(false);
                return optional ? null : throw session.NotFound($"the file does not exist at commit {commit}{Suffix(message)}", GitHostPart.Path);
            }
            session.EnsureSuccess(response, "reading the file");
            return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }

        /// <summary>A 404's message; a 404 for a missing project or repository is StorageNotFound.</summary>
        private async Task<string> RepositoryOrMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            var (exception, message) = await ErrorOfAsync(response, cancellationToken).ConfigureAwait(false);
            return IsMissingRepository(exception) ? throw MissingRepository(exception, message) : message;
        }

        private FlowstoreException MissingRepository(string exception, string message)
            => session.NotFound(message.Length > 0 ? message
                : exception.Contains("Project", StringComparison.Ordinal) ? "the project was not found" : "the repository was not found", GitHostPart.Repository);

        /// <summary>The exceptionName and message of a Bitbucket error body {"errors":[{"message","exceptionName"}]}.</summary>
        private async Task<(string Exception, string Message)> ErrorOfAsync(HttpResponseMessage response, CancellationToken cancellationToken)
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
                    return (exception, session.Redact(message));
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
    }
}
