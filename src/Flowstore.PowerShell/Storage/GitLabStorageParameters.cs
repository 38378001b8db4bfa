using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type GitLab: a flow script kept in a GitLab project (gitlab.com or self-managed), read through the REST API v4.</summary>
public sealed class GitLabStorageParameters : IStorageParameters
{
    /// <summary>The project: its full path (group/subgroup/project) or its numeric id.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Repo { get; set; } = "";

    /// <summary>The flow file's path in the repository, relative to its root, e.g. flows/my_flow.cs.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The GitLab instance, e.g. https://gitlab.example.com; defaults to https://gitlab.com.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Host { get; set; }

    /// <summary>A branch, tag or commit SHA; defaults to the project's default branch. Every run resolves it to a commit SHA and records it.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Ref { get; set; }

    /// <summary>Name of the secret (Set-FlowSecret, an environment variable, or a vault) holding a GitLab access token; omit for public projects.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AccessTokenSecret { get; set; }

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => new GitLabStorage(Repo, Path, Host, Ref, AccessTokenSecret);
}
