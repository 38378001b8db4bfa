using System.Text.RegularExpressions;

[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.GitHub.GitHubStorageProvider))]

namespace Flowstore;

/// <summary>
/// GitHub storage (script only): the flow script is a file in a GitHub (or GitHub Enterprise) repository. Every
/// run resolves <see cref="Ref"/> (the repository's default branch when none is given) to a commit SHA, fetches
/// the file at that commit and records the SHA, so a run can be repeated on exactly that code (-Pinned).
/// </summary>
/// <example>
/// <code>
/// flow.Storage = new GitHubStorage(
///     repo: "org/repo",                          // name of repo
///     path: "flows/my_flow.cs",                  // location of the flow file in the repo
///     accessTokenSecret: "GITHUB_ACCESS_TOKEN"); // name of the secret holding a token
/// </code>
/// </example>
public sealed partial record GitHubStorage : StorageSettings
{
    /// <summary>For deserialisation.</summary>
    public GitHubStorage()
    {
    }

    /// <param name="repo">The repository, as <c>owner/name</c> ("org/repo").</param>
    /// <param name="path">The flow file's path in the repository, exactly as committed ("flows/my_flow.cs").</param>
    /// <param name="ref">A branch, tag or commit SHA; the repository's default branch when null.</param>
    /// <param name="accessTokenSecret">
    /// The name of the secret (a Flowstore secret, an environment variable, or a vault) that holds a personal access
    /// token; needed for private repositories and for publishing. Null: anonymous access to a public repository.
    /// </param>
    /// <param name="baseUrl">
    /// GitHub Enterprise Server's address ("https://github.example.com"; the API is under /api/v3). Null: github.com.
    /// </param>
    public GitHubStorage(string repo, string path, string? @ref = null, string? accessTokenSecret = null, string? baseUrl = null)
    {
        Repo = repo;
        Path = path;
        Ref = @ref;
        AccessTokenSecret = accessTokenSecret;
        BaseUrl = baseUrl;
        Validate();
    }

    public override string Type => "GitHub";

    /// <summary>The repository, <c>owner/name</c>.</summary>
    [StorageSetting("The repository, as owner/name (for example org/repo).", Mandatory = true)]
    public string Repo { get; init; } = "";

    /// <summary>The flow file's path in the repository.</summary>
    [StorageSetting("The flow file's path in the repository, exactly as committed (for example flows/my_flow.cs).", Mandatory = true)]
    public string Path { get; init; } = "";

    /// <summary>Branch, tag or commit SHA; null for the repository's default branch (looked up on every run).</summary>
    [StorageSetting("A branch, tag or commit SHA. Without it, every run uses the repository's default branch.")]
    public string? Ref { get; init; }

    /// <summary>The name of the secret holding a GitHub token (never the token itself).</summary>
    [StorageSetting("The name of the secret (a Flowstore secret, an environment variable, or a SecretManagement vault) that holds a " +
        "GitHub personal access token: needed for private repositories and for publishing. Never the token itself.", Secret = true)]
    public string? AccessTokenSecret { get; init; }

    /// <summary>GitHub Enterprise Server's address; null for github.com.</summary>
    [StorageSetting("GitHub Enterprise Server's address, for example https://github.example.com (the API is under /api/v3). Defaults to github.com.")]
    public string? BaseUrl { get; init; }

    public override bool IsScript => true;

    /// <summary>Server, repository, path and ref: where the script lives (task code changes keep it).</summary>
    public override string? RequestedRef => Ref ?? "the default branch";

    public override string Locator => $"github:{Server}/{Repo}/{NormalizedPath}@{Ref ?? "(default branch)"}";

    public override string ToString() => $"GitHub {(BaseUrl is null ? "" : Server + " ")}{Repo}/{NormalizedPath}@{Ref ?? "(default branch)"}";

    /// <summary>The host the repository is on ("github.com" or the Enterprise server's host).</summary>
    internal string Server => BaseUrl is { Length: > 0 } url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
        ? uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}"
        : "github.com";

    /// <summary>The path without a leading slash.</summary>
    internal string NormalizedPath => (Path ?? "").TrimStart('/');

    /// <summary>Repo is <c>owner/name</c>, a path is given, the base URL is an absolute http(s) URL.</summary>
    protected override void ValidateSettings()
    {
        if (!RepoPattern().IsMatch(Repo))
        {
            throw Invalid(nameof(Repo), $"GitHub storage needs the repository as owner/name (for example 'org/repo'); got '{Repo}'.", Repo);
        }
        if (NormalizedPath.Length == 0 || Path.EndsWith('/'))
        {
            throw Invalid(nameof(Path), $"GitHub storage of {Repo} needs the path of the flow file in the repository (for example 'flows/my_flow.cs'); got '{Path}'.", Repo);
        }
        if (Ref is not null && Ref.Trim().Length == 0)
        {
            throw Invalid(nameof(Ref), $"GitHub storage of {Repo}/{NormalizedPath}: the ref is blank; give a branch, tag or commit SHA, or none for the default branch.", Repo);
        }
        if (BaseUrl is not null
            && (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
                || !string.IsNullOrEmpty(uri.UserInfo)))
        {
            // The URL may hold credentials by mistake: do not repeat it.
            throw Invalid(nameof(BaseUrl), $"GitHub storage of {Repo}/{NormalizedPath}: the base URL must be an http(s) address without credentials, like 'https://github.example.com'.", Repo);
        }
    }

    // GitHub owners: letters, digits, hyphens; repository names: letters, digits, '-', '_', '.'.
    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")]
    private static partial Regex RepoPattern();
}
