namespace Flowstore.StandIns;

/// <summary>The GitHub REST API v3 endpoints Octokit calls for GitHub storage (served under /api/v3, as GitHub Enterprise).</summary>
public static class GitHubApi
{
    public static void MapGitHub(this WebApplication app, RepoStore store, StandInAuth auth)
    {
        // Written with the GitHub storage provider.
    }
}
