using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Bitbucket: a flow script kept in a Bitbucket Server / Data Center repository, read through the REST API 1.0.</summary>
public sealed class BitbucketStorageParameters : IStorageParameters
{
    /// <summary>The key of the Bitbucket project that holds the repository, e.g. PROJ.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Project { get; set; } = "";

    /// <summary>The repository's slug.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Repo { get; set; } = "";

    /// <summary>The flow file's path in the repository, relative to its root, e.g. flows/my_flow.cs.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The Bitbucket Server URL, e.g. https://bitbucket.example.com.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Host { get; set; } = "";

    /// <summary>A branch, tag or commit SHA; defaults to the repository's default branch. Every run resolves it to a commit SHA and records it.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Ref { get; set; }

    /// <summary>Name of the secret (Set-FlowSecret, an environment variable, or a vault) holding a Bitbucket HTTP access token (sent as a Bearer token); omit for public repositories.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AccessTokenSecret { get; set; }

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => new BitbucketStorage(Project, Repo, Path, Host, Ref, AccessTokenSecret);
}
