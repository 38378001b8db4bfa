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
/// <item><c>GET /repos/{owner}/{repo}/commits/{ref}</c>: the commit (JSON; its <c>sha</c> resolves a branch, tag or
///   SHA), or with <c>Accept: application/vnd.github.sha</c> the SHA as text; an unknown ref is 422 "No commit found for SHA".</item>
/// <item><c>GET /repos/{owner}/{repo}/git/ref/{heads|tags/name}</c>: a reference object.</item>
/// <item><c>GET /repos/{owner}/{repo}/contents/{path}?ref=</c>: with <c>Accept: application/vnd.github.v3.raw</c>
///   the file's bytes (content type <c>application/vnd.github.v3.raw</c>: Octokit reads other types as text), else
///   the content object (base64 <c>content</c>, blob <c>sha</c>); a missing file or ref is 404.</item>
/// <item><c>PUT /repos/{owner}/{repo}/contents/{path}</c>: create or update a file with <c>{message, content
///   (base64), branch?, sha?}</c>; 201 created / 200 updated with the new commit; updating without <c>sha</c> is
///   422, a stale <c>sha</c> 409; an unknown branch 404.</item>
/// </list>
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

    public static void MapGitHub(this WebApplication app, RepoStore store, StandInAuth auth)
    {
        app.MapGet(Prefix, (HttpContext c, string owner, string repo) =>
            WithRepo(c, store, auth, owner, repo, write: false, dir => Results.Json(RepositoryJson(c, store, dir, owner, repo))));

        app.MapGet(Prefix + "/commits/{**reference}", (HttpContext c, string owner, string repo, string reference) =>
            WithRepo(c, store, auth, owner, repo, write: false, dir =>
            {
                var sha = store.ResolveCommit(dir, reference);
                if (sha is null)
                {
                    return Error(422, $"No commit found for SHA: {reference}");
                }
                if (Accepts(c, "application/vnd.github.v3.sha") || Accepts(c, "application/vnd.github.sha"))
                {
                    return Results.Text(sha, "application/vnd.github.v3.sha; charset=utf-8", Encoding.UTF8);
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
                string? commit;
                if (reference.Length == 0)
                {
                    commit = store.ResolveCommit(dir, "HEAD");
                    if (commit is null)
                    {
                        return Error(404, "This repository is empty.");
                    }
                }
                else
                {
                    commit = store.ResolveCommit(dir, reference);
                    if (commit is null)
                    {
                        return Error(404, $"No commit found for the ref {reference}");
                    }
                }
                var blob = store.BlobSha(dir, commit, path);
                if (blob is null)
                {
                    return Error(404, "Not Found");
                }
                var bytes = store.ReadFile(dir, commit, path)!;
                if (Accepts(c, "application/vnd.github.v3.raw") || Accepts(c, "application/vnd.github.raw"))
                {
                    return Results.Bytes(bytes, "application/vnd.github.v3.raw");
                }
                return Results.Json(ContentJson(c, owner, repo, path, blob, bytes, reference.Length == 0 ? store.DefaultBranch(dir) : reference, includeContent: true));
            }));

        app.MapPut(Prefix + "/contents/{**path}", async (HttpContext c, string owner, string repo, string path) =>
        {
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
                var empty = store.ResolveCommit(dir, "HEAD") is null && store.Branches(dir).Count == 0;
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

    private static object ContentJson(HttpContext c, string owner, string repo, string path, string blob, byte[] bytes, string reference, bool includeContent)
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
