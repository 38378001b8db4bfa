using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;

namespace Flowstore.StandIns;

/// <summary>
/// The GitLab REST API v4 endpoints GitLab storage calls (under /api/v4), with GitLab's documented shapes:
/// <list type="bullet">
/// <item>GET /projects/:id - the project (id, path_with_namespace, default_branch, visibility, ...)</item>
/// <item>GET /projects/:id/repository/commits/:sha - a commit by branch, tag or SHA</item>
/// <item>GET /projects/:id/repository/branches/:branch - a branch and its head commit</item>
/// <item>GET|HEAD /projects/:id/repository/files/:file_path?ref= - file metadata and base64 content</item>
/// <item>GET /projects/:id/repository/files/:file_path/raw[?ref=] - the raw file (ref defaults to HEAD)</item>
/// <item>POST /projects/:id/repository/commits - one create/update action (branch, commit_message, start_branch/start_sha, last_commit_id)</item>
/// <item>POST /projects/:id/repository/branches?branch=&amp;ref= - a new branch at a branch, tag or commit</item>
/// </list>
/// :id is a numeric id or the URL-encoded full path ("group%2Fproject"); :file_path and :sha are URL-encoded
/// (slashes as %2F), as GitLab requires. Tokens: PRIVATE-TOKEN or Authorization: Bearer. A wrong token is 401
/// {"message":"401 Unauthorized"}; a private project (the default; a file named <c>standin-public</c> in the bare
/// repository makes it public) is 404 {"message":"404 Project Not Found"} without a token; writing needs a token. Token
/// scopes (<see cref="StandInAuth.TokenGrant"/>) are enforced as GitLab does (403 insufficient_scope).
/// Numeric ids are assigned on first sight and kept in <c>gitlab-project-ids.tsv</c> in the repositories' root.
/// </summary>
public static class GitLabApi
{
    private static readonly object IdLock = new();

    public static void MapGitLab(this WebApplication app, RepoStore store, StandInAuth auth)
    {
        app.Map("/api/v4/{**rest}", (Delegate)((HttpContext context) => HandleAsync(context, store, auth)));
    }

    private static async Task<IResult> HandleAsync(HttpContext context, RepoStore store, StandInAuth auth)
    {
        var request = context.Request;
        // The raw target keeps %2F inside a segment apart from the separating slashes, as GitLab's router does.
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "";
        var pathPart = raw.Split('?', 2)[0];
        var segments = pathPart["/api/v4/".Length..].Split('/').Select(Uri.UnescapeDataString).ToArray();

        var presented = request.Headers.TryGetValue("PRIVATE-TOKEN", out var privateToken) ? privateToken.ToString()
            : StandInAuth.FromAuthorization(request, "Bearer");
        var grant = auth.Grant(presented);
        if (presented is not null && grant is null)
        {
            return Message(401, "401 Unauthorized");
        }
        var authenticated = presented is not null;
        if (grant is not null && InsufficientScope(grant, segments, request.Method) is { } refused)
        {
            return refused;
        }

        if (segments.Length < 2 || segments[0] != "projects")
        {
            return Message(404, "404 Not Found");
        }
        var project = FindProject(store, segments[1]);
        if (project is null || (!project.Public && !authenticated))
        {
            return Message(404, "404 Project Not Found");
        }
        var rest = segments[2..];
        var method = request.Method;
        var baseUrl = $"{request.Scheme}://{request.Host}";

        switch (rest)
        {
            case [] when method == "GET":
                return Results.Json(ProjectJson(store, project, baseUrl));
            case ["repository", "commits", var sha] when method == "GET":
            {
                var commit = store.GetCommit(project.Dir, sha);
                return commit is null ? Message(404, "404 Commit Not Found") : Results.Json(CommitJson(commit, project, baseUrl));
            }
            case ["repository", "commits"] when method == "POST":
                if (!authenticated)
                {
                    return Message(401, "401 Unauthorized");
                }
                return await CreateCommitAsync(request, store, project, baseUrl);
            case ["repository", "branches"] when method == "POST":
            {
                if (!authenticated)
                {
                    return Message(401, "401 Unauthorized");
                }
                // Branches API, "Create repository branch": branch and ref (a branch name or commit SHA) are required;
                // 201 with the branch, 400 {"message":"Branch already exists"} / {"message":"Invalid reference name: ..."}.
                var name = request.Query["branch"].ToString();
                var from = request.Query["ref"].ToString();
                if (name.Length == 0 || from.Length == 0)
                {
                    return Results.Json(new { error = name.Length == 0 ? "branch is missing" : "ref is missing" }, statusCode: 400);
                }
                if (store.IsBranch(project.Dir, name))
                {
                    return Message(400, "Branch already exists");
                }
                var start = store.ResolveCommit(project.Dir, from);
                if (start is null)
                {
                    return Message(400, $"Invalid reference name: {from}");
                }
                store.CreateBranch(project.Dir, name, start);
                return Results.Json(new JsonObject
                {
                    ["name"] = name,
                    ["commit"] = CommitJson(store.GetCommit(project.Dir, start)!, project, baseUrl),
                    ["merged"] = false,
                    ["protected"] = false,
                    ["default"] = false,
                    ["can_push"] = true,
                    ["web_url"] = $"{baseUrl}/{project.FullName}/-/tree/{name}",
                }, statusCode: 201);
            }
            case ["repository", "branches", var branch] when method == "GET":
            {
                var head = store.IsBranch(project.Dir, branch) ? store.GetCommit(project.Dir, "refs/heads/" + branch) : null;
                if (head is null)
                {
                    return Message(404, "404 Branch Not Found");
                }
                return Results.Json(new JsonObject
                {
                    ["name"] = branch,
                    ["commit"] = CommitJson(head, project, baseUrl),
                    ["merged"] = false,
                    ["protected"] = false,
                    ["developers_can_push"] = true,
                    ["developers_can_merge"] = true,
                    ["can_push"] = authenticated,
                    ["default"] = branch == store.DefaultBranch(project.Dir),
                    ["web_url"] = $"{baseUrl}/{project.FullName}/-/tree/{branch}",
                });
            }
            case ["repository", "files", var filePath, "raw"] when method is "GET" or "HEAD":
                return ServeFile(context, store, project, filePath, request.Query["ref"].ToString() is { Length: > 0 } r ? r : "HEAD", raw: true);
            case ["repository", "files", var filePath] when method is "GET" or "HEAD":
            {
                var reference = request.Query["ref"].ToString();
                if (reference.Length == 0)
                {
                    return Results.Json(new { error = "ref is missing" }, statusCode: 400);
                }
                return ServeFile(context, store, project, filePath, reference, raw: false);
            }
            default:
                return Message(404, "404 Not Found");
        }
    }

    /// <summary>
    /// GitLab checks a token's scopes before anything else (lib/api/api_guard.rb): every endpoint accepts api, and
    /// read_api for GET and HEAD (lib/api/api.rb); the repository files endpoints also accept read_repository for GET and
    /// HEAD (lib/api/files.rb: "allow_access_with_scope :read_repository, if: ->(request) { request.get? || request.head? }").
    /// Too narrow a scope is 403 with rack-oauth2's Bearer::Forbidden body {"error":"insufficient_scope",
    /// "error_description":"The request requires higher privileges than provided by the access token.","scope":"..."},
    /// scope naming every scope registered for the endpoint (Gitlab::Auth::InsufficientScopeError#scopes).
    /// </summary>
    private static IResult? InsufficientScope(StandInAuth.TokenGrant grant, string[] segments, string method)
    {
        var read = method is "GET" or "HEAD";
        var files = segments.Length >= 5 && segments[0] == "projects" && segments[2] == "repository" && segments[3] == "files";
        var allowed = new List<string> { "api" };
        if (read)
        {
            allowed.Add("read_api");
            if (files)
            {
                allowed.Add("read_repository");
            }
        }
        if (grant.HasScope([.. allowed]))
        {
            return null;
        }
        var registered = files ? "read_repository api read_api" : "api read_api";
        return Results.Json(new JsonObject
        {
            ["error"] = "insufficient_scope",
            ["error_description"] = "The request requires higher privileges than provided by the access token.",
            ["scope"] = registered,
        }, statusCode: 403);
    }

    private sealed record Project(int Id, string FullName, string Dir, bool Public);

    private static Project? FindProject(RepoStore store, string id)
    {
        lock (IdLock)
        {
            var map = ReadIds(store);
            string? fullName = int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                ? map.FirstOrDefault(p => p.Value == number).Key
                : id;
            var dir = fullName is null ? null : store.Find(fullName);
            if (fullName is null || dir is null)
            {
                return null;
            }
            if (!map.TryGetValue(fullName, out var projectId))
            {
                projectId = map.Count == 0 ? 1 : map.Values.Max() + 1;
                File.AppendAllText(IdFile(store), $"{projectId}\t{fullName}\n");
            }
            return new Project(projectId, fullName, dir, File.Exists(Path.Combine(dir, "standin-public")));
        }
    }

    private static string IdFile(RepoStore store) => Path.Combine(store.Root, "gitlab-project-ids.tsv");

    private static Dictionary<string, int> ReadIds(RepoStore store)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        if (File.Exists(IdFile(store)))
        {
            foreach (var line in File.ReadAllLines(IdFile(store)))
            {
                var parts = line.Split('\t');
                if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var n))
                {
                    map[parts[1]] = n;
                }
            }
        }
        return map;
    }

    private static IResult ServeFile(HttpContext context, RepoStore store, Project project, string filePath, string reference, bool raw)
    {
        var commit = store.ResolveCommit(project.Dir, reference);
        if (commit is null)
        {
            return Message(404, "404 Commit Not Found");
        }
        var blob = store.BlobSha(project.Dir, commit, filePath);
        var bytes = blob is null ? null : store.ReadFile(project.Dir, commit, filePath);
        if (blob is null || bytes is null)
        {
            return Message(404, "404 File Not Found");
        }
        var last = store.LastCommitTouching(project.Dir, commit, filePath) ?? commit;
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var headers = context.Response.Headers;
        headers["X-Gitlab-Blob-Id"] = blob;
        headers["X-Gitlab-Commit-Id"] = commit;
        headers["X-Gitlab-Content-Sha256"] = sha256;
        headers["X-Gitlab-Encoding"] = "base64";
        headers["X-Gitlab-File-Name"] = Path.GetFileName(filePath);
        headers["X-Gitlab-File-Path"] = filePath;
        headers["X-Gitlab-Last-Commit-Id"] = last;
        headers["X-Gitlab-Ref"] = reference;
        headers["X-Gitlab-Size"] = bytes.Length.ToString(CultureInfo.InvariantCulture);
        if (raw)
        {
            return Results.Bytes(bytes, "text/plain; charset=utf-8");
        }
        return Results.Json(new JsonObject
        {
            ["file_name"] = Path.GetFileName(filePath),
            ["file_path"] = filePath,
            ["size"] = bytes.Length,
            ["encoding"] = "base64",
            ["content_sha256"] = sha256,
            ["ref"] = reference,
            ["blob_id"] = blob,
            ["commit_id"] = commit,
            ["last_commit_id"] = last,
            ["execute_filemode"] = false,
            ["content"] = Convert.ToBase64String(bytes),
        });
    }

    private static async Task<IResult> CreateCommitAsync(HttpRequest request, RepoStore store, Project project, string baseUrl)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body);
        }
        catch (JsonException)
        {
            return Results.Json(new { error = "The request body is not valid JSON" }, statusCode: 400);
        }
        var branch = body?["branch"]?.GetValue<string>();
        var message = body?["commit_message"]?.GetValue<string>();
        var actions = body?["actions"] as JsonArray;
        if (string.IsNullOrEmpty(branch))
        {
            return Results.Json(new { error = "branch is missing" }, statusCode: 400);
        }
        if (string.IsNullOrEmpty(message))
        {
            return Results.Json(new { error = "commit_message is missing" }, statusCode: 400);
        }
        if (actions is null || actions.Count == 0)
        {
            return Results.Json(new { error = "actions is missing" }, statusCode: 400);
        }
        if (actions.Count != 1)
        {
            return Message(400, "The stand-in commits one action at a time");
        }
        var action = actions[0]!;
        var kind = action["action"]?.GetValue<string>();
        var filePath = action["file_path"]?.GetValue<string>();
        if (kind is not ("create" or "update") || string.IsNullOrEmpty(filePath))
        {
            return Results.Json(new { error = "actions[0][action] does not have a valid value" }, statusCode: 400);
        }
        var text = action["content"]?.GetValue<string>() ?? "";
        byte[] content;
        try
        {
            content = action["encoding"]?.GetValue<string>() == "base64" ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
        }
        catch (FormatException)
        {
            return Message(400, "Invalid base64 content");
        }

        string? startFrom = null;
        var head = store.IsBranch(project.Dir, branch) ? store.ResolveCommit(project.Dir, "refs/heads/" + branch) : null;
        if (head is null)
        {
            var startBranch = body?["start_branch"]?.GetValue<string>();
            var startSha = body?["start_sha"]?.GetValue<string>();
            if (startSha is not null)
            {
                startFrom = store.ResolveCommit(project.Dir, startSha) is { } s && s.StartsWith(startSha, StringComparison.OrdinalIgnoreCase) ? s : null;
                if (startFrom is null)
                {
                    return Message(400, $"Invalid start SHA: {startSha}");
                }
            }
            else if (startBranch is not null)
            {
                startFrom = store.IsBranch(project.Dir, startBranch) ? store.ResolveCommit(project.Dir, "refs/heads/" + startBranch) : null;
                if (startFrom is null)
                {
                    return Message(400, $"Invalid start branch: {startBranch}");
                }
            }
            else if (store.ResolveCommit(project.Dir, "HEAD") is not null)
            {
                return Message(400, "You can only create or edit files when you are on a branch");
            }
        }
        var basis = head ?? startFrom;
        var exists = basis is not null && store.BlobSha(project.Dir, basis, filePath) is not null;
        if (kind == "create" && exists)
        {
            return Message(400, "A file with this name already exists");
        }
        if (kind == "update" && !exists)
        {
            return Message(400, "A file with this name doesn't exist");
        }
        if (kind == "update" && action["last_commit_id"]?.GetValue<string>() is { } lastCommitId
            && !string.Equals(store.LastCommitTouching(project.Dir, basis!, filePath), lastCommitId, StringComparison.OrdinalIgnoreCase))
        {
            return Message(400, "You are attempting to update a file that has changed since you started editing it.");
        }
        var result = await store.CommitFileAsync(project.Dir, branch, filePath, content, message,
            "Flowstore Stand-in", "standin@example.com", expectedParent: basis, startFrom: startFrom);
        if (result is null)
        {
            return Message(400, "You are attempting to update a file that has changed since you started editing it.");
        }
        var commit = store.GetCommit(project.Dir, result.Commit)!;
        return Results.Json(CommitJson(commit, project, baseUrl), statusCode: 201);
    }

    private static JsonObject ProjectJson(RepoStore store, Project project, string baseUrl)
    {
        var name = project.FullName.Split('/')[^1];
        var ns = project.FullName.Contains('/') ? project.FullName[..project.FullName.LastIndexOf('/')] : project.FullName;
        // GitLab names a default branch also for an empty project: HasRepository#default_branch
        // (app/models/concerns/has_repository.rb) is "repository.empty? ? default_branch_from_preferences : repository.root_ref",
        // the group's or the instance's default branch name (main unless changed); empty_repo tells the project is empty.
        // Here the configured name is the bare repository's HEAD.
        var empty = store.ResolveCommit(project.Dir, "HEAD") is null;
        var defaultBranch = store.DefaultBranch(project.Dir);
        return new JsonObject
        {
            ["id"] = project.Id,
            ["description"] = null,
            ["name"] = name,
            ["name_with_namespace"] = string.Join(" / ", project.FullName.Split('/')),
            ["path"] = name,
            ["path_with_namespace"] = project.FullName,
            ["created_at"] = Directory.GetCreationTimeUtc(project.Dir).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["default_branch"] = defaultBranch,
            ["visibility"] = project.Public ? "public" : "private",
            ["web_url"] = $"{baseUrl}/{project.FullName}",
            ["http_url_to_repo"] = $"{baseUrl}/{project.FullName}.git",
            ["empty_repo"] = empty,
            ["archived"] = false,
            ["namespace"] = new JsonObject { ["name"] = ns.Split('/')[^1], ["path"] = ns.Split('/')[^1], ["full_path"] = ns, ["kind"] = "group" },
        };
    }

    private static JsonObject CommitJson(RepoStore.CommitInfo commit, Project project, string baseUrl) => new()
    {
        ["id"] = commit.Sha,
        ["short_id"] = commit.Sha[..8],
        ["created_at"] = Iso(commit.CommitterDate),
        ["parent_ids"] = new JsonArray(commit.Parents.Select(p => (JsonNode)JsonValue.Create(p)!).ToArray()),
        ["title"] = commit.Message.Split('\n')[0],
        ["message"] = commit.Message,
        ["author_name"] = commit.AuthorName,
        ["author_email"] = commit.AuthorEmail,
        ["authored_date"] = Iso(commit.AuthorDate),
        ["committer_name"] = commit.CommitterName,
        ["committer_email"] = commit.CommitterEmail,
        ["committed_date"] = Iso(commit.CommitterDate),
        ["web_url"] = $"{baseUrl}/{project.FullName}/-/commit/{commit.Sha}",
    };

    private static string Iso(DateTimeOffset date) => date.ToString("yyyy-MM-ddTHH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    private static IResult Message(int status, string message) => Results.Json(new { message }, statusCode: status);
}
