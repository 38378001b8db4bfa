using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;

namespace Flowstore.StandIns;

/// <summary>
/// The Bitbucket Server (Data Center) REST 1.0 endpoints Bitbucket storage calls, under
/// /rest/api/1.0/projects/{projectKey}/repos/{repositorySlug}, with Bitbucket's documented shapes:
/// <list type="bullet">
/// <item>GET default-branch - the <i>configured</i> default branch as a minimal ref {id, displayId, type}, also in an empty
/// repository (the older branches/default: a branch with latestCommit, 404 while the branch does not exist)</item>
/// <item>GET commits?until={ref}&amp;limit=n - a page of commits (first-parent history) ending at a branch, tag or SHA</item>
/// <item>GET commits/{commitId} - one commit</item>
/// <item>GET raw/{path}?at={ref} - the raw file</item>
/// <item>PUT browse/{path} - the file edit API: multipart/form-data content, message, branch, sourceCommitId
/// (required when the file exists; the commit the edit is based on), sourceBranch (start of a new branch);
/// needs X-Atlassian-Token: no-check; returns the new commit</item>
/// <item>POST branches - {name, startPoint}: creates a branch at a commit</item>
/// </list>
/// Repositories are the bare repositories <c>KEY/slug.git</c>. Auth: Authorization: Bearer (an HTTP access token).
/// Errors are {"errors":[{"context","message","exceptionName"}]}: a wrong token 401
/// (IncorrectPasswordAuthenticationException); no token on a private repository (the default; a file named
/// <c>standin-public</c> in the bare repository makes it public) or any write without a token 401
/// (AuthorisationException); a missing project, repository, commit or path 404. Token kinds (<see cref="StandInAuth.TokenGrant"/>):
/// a file edit with a read-only token is 401, with a project or repository access token 403 (see the PUT browse case).
/// </summary>
public static class BitbucketApi
{
    private const string Prefix = "/rest/api/1.0/";

    public static void MapBitbucket(this WebApplication app, RepoStore store, StandInAuth auth)
    {
        app.Map("/rest/api/1.0/{**rest}", (Delegate)((HttpContext context) => HandleAsync(context, store, auth)));
    }

    private static async Task<IResult> HandleAsync(HttpContext context, RepoStore store, StandInAuth auth)
    {
        var request = context.Request;
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "";
        var segments = raw.Split('?', 2)[0][Prefix.Length..].Split('/').Select(Uri.UnescapeDataString).ToArray();

        var presented = StandInAuth.FromAuthorization(request, "Bearer");
        var grant = auth.Grant(presented);
        if (request.Headers.Authorization.Count > 0 && grant is null)
        {
            return Error(401, "Authentication failed. Please check your credentials and try again.",
                "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException");
        }
        var authenticated = presented is not null;

        if (segments is not ["projects", var key, "repos", var slug, .. var rest])
        {
            return Error(404, $"No endpoint {request.Method} {request.Path}", "com.atlassian.bitbucket.rest.NotFoundException");
        }
        var dir = store.Find($"{key}/{slug}") ?? store.Find($"{key.ToUpperInvariant()}/{slug}");
        var isPublic = dir is not null && File.Exists(Path.Combine(dir, "standin-public"));
        if (!authenticated && !isPublic)
        {
            return Error(401, "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException");
        }
        if (dir is null)
        {
            var projectExists = Directory.Exists(Path.Combine(store.Root, key)) || Directory.Exists(Path.Combine(store.Root, key.ToUpperInvariant()));
            return projectExists
                ? Error(404, $"Repository {key}/{slug} does not exist.", "com.atlassian.bitbucket.repository.NoSuchRepositoryException")
                : Error(404, $"Project {key} does not exist.", "com.atlassian.bitbucket.project.NoSuchProjectException");
        }
        var method = request.Method;
        switch (rest)
        {
            case ["default-branch"] when method == "GET":
                // Bitbucket Data Center 9.2 REST API, GET .../repos/{repositorySlug}/default-branch (getDefaultBranch_2):
                // "Retrieves the repository's configured default branch. Every repository has a configured default
                // branch, but that branch may not actually exist in the repository. For example, a newly-created
                // repository will have a configured default branch even though no branches have been pushed yet."
                // The 200 response is a RestMinimalRef: id, displayId, type - no latestCommit / latestChangeset.
                return Results.Json(new JsonObject
                {
                    ["id"] = "refs/heads/" + store.DefaultBranch(dir),
                    ["displayId"] = store.DefaultBranch(dir),
                    ["type"] = "BRANCH",
                });
            case ["branches", "default"] when method == "GET":
            {
                // The older endpoint answers with the branch and its head (404 while the branch does not exist).
                var head = store.ResolveCommit(dir, "HEAD");
                if (head is null)
                {
                    return Error(404, $"Repository {key}/{slug} has no default branch.", "com.atlassian.bitbucket.repository.NoDefaultBranchException");
                }
                var name = store.DefaultBranch(dir);
                return Results.Json(new JsonObject
                {
                    ["id"] = "refs/heads/" + name,
                    ["displayId"] = name,
                    ["type"] = "BRANCH",
                    ["latestCommit"] = head,
                    ["latestChangeset"] = head,
                    ["isDefault"] = true,
                });
            }
            case ["branches"] when method == "POST":
                if (grant is null)
                {
                    return Error(401, "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException");
                }
                // Bitbucket Data Center 9.2 REST API, POST .../repos/{repositorySlug}/branches (createBranch): needs REPO_WRITE
                // ("401 The currently authenticated user has insufficient permissions to write to the repository").
                if (!grant.Write)
                {
                    return Error(401, $"You are not permitted to write to repository {key}/{slug}.", "com.atlassian.bitbucket.AuthorisationException");
                }
                return await CreateBranchAsync(request, store, dir, slug);
            case ["commits"] when method == "GET":
            {
                var until = request.Query["until"].ToString();
                var reference = until.Length > 0 ? until : "HEAD";
                var limit = int.TryParse(request.Query["limit"], CultureInfo.InvariantCulture, out var l) && l > 0 ? Math.Min(l, 1000) : 25;
                var start = int.TryParse(request.Query["start"], CultureInfo.InvariantCulture, out var s) && s >= 0 ? s : 0;
                var first = store.GetCommit(dir, reference);
                if (first is null)
                {
                    return Error(404, $"Commit '{reference}' does not exist in repository '{slug}'.", "com.atlassian.bitbucket.commit.NoSuchCommitException");
                }
                var history = new List<RepoStore.CommitInfo>();
                for (var commit = first; commit is not null && history.Count < start + limit + 1; commit = commit.Parents.Count > 0 ? store.GetCommit(dir, commit.Parents[0]) : null)
                {
                    history.Add(commit);
                }
                var page = history.Skip(start).Take(limit).ToList();
                var last = history.Count <= start + limit;
                var body = new JsonObject
                {
                    ["values"] = new JsonArray(page.Select(c => (JsonNode)CommitJson(c)).ToArray()),
                    ["size"] = page.Count,
                    ["isLastPage"] = last,
                    ["start"] = start,
                    ["limit"] = limit,
                };
                if (!last)
                {
                    body["nextPageStart"] = start + limit;
                }
                return Results.Json(body);
            }
            case ["commits", var commitId] when method == "GET":
            {
                var commit = store.GetCommit(dir, commitId);
                return commit is null
                    ? Error(404, $"Commit '{commitId}' does not exist in repository '{slug}'.", "com.atlassian.bitbucket.commit.NoSuchCommitException")
                    : Results.Json(CommitJson(commit));
            }
            case ["raw", .. var pathParts] when method == "GET" && pathParts.Length > 0:
            {
                var path = string.Join('/', pathParts);
                var at = request.Query["at"].ToString() is { Length: > 0 } a ? a : "HEAD";
                var commit = store.ResolveCommit(dir, at);
                if (commit is null)
                {
                    return Error(404, $"Commit '{at}' does not exist in repository '{slug}'.", "com.atlassian.bitbucket.commit.NoSuchCommitException");
                }
                var bytes = store.ReadFile(dir, commit, path);
                return bytes is null
                    ? Error(404, $"The path \"{path}\" does not exist at revision \"{commit}\"", "com.atlassian.bitbucket.content.NoSuchPathException")
                    : Results.Bytes(bytes, "text/plain; charset=UTF-8");
            }
            case ["browse", .. var pathParts] when method == "PUT" && pathParts.Length > 0:
                if (request.Headers["X-Atlassian-Token"].ToString() != "no-check")
                {
                    return Results.Text("XSRF check failed", "text/plain", statusCode: 403);
                }
                if (grant is null)
                {
                    return Error(401, "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException");
                }
                // Bitbucket Data Center 9.2 REST API, PUT .../repos/{repositorySlug}/browse/{path} (editFile):
                // "401 The currently authenticated user does not have write permission for the given repository."
                // "403 The request was authenticated using a project or repository access token, which does not have a
                // valid user associated with it" (such tokens cannot edit files, whatever their permission).
                if (!grant.Write)
                {
                    return Error(401, $"You are not permitted to write to repository {key}/{slug}.", "com.atlassian.bitbucket.AuthorisationException");
                }
                if (grant.Kind is "project" or "repository")
                {
                    return Error(403, "File edits need a user: a project or repository access token has no user associated with it.",
                        "com.atlassian.bitbucket.AuthorisationException");
                }
                return await EditFileAsync(request, store, dir, slug, string.Join('/', pathParts));
            default:
                return Error(404, $"No endpoint {method} {request.Path}", "com.atlassian.bitbucket.rest.NotFoundException");
        }
    }

    /// <summary>POST branches {name, startPoint}: the new branch (RestBranch); 409 when it exists, 400 for an unknown start.</summary>
    private static async Task<IResult> CreateBranchAsync(HttpRequest request, RepoStore store, string dir, string slug)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body);
        }
        catch (System.Text.Json.JsonException)
        {
            return Error(400, "The request body is not valid JSON.", "com.atlassian.bitbucket.validation.ArgumentValidationException");
        }
        var name = body?["name"]?.GetValue<string>() ?? "";
        var startPoint = body?["startPoint"]?.GetValue<string>() ?? "";
        if (name.StartsWith("refs/heads/", StringComparison.Ordinal))
        {
            name = name["refs/heads/".Length..];
        }
        if (name.Length == 0 || startPoint.Length == 0)
        {
            return Error(400, "The name and startPoint fields are required.", "com.atlassian.bitbucket.validation.ArgumentValidationException");
        }
        if (store.IsBranch(dir, name))
        {
            return Error(409, $"Branch '{name}' already exists in repository '{slug}'.", "com.atlassian.bitbucket.repository.DuplicateRefException");
        }
        var start = store.ResolveCommit(dir, startPoint);
        if (start is null)
        {
            return Error(400, $"Commit '{startPoint}' does not exist in repository '{slug}'.", "com.atlassian.bitbucket.commit.NoSuchCommitException");
        }
        store.CreateBranch(dir, name, start);
        return Results.Json(new JsonObject
        {
            ["id"] = "refs/heads/" + name,
            ["displayId"] = name,
            ["type"] = "BRANCH",
            ["latestCommit"] = start,
            ["latestChangeset"] = start,
            ["isDefault"] = name == store.DefaultBranch(dir),
        });
    }

    private static async Task<IResult> EditFileAsync(HttpRequest request, RepoStore store, string dir, string slug, string path)
    {
        if (!request.HasFormContentType)
        {
            return Error(415, "The file edit API takes multipart/form-data.", "com.atlassian.bitbucket.rest.UnsupportedMediaTypeException");
        }
        var form = await request.ReadFormAsync();
        byte[]? content = null;
        if (form.Files.GetFile("content") is { } file)
        {
            using var buffer = new MemoryStream();
            await file.CopyToAsync(buffer);
            content = buffer.ToArray();
        }
        else if (form.TryGetValue("content", out var text))
        {
            content = System.Text.Encoding.UTF8.GetBytes(text.ToString());
        }
        var branch = form["branch"].ToString();
        var message = form["message"].ToString();
        var sourceCommitId = form["sourceCommitId"].ToString();
        var sourceBranch = form["sourceBranch"].ToString();
        if (content is null || branch.Length == 0)
        {
            return Error(400, "The content and branch fields are required.", "com.atlassian.bitbucket.validation.ArgumentValidationException");
        }
        var head = store.IsBranch(dir, branch) ? store.ResolveCommit(dir, "refs/heads/" + branch) : null;
        string? startFrom = null;
        if (head is null && store.ResolveCommit(dir, "HEAD") is not null)
        {
            if (sourceBranch.Length == 0)
            {
                return Error(404, $"Branch \"{branch}\" does not exist in repository '{slug}'.", "com.atlassian.bitbucket.repository.NoSuchBranchException");
            }
            startFrom = store.ResolveCommit(dir, sourceBranch);
            if (startFrom is null)
            {
                return Error(404, $"Commit '{sourceBranch}' does not exist in repository '{slug}'.", "com.atlassian.bitbucket.commit.NoSuchCommitException");
            }
        }
        var basis = head ?? startFrom;
        var currentBlob = basis is null ? null : store.BlobSha(dir, basis, path);
        if (currentBlob is not null)
        {
            if (sourceCommitId.Length == 0)
            {
                return Error(409, $"The file \"{path}\" already exists; give the sourceCommitId the edit is based on.",
                    "com.atlassian.bitbucket.content.FileAlreadyExistsException");
            }
            var source = store.ResolveCommit(dir, sourceCommitId);
            if (source is null)
            {
                return Error(404, $"Commit '{sourceCommitId}' does not exist in repository '{slug}'.", "com.atlassian.bitbucket.commit.NoSuchCommitException");
            }
            if (store.BlobSha(dir, source, path) != currentBlob)
            {
                return Error(409, $"The file \"{path}\" has been modified since the commit {sourceCommitId}.",
                    "com.atlassian.bitbucket.content.FileContentModifiedException");
            }
            // editFile: "409 ... the given content does not modify the file" - also when the edit would start a new branch.
            if (store.ReadFile(dir, basis!, path) is { } existing && existing.AsSpan().SequenceEqual(content))
            {
                return Error(409, $"The file \"{path}\" already has this content.", "com.atlassian.bitbucket.content.EditFileNoChangesException");
            }
        }
        var result = await store.CommitFileAsync(dir, branch, path, content, message.Length > 0 ? message : $"Edit {path}",
            "Flowstore Stand-in", "standin@example.com", expectedParent: basis, startFrom: startFrom);
        if (result is null)
        {
            return Error(409, $"Branch \"{branch}\" moved while the file was being edited.", "com.atlassian.bitbucket.content.FileContentModifiedException");
        }
        return Results.Json(CommitJson(store.GetCommit(dir, result.Commit)!));
    }

    private static JsonObject CommitJson(RepoStore.CommitInfo commit) => new()
    {
        ["id"] = commit.Sha,
        ["displayId"] = commit.Sha[..11],
        ["author"] = new JsonObject { ["name"] = commit.AuthorName, ["emailAddress"] = commit.AuthorEmail },
        ["authorTimestamp"] = commit.AuthorDate.ToUnixTimeMilliseconds(),
        ["committer"] = new JsonObject { ["name"] = commit.CommitterName, ["emailAddress"] = commit.CommitterEmail },
        ["committerTimestamp"] = commit.CommitterDate.ToUnixTimeMilliseconds(),
        ["message"] = commit.Message,
        ["parents"] = new JsonArray(commit.Parents.Select(p => (JsonNode)new JsonObject { ["id"] = p, ["displayId"] = p[..11] }).ToArray()),
    };

    private static IResult Error(int status, string message, string exceptionName)
        => Results.Json(new { errors = new[] { new { context = (string?)null, message, exceptionName } } }, statusCode: status);
}
