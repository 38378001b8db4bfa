namespace Flowstore.StandIns;

/// <summary>The GitLab REST API v4 endpoints GitLab storage calls (under /api/v4).</summary>
public static class GitLabApi
{
    public static void MapGitLab(this WebApplication app, RepoStore store, StandInAuth auth)
    {
        // Written with the GitLab storage provider.
    }
}
