using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Git: a flow script in any Git repository (https, ssh or file URL; Azure Repos included).</summary>
public sealed class GitStorageParameters : IStorageParameters
{
    /// <summary>
    /// The repository URL: https://..., ssh://... or file://... (for Azure Repos
    /// https://dev.azure.com/org/project/_git/repo). Never put credentials in it: use -TokenSecret.
    /// </summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Url { get; set; } = "";

    /// <summary>The flow file's path inside the repository, for example flows/my_flow.cs.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The branch runs follow (each run reads its latest commit). Without -Branch, -Tag or -Commit: the repository's default branch.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Branch { get; set; }

    /// <summary>The tag runs read.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Tag { get; set; }

    /// <summary>The commit SHA runs read.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Commit { get; set; }

    /// <summary>Name of the secret (Set-FlowSecret, an environment variable or a vault) holding a token such as a PAT, sent as HTTP Basic authentication.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TokenSecret { get; set; }

    /// <summary>The user name sent with the token (default "flowstore"; Azure Repos accepts any).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TokenUsername { get; set; }

    /// <summary>How many commits each fetch downloads (default 1; 0 fetches the whole history).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Depth { get; set; } = -1;

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet)
    {
        var url = Url;
        // A local repository path becomes a file:// URL, resolved against the current PowerShell location.
        if (!url.Contains("://", StringComparison.Ordinal) && !System.Text.RegularExpressions.Regex.IsMatch(url, @"^[^/\\]+@[^/\\]+:"))
        {
            url = new Uri(cmdlet.GetUnresolvedProviderPathFromPSPath(url)).AbsoluteUri;
        }
        return new GitStorage(url, Path, Branch, Tag, Commit, TokenSecret, TokenUsername, Depth < 0 ? null : Depth);
    }
}
