using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flowstore.StandIns;

/// <summary>
/// A stand-in for the GitHub REST API v3 endpoints Octokit calls for GitHub storage, served under <c>/api/v3</c>
/// as GitHub Enterprise Server serves them (Octokit appends /api/v3 to a base address that is not github.com).
/// It follows GitHub's documentation (https://docs.github.com/rest) for exactly these endpoints:
/// <list type="bullet">
/// <item><c>GET /repos/{owner}/{repo}</c>: the repository, with <c>default_branch</c> (the bare repository's HEAD).</item>
/// <item><c>GET /repos/{owner}/{repo}/commits/{ref}</c>: with <c>Accept: application/vnd.github.sha</c> the SHA as
///   text; else the commit as JSON with its diff (<c>files</c>, <c>stats</c>), 500 "this diff is taking too long to
///   generate" when it changes more than 3000 files; an unknown ref is 422 "No commit found for SHA"; an empty
///   repository 409 "Git Repository is empty.".</item>
/// <item><c>GET /repos/{owner}/{repo}/git/ref/{heads|tags/name}</c>: a reference object.</item>
/// <item><c>GET /repos/{owner}/{repo}/contents/{path}?ref=</c>: with <c>Accept: application/vnd.github.raw</c>
///   (or <c>.v3.raw</c>) the file's bytes (content type <c>application/vnd.github.v3.raw</c>: Octokit reads other
///   types as text); with <c>application/vnd.github.object</c> the content object (over 1 MB: <c>content</c> "" and
///   <c>encoding</c> "none"); else the content object (base64 <c>content</c>, blob <c>sha</c>), 403 "too_large" over
///   1 MB; a missing file or ref is 404, an empty repository 404 "This repository is empty.".</item>
/// <item><c>PUT /repos/{owner}/{repo}/contents/{path}</c>: create or update a file with <c>{message, content
///   (base64), branch?, sha?}</c>; 201 created / 200 updated with the new commit; updating without <c>sha</c> is
///   422, a stale <c>sha</c> 409; an unknown branch 404, except in an empty repository (the first file creates the
///   branch).</item>
/// </list>
/// Secondary rate limits: <c>POST /_standin/github/secondary-rate-limit</c> <c>{pathPrefix, status, count,
/// retryAfter?}</c> makes the next requests answer 403/429 with GitHub's message and no retry-after unless given.
/// Auth: <c>Authorization: token &lt;t&gt;</c> or <c>Bearer &lt;t&gt;</c>. A wrong token is 401 "Bad credentials" on
/// every endpoint; without a token a private repository is 404 (GitHub does not reveal it) and writes are 401
/// "Requires authentication". Repositories are private unless their bare repository folder holds a file named
/// <c>standin-public</c> (tests create it to get a public repository). Paths and refs arrive URL-escaped and are
/// decoded by routing.
/// </summary>
public static class GitHubApi
{
    /// <summary>The marker file in a bare repository that makes it public for the GitHub stand-in.</summary>
    public const string PublicMarker = "standin-public";

    private const string Prefix = "/api/v3/repos/{owner}/{repo}";

    /// <summary>The largest file the contents API serves in its JSON form (1 MB).</summary>
    public const int MaxJsonFileBytes = 1024 * 1024;

    /// <summary>The most files the JSON form of "Get a commit" lists; a commit changing more has a diff too large to generate here.</summary>
    public const int MaxDiffFiles = 3000;

    public static void MapGitHub(this WebApplication app, RepoStore store, StandInAuth auth)
    {
        // Test control: the next Count requests under PathPrefix hit a secondary rate limit, answered as GitHub does.
        app.MapPost("/_standin/github/secondary-rate-limit", async (HttpContext c) =>
        {
            var limit = await JsonSerializer.DeserializeAsync<SecondaryLimit>(c.Request.Body, new JsonSerializerOptions(JsonSerializerDefaults.Web));
            SecondaryLimits.Enqueue(limit ?? new SecondaryLimit());
            return Results.NoContent();
        });

        app.MapGet(Prefix, (HttpContext c, string owner, string repo) =>
            WithRepo(c, store, auth, owner, repo, write: false, dir => Results.Json(RepositoryJson(c, store, dir, owner, repo))));

        app.MapGet(Prefix + "/commits/{**reference}", (HttpContext c, string owner, string repo, string reference) =>
            WithRepo(c, store, auth, owner, repo, write: false, dir =>
            {
                if (IsEmpty(store, dir))
                {
                    // "Get a commit" lists 409 Conflict (https://docs.github.com/en/rest/commits/commits#get-a-commit); an
                    // empty repository answers it with this message
                    // (https://github.com/github/rest-api-description/issues/385).
                    return Error(409, "Git Repository is empty.");
                }
                var sha = store.ResolveCommit(dir, reference);
                if (sha is null)
                {
                    return Error(422, $"No commit found for SHA: {reference}");
                }
                if (Accepts(c, "application/vnd.github.v3.sha") || Accepts(c, "application/vnd.github.sha"))
                {
                    // The SHA media type: the commit's SHA as text, no diff computed
                    // (https://docs.github.com/en/rest/commits/commits#get-a-commit, "custom media types").
                    return Results.Text(sha, "application/vnd.github.v3.sha; charset=utf-8", Encoding.UTF8);
                }
                // The JSON form carries the commit's diff ("files", "stats"), listing at most 3000 files
                // (https://docs.github.com/en/rest/commits/commits#get-a-commit). Generating a large diff can fail with
                // 500 "Server Error: Sorry, this diff is taking too long to generate." (seen from the real API, e.g.
                // https://github.com/github-changelog-generator/github-changelog-generator/issues/920); the stand-in
                // gives that answer for a commit changing more files than GitHub lists.
                var changed = store.ChangedFiles(dir, sha);
                if (changed.Count > MaxDiffFiles)
                {
                    return Error(500, "Server Error: Sorry, this diff is taking too long to generate.");
                }
                var gitCommit = CommitJson(c, owner, repo, sha, null, null);
                var parent = store.ResolveCommit(dir, sha + "^");
                return Results.Json(new
                {
                    sha,
                    node_id = "C_" + sha,
                    commit = gitCommit,
                    url = $"{ApiBase(c)}/repos/{owner}/{repo}/commits/{sha}",
                    html_url = $"{WebBase(c)}/{owner}/{repo}/commit/{sha}",
                    parents = parent is null
                        ? Array.Empty<object>()
                        : new object[] { new { sha = parent, url = $"{ApiBase(c)}/repos/{owner}/{repo}/commits/{parent}" } },
                    stats = new { additions = changed.Sum(f => f.Additions), deletions = changed.Sum(f => f.Deletions), total = changed.Sum(f => f.Additions + f.Deletions) },
                    files = changed.Take(300).Select(f => new { filename = f.Path, additions = f.Additions, deletions = f.Deletions, changes = f.Additions + f.Deletions }),
                });
            }));

        app.MapGet(Prefix + "/git/ref/{**reference}", (HttpContext c, string owner, string repo, string reference) =>
            WithRepo(c, store, auth, owner, repo, write: false, dir =>
            {
                if (!(reference.StartsWith("heads/", StringComparison.Ordinal) || reference.StartsWith("tags/", StringComparison.Ordinal)))
                {
                    return Error(404, "Not Found");
                }
                var sha = store.ResolveCommit(dir, "refs/" + reference);
                return sha is null
                    ? Error(404, "Not Found")
                    : Results.Json(new
                    {
                        @ref = "refs/" + reference,
                        url = $"{ApiBase(c)}/repos/{owner}/{repo}/git/refs/{reference}",
                        @object = new { sha, type = "commit", url = $"{ApiBase(c)}/repos/{owner}/{repo}/git/commits/{sha}" },
                    });
            }));

        app.MapGet(Prefix + "/contents/{**path}", (HttpContext c, string owner, string repo, string path) =>
            WithRepo(c, store, auth, owner, repo, write: false, dir =>
            {
                var reference = c.Request.Query["ref"].ToString();
                if (IsEmpty(store, dir))
                {
                    return Error(404, "This repository is empty.");
                }
                var commit = store.ResolveCommit(dir, reference.Length == 0 ? "HEAD" : reference);
                if (commit is null)
                {
                    return Error(404, $"No commit found for the ref {reference}");
                }
                var blob = store.BlobSha(dir, commit, path);
                if (blob is null)
                {
                    return Error(404, "Not Found");
                }
                var bytes = store.ReadFile(dir, commit, path)!;
                // File size limits (https://docs.github.com/en/rest/repos/contents#get-repository-content): up to 1 MB
                // every media type; 1-100 MB only "raw" and "object" (the object's "content" is then "" and its
                // "encoding" "none"). The JSON form of a larger file is 403 "too_large" (GitHub's
                // answer, e.g. https://github.com/octokit/octokit.net/issues/3029).
                if (Accepts(c, "application/vnd.github.v3.raw") || Accepts(c, "application/vnd.github.raw") || Accepts(c, "application/vnd.github.raw+json"))
                {
                    return Results.Bytes(bytes, "application/vnd.github.v3.raw");
                }
                var large = bytes.Length > MaxJsonFileBytes;
                var branch = reference.Length == 0 ? store.DefaultBranch(dir) : reference;
                if (Accepts(c, "application/vnd.github.object") || Accepts(c, "application/vnd.github.object+json"))
                {
                    var node = ContentJson(c, owner, repo, path, blob, bytes, branch, includeContent: !large);
                    if (large)
                    {
                        node["content"] = "";
                        node["encoding"] = "none";
                    }
                    return Results.Json(node);
                }
                if (large)
                {
                    return Error(403,
                        "This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via the API, but you can use the Git Data API to request blobs up to 100 MB in size.",
                        new { resource = "Blob", field = "data", code = "too_large" });
                }
                return Results.Json(ContentJson(c, owner, repo, path, blob, bytes, branch, includeContent: true));
            }));

        app.MapPut(Prefix + "/contents/{**path}", async (HttpContext c, string owner, string repo, string path) =>
        {
            // GitHub accepts files up to 100 MB here (https://docs.github.com/en/rest/repos/contents#create-or-update-file-contents;
            // the blog post https://github.blog/changelog/2022-05-03-increased-file-size-limit-when-retrieving-file-contents-via-rest-api):
            // their base64 in JSON is more than Kestrel's default request size.
            if (c.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = 160L * 1024 * 1024;
            }
            JsonObject? body;
            try
            {
                body = await JsonSerializer.DeserializeAsync<JsonObject>(c.Request.Body);
            }
            catch (JsonException)
            {
                return Error(400, "Problems parsing JSON");
            }
            return await WithRepoAsync(c, store, auth, owner, repo, write: true, async dir =>
            {
                var message = body?["message"]?.GetValue<string>();
                var content = body?["content"]?.GetValue<string>();
                if (string.IsNullOrEmpty(message) || content is null)
                {
                    return Error(422, "Invalid request.\n\n\"message\" and \"content\" are required.");
                }
                byte[] bytes;
                try
                {
                    bytes = Convert.FromBase64String(content);
                }
                catch (FormatException)
                {
                    return Error(422, "content is not valid Base64");
                }
                var defaultBranch = store.DefaultBranch(dir);
                var branch = body?["branch"]?.GetValue<string>() is { Length: > 0 } b ? b : defaultBranch;
                var head = store.ResolveCommit(dir, "refs/heads/" + branch);
                // An empty repository takes the first file on any branch name (it becomes the repository's first branch).
                var empty = IsEmpty(store, dir);
                if (head is null && !empty)
                {
                    return Error(404, $"Branch {branch} not found");
                }
                var current = head is null ? null : store.BlobSha(dir, head, path);
                var sha = body?["sha"]?.GetValue<string>();
                if (current is not null && string.IsNullOrEmpty(sha))
                {
                    return Error(422, "Invalid request.\n\n\"sha\" wasn't supplied.");
                }
                if (!string.IsNullOrEmpty(sha) && !string.Equals(sha, current, StringComparison.OrdinalIgnoreCase))
                {
                    return Error(409, $"{path} does not match {sha}");
                }
                var author = body?["committer"] ?? body?["author"];
                var result = await store.CommitFileAsync(dir, branch, path, bytes, message,
                    author?["name"]?.GetValue<string>() ?? "Stand-in User", author?["email"]?.GetValue<string>() ?? "standin@example.invalid",
                    expectedParent: head);
                if (result is null)
                {
                    // The branch moved between the check and the commit.
                    return Error(409, $"{path} does not match {sha}");
                }
                var response = new
                {
                    content = ContentJson(c, owner, repo, path, result.Blob, bytes, branch, includeContent: false),
                    commit = CommitJson(c, owner, repo, result.Commit, result, message),
                };
                return Results.Json(response, statusCode: current is null ? 201 : 200);
            });
        });
    }

    // ---------------------------------------------------------------- auth and repository lookup

    private static IResult WithRepo(HttpContext c, RepoStore store, StandInAuth auth, string owner, string repo, bool write, Func<string, IResult> handler)
        => WithRepoAsync(c, store, auth, owner, repo, write, dir => Task.FromResult(handler(dir))).GetAwaiter().GetResult();

    private static async Task<IResult> WithRepoAsync(HttpContext c, RepoStore store, StandInAuth auth, string owner, string repo, bool write,
        Func<string, Task<IResult>> handler)
    {
        AddRateLimitHeaders(c);
        if (TakeSecondaryLimit(c.Request.Path.Value ?? "/") is { } limit)
        {
            return SecondaryLimitAnswer(c, limit);
        }
        var presented = StandInAuth.FromAuthorization(c.Request, "token", "Bearer");
        var hasAuthorization = c.Request.Headers.ContainsKey("Authorization");
        if (hasAuthorization && !auth.Accepts(presented))
        {
            return Error(401, "Bad credentials");
        }
        var authenticated = hasAuthorization;
        var dir = store.Find(owner + "/" + repo);
        var visible = dir is not null && (authenticated || File.Exists(Path.Combine(dir, PublicMarker)));
        if (!visible)
        {
            return Error(404, "Not Found");
        }
        if (write && !authenticated)
        {
            return Error(401, "Requires authentication");
        }
        return await handler(dir!);
    }

    /// <summary>A secondary rate limit for the next <see cref="Count"/> requests under <see cref="PathPrefix"/>.</summary>
    public sealed class SecondaryLimit
    {
        public string PathPrefix { get; set; } = "/";
        public int Status { get; set; } = 403;
        public int Count { get; set; } = 1;

        /// <summary>Seconds for the retry-after header; none when null (GitHub does not always send it).</summary>
        public int? RetryAfter { get; set; }
    }

    private static readonly System.Collections.Concurrent.ConcurrentQueue<SecondaryLimit> SecondaryLimits = new();

    private static SecondaryLimit? TakeSecondaryLimit(string path)
    {
        lock (SecondaryLimits)
        {
            var limit = SecondaryLimits.FirstOrDefault(l => l.Count > 0 && path.StartsWith(l.PathPrefix, StringComparison.Ordinal));
            if (limit is not null)
            {
                limit.Count--;
            }
            return limit;
        }
    }

    /// <summary>
    /// A secondary rate limit as GitHub answers it
    /// (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit): 403 or
    /// 429 with a message saying that a secondary rate limit was exceeded; retry-after may be present; the primary
    /// limit's headers stay as they are (x-ratelimit-remaining is not 0).
    /// </summary>
    private static IResult SecondaryLimitAnswer(HttpContext c, SecondaryLimit limit)
    {
        if (limit.RetryAfter is { } seconds)
        {
            c.Response.Headers["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture);
        }
        return Results.Json(new
        {
            message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
            documentation_url = "https://docs.github.com/free-pro-team@latest/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        }, statusCode: limit.Status);
    }

    private static void AddRateLimitHeaders(HttpContext c)
    {
        // GitHub sends these on every response; the fault injector replaces them to simulate an exhausted limit.
        c.Response.Headers["X-RateLimit-Limit"] = "5000";
        c.Response.Headers["X-RateLimit-Remaining"] = "4999";
        c.Response.Headers["X-RateLimit-Reset"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        c.Response.Headers["X-RateLimit-Resource"] = "core";
    }

    private static bool Accepts(HttpContext c, string mediaType)
        => c.Request.Headers.Accept.Any(value => value is not null && value.Split(',').Any(part =>
            part.Split(';')[0].Trim().Equals(mediaType, StringComparison.OrdinalIgnoreCase)));

    private static IResult Error(int status, string message)
        => Results.Json(new { message, documentation_url = "https://docs.github.com/rest" }, statusCode: status);

    private static IResult Error(int status, string message, object error)
        => Results.Json(new { message, errors = new[] { error }, documentation_url = "https://docs.github.com/rest" }, statusCode: status);

    /// <summary>A repository without commits (GitHub's "empty repository").</summary>
    private static bool IsEmpty(RepoStore store, string dir) => store.ResolveCommit(dir, "HEAD") is null && store.Branches(dir).Count == 0;

    private static string ApiBase(HttpContext c) => $"{c.Request.Scheme}://{c.Request.Host}/api/v3";

    private static string WebBase(HttpContext c) => $"{c.Request.Scheme}://{c.Request.Host}";

    // ---------------------------------------------------------------- resources

    private static object RepositoryJson(HttpContext c, RepoStore store, string dir, string owner, string repo)
    {
        var isPrivate = !File.Exists(Path.Combine(dir, PublicMarker));
        var id = StableId(owner + "/" + repo);
        return new
        {
            id,
            node_id = "R_" + id.ToString(CultureInfo.InvariantCulture),
            name = repo,
            full_name = owner + "/" + repo,
            @private = isPrivate,
            visibility = isPrivate ? "private" : "public",
            owner = new { login = owner, id = StableId(owner), type = "Organization", url = $"{ApiBase(c)}/users/{owner}" },
            html_url = $"{WebBase(c)}/{owner}/{repo}",
            url = $"{ApiBase(c)}/repos/{owner}/{repo}",
            clone_url = $"{WebBase(c)}/{owner}/{repo}.git",
            default_branch = store.DefaultBranch(dir),
            fork = false,
            archived = false,
            disabled = false,
            permissions = new { admin = false, push = true, pull = true },
        };
    }

    private static JsonObject ContentJson(HttpContext c, string owner, string repo, string path, string blob, byte[] bytes, string reference, bool includeContent)
    {
        var escaped = string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        var self = $"{ApiBase(c)}/repos/{owner}/{repo}/contents/{escaped}?ref={Uri.EscapeDataString(reference)}";
        var html = $"{WebBase(c)}/{owner}/{repo}/blob/{reference}/{escaped}";
        var git = $"{ApiBase(c)}/repos/{owner}/{repo}/git/blobs/{blob}";
        var node = new JsonObject
        {
            ["type"] = "file",
            ["encoding"] = "base64",
            ["size"] = bytes.Length,
            ["name"] = path.Split('/')[^1],
            ["path"] = path,
            ["sha"] = blob,
            ["url"] = self,
            ["git_url"] = git,
            ["html_url"] = html,
            ["download_url"] = $"{WebBase(c)}/raw/{owner}/{repo}/{reference}/{escaped}",
            ["_links"] = new JsonObject { ["self"] = self, ["git"] = git, ["html"] = html },
        };
        if (includeContent)
        {
            // GitHub wraps the base64 text at 60 characters.
            var base64 = Convert.ToBase64String(bytes);
            node["content"] = string.Join('\n', base64.Chunk(60).Select(chunk => new string(chunk))) + "\n";
        }
        else
        {
            node.Remove("encoding");
        }
        return node;
    }

    private static object CommitJson(HttpContext c, string owner, string repo, string sha, RepoStore.CommitResult? result, string? message)
    {
        var date = (result?.Date ?? DateTimeOffset.UtcNow).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var person = new { name = "Stand-in User", email = "standin@example.invalid", date };
        return new
        {
            sha,
            node_id = "C_" + sha,
            url = $"{ApiBase(c)}/repos/{owner}/{repo}/git/commits/{sha}",
            html_url = $"{WebBase(c)}/{owner}/{repo}/commit/{sha}",
            author = person,
            committer = person,
            message = message ?? "",
            tree = new { sha = result?.Tree ?? "", url = $"{ApiBase(c)}/repos/{owner}/{repo}/git/trees/{result?.Tree}" },
            parents = result?.Parent is { } parent
                ? new[] { new { sha = parent, url = $"{ApiBase(c)}/repos/{owner}/{repo}/git/commits/{parent}", html_url = $"{WebBase(c)}/{owner}/{repo}/commit/{parent}" } }
                : Array.Empty<object>(),
        };
    }

    private static long StableId(string name) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(name)), 0) & 0x7fffffff;
}
