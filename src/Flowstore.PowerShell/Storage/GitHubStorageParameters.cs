using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type GitHub: the flow script is a file in a GitHub (or GitHub Enterprise Server) repository.</summary>
public sealed class GitHubStorageParameters : IStorageParameters
{
    /// <summary>The repository, as owner/name (for example org/repo).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Repo { get; set; } = "";

    /// <summary>The flow file's path in the repository, exactly as committed (for example flows/my_flow.cs).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A branch, tag or commit SHA. Without it, every run uses the repository's default branch.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Ref { get; set; }

    /// <summary>
    /// The name of the secret (Set-FlowSecret, an environment variable, or a SecretManagement vault) that holds a
    /// GitHub personal access token: needed for private repositories and for Publish-FlowScript. Never the token itself.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AccessTokenSecret { get; set; }

    /// <summary>GitHub Enterprise Server's address, for example https://github.example.com (the API is under /api/v3). Defaults to github.com.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BaseUrl { get; set; }

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => new GitHubStorage(Repo, Path, Ref, AccessTokenSecret, BaseUrl);
}
