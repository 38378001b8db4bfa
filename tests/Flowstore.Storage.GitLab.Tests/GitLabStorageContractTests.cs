using Flowstore.Storage.Contract.GitHosts;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.GitLab.Tests;

/// <summary>GitLab storage under the storage contract, against the GitLab API stand-in (projects in nested groups).</summary>
public sealed class GitLabStorageContractTests : GitHostStorageContractTests
{
    protected override string TokenSecret => "GITLAB_ACCESS_TOKEN";

    protected override IStorageProvider CreateProvider()
        => new GitLabStorageProvider(new GitHostHttpOptions { Retry = FastRetry, MaxRateLimitWait = TimeSpan.FromSeconds(5) });

    protected override string NewRepositoryName() => $"group/sub/{Kit.Unique("contract")}";

    protected override StorageSettings Settings(TestRepo repo, string path)
        => new GitLabStorage(repo.FullName, path, StandIn.Url, accessTokenSecret: TokenSecret);

    protected override StorageSettings WithPath(StorageSettings stored, string path) => (GitLabStorage)stored with { Path = path };

    protected override string ApiPrefix(StorageSettings stored) => "/api/v4/projects/" + Uri.EscapeDataString(((GitLabStorage)stored).Repo);

    protected override string PlaceName(StorageSettings stored) => ((GitLabStorage)stored).Repo;
}
