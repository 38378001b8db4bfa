namespace Flowstore.StandIns;

/// <summary>The Bitbucket Server REST 1.0 endpoints Bitbucket storage calls (under /rest/api/1.0).</summary>
public static class BitbucketApi
{
    public static void MapBitbucket(this WebApplication app, RepoStore store, StandInAuth auth)
    {
        // Written with the Bitbucket Server storage provider.
    }
}
