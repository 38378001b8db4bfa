using Flowstore.Storage.Contract.GitHosts;
using Flowstore.Storage.GitHub;

namespace Flowstore.Storage.GitHub.Tests;

/// <summary>GitHub storage under the storage contract, against the GitHub API stand-in (owner/repo, GitHub Enterprise base URL).</summary>
public sealed class GitHubStorageContractTests : GitHostStorageContractTests
{
    protected override string TokenSecret => "GITHUB_TOKEN";

    protected override IStorageProvider CreateProvider() => new GitHubStorageProvider(new GitHubStorageOptions
    {
        MaxRetries = FastRetry.MaxRetries,
        RetryDelay = FastRetry.BaseDelay,
        MaxRateLimitWait = TimeSpan.FromSeconds(5),
        RequestTimeout = TimeSpan.FromSeconds(20),
    });

    protected override string NewRepositoryName() => GitHubRepos.NewName();

    protected override StorageSettings Settings(TestRepo repo, string path)
        => new GitHubStorage(repo.FullName, path, accessTokenSecret: TokenSecret, baseUrl: StandIn.Url);

    protected override StorageSettings WithPath(StorageSettings stored, string path) => (GitHubStorage)stored with { Path = path };

    protected override string ApiPrefix(StorageSettings stored) => GitHubRepos.ApiPrefix(((GitHubStorage)stored).Repo);

    protected override string PlaceName(StorageSettings stored) => ((GitHubStorage)stored).Repo;
}
