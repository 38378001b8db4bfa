[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.GitLab.GitLabStorageProvider))]

namespace Flowstore;

/// <summary>
/// GitLab storage (script-only): the flow script is a file in a GitLab project, read through the REST API v4.
/// Every run resolves <see cref="GitHostStorageSettings.Ref"/> (the project's default branch when null) to a commit SHA, fetches the file
/// at that commit and records the SHA, so a run can be repeated on exactly that script (Start-FlowRun -Pinned).
/// </summary>
/// <example>
/// <code>
/// flow.Storage = new GitLabStorage(
///     repo: "group/project",                      // project path (or its numeric id)
///     path: "flows/my_flow.cs",                   // the flow file in the project
///     accessTokenSecret: "GITLAB_ACCESS_TOKEN");  // name of the secret holding a token
/// </code>
/// </example>
public sealed record GitLabStorage : GitHostStorageSettings
{
    /// <summary>The host used when none is given.</summary>
    public const string DefaultHost = "https://gitlab.com";

    /// <summary>For deserialisation.</summary>
    public GitLabStorage()
    {
    }

    /// <param name="repo">The project's full path ("group/subgroup/project") or its numeric id.</param>
    /// <param name="path">The flow file's path in the repository, e.g. "flows/my_flow.cs".</param>
    /// <param name="host">The GitLab instance, e.g. "https://gitlab.example.com"; defaults to https://gitlab.com.</param>
    /// <param name="ref">A branch, tag or commit SHA; defaults to the project's default branch.</param>
    /// <param name="accessTokenSecret">Name of the secret holding a personal, project or group access token (sent as PRIVATE-TOKEN): scope read_repository to run flows, api to publish.</param>
    public GitLabStorage(string repo, string path, string? host = null, string? @ref = null, string? accessTokenSecret = null)
    {
        Repo = repo;
        Path = path;
        Host = host;
        Ref = @ref;
        AccessTokenSecret = accessTokenSecret;
    }

    public override string Type => "GitLab";

    /// <summary>The project's full path ("group/subgroup/project") or its numeric id.</summary>
    [StorageSetting("The project: its full path (group/subgroup/project) or its numeric id.", Mandatory = true)]
    public override string Repo { get; init; } = "";

    /// <summary>The GitLab instance's URL; https://gitlab.com when null.</summary>
    [StorageSetting("The GitLab instance, e.g. https://gitlab.example.com; defaults to https://gitlab.com.")]
    public override string? Host { get; init; }

    /// <summary>Name of the secret holding the access token; anonymous access (public projects) when null.</summary>
    [StorageSetting("Name of the secret (a Flowstore secret, an environment variable, or a vault) holding a GitLab access token " +
        "(scope read_repository to run flows, api to publish); omit for public projects.", Secret = true)]
    public override string? AccessTokenSecret { get; init; }

    public override string? RequestedRef => Ref ?? "the default branch";

    public override string Locator
        => $"gitlab:{(Host ?? DefaultHost).TrimEnd('/').ToLowerInvariant()}/{Repo}@{Ref ?? "(default branch)"}:{Path}";

    public override string ToString()
        => $"GitLab {(Host ?? DefaultHost).TrimEnd('/')} {Repo} {Path} @ {Ref ?? "default branch"}";
}
