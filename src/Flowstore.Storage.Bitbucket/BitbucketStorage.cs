[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.Bitbucket.BitbucketStorageProvider))]

namespace Flowstore;

/// <summary>
/// Bitbucket Server / Data Center storage (script-only): the flow script is a file in a repository of a
/// Bitbucket project, read through the REST API 1.0 with an HTTP access token (Bearer). Every run resolves
/// <see cref="GitHostStorageSettings.Ref"/> (the repository's default branch when null) to a commit SHA, fetches the file at that commit
/// and records the SHA, so a run can be repeated on exactly that script (Start-FlowRun -Pinned).
/// </summary>
/// <example>
/// <code>
/// flow.Storage = new BitbucketStorage(
///     project: "PROJ",                               // key of the project that holds the repository
///     repo: "flows",                                 // the repository's slug
///     path: "flows/my_flow.cs",                      // the flow file in the repository
///     host: "https://bitbucket.example.com",         // the Bitbucket Server
///     accessTokenSecret: "BITBUCKET_ACCESS_TOKEN");  // name of the secret holding an HTTP access token
/// </code>
/// </example>
public sealed record BitbucketStorage : GitHostStorageSettings
{
    /// <summary>For deserialisation.</summary>
    public BitbucketStorage()
    {
    }

    /// <param name="project">The key of the Bitbucket project that holds the repository, e.g. "PROJ".</param>
    /// <param name="repo">The repository's slug.</param>
    /// <param name="path">The flow file's path in the repository, e.g. "flows/my_flow.cs".</param>
    /// <param name="host">The Bitbucket Server URL, e.g. "https://bitbucket.example.com" (required).</param>
    /// <param name="ref">A branch, tag or commit SHA; defaults to the repository's default branch.</param>
    /// <param name="accessTokenSecret">Name of the secret holding an HTTP access token (sent as Authorization: Bearer): Repository read to run flows; publishing needs a personal token with Repository write.</param>
    public BitbucketStorage(string project, string repo, string path, string? host = null, string? @ref = null, string? accessTokenSecret = null)
    {
        Project = project;
        Repo = repo;
        Path = path;
        Host = host;
        Ref = @ref;
        AccessTokenSecret = accessTokenSecret;
    }

    public override string Type => "Bitbucket";

    /// <summary>The key of the project that holds the repository.</summary>
    [StorageSetting("The key of the Bitbucket project that holds the repository, e.g. PROJ.", Mandatory = true)]
    public string Project { get; init; } = "";

    /// <summary>The repository's slug.</summary>
    [StorageSetting("The repository's slug.", Mandatory = true)]
    public override string Repo { get; init; } = "";

    /// <summary>The Bitbucket Server URL.</summary>
    [StorageSetting("The Bitbucket Server URL, e.g. https://bitbucket.example.com.", Mandatory = true)]
    public override string? Host { get; init; }

    /// <summary>Name of the secret holding the HTTP access token; anonymous access (public repositories) when null.</summary>
    [StorageSetting("Name of the secret (a Flowstore secret, an environment variable, or a vault) holding a Bitbucket HTTP access token " +
        "(sent as a Bearer token; Repository read to run flows, a personal token with Repository write to publish); omit for public repositories.", Secret = true)]
    public override string? AccessTokenSecret { get; init; }

    public override string? RequestedRef => Ref ?? "the default branch";

    public override string Locator
        => $"bitbucket:{Host?.TrimEnd('/').ToLowerInvariant()}/{Project.ToUpperInvariant()}/{Repo.ToLowerInvariant()}@{Ref ?? "(default branch)"}:{Path}";

    public override string ToString()
        => $"Bitbucket {Host?.TrimEnd('/')} {Project}/{Repo} {Path} @ {Ref ?? "default branch"}";
}
