using Flowstore.Storage.Contract.GitHosts;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.Bitbucket.Tests;

/// <summary>Bitbucket Server storage under the storage contract, against the Bitbucket Server API stand-in (KEY/slug repositories).</summary>
public sealed class BitbucketStorageContractTests : GitHostStorageContractTests
{
    private const string Key = "PROJ";

    protected override string TokenSecret => "BITBUCKET_ACCESS_TOKEN";

    protected override IStorageProvider CreateProvider()
        => new BitbucketStorageProvider(new GitHostHttpOptions { Retry = FastRetry, MaxRateLimitWait = TimeSpan.FromSeconds(5) });

    protected override string NewRepositoryName() => $"{Key}/{Kit.Unique("contract")}";

    protected override StorageSettings Settings(TestRepo repo, string path)
        => new BitbucketStorage(Key, repo.FullName.Split('/')[1], path, StandIn.Url, accessTokenSecret: TokenSecret);

    protected override StorageSettings WithPath(StorageSettings stored, string path) => (BitbucketStorage)stored with { Path = path };

    protected override string ApiPrefix(StorageSettings stored)
        => $"/rest/api/1.0/projects/{((BitbucketStorage)stored).Project}/repos/{((BitbucketStorage)stored).Repo}";

    protected override string PlaceName(StorageSettings stored) => ((BitbucketStorage)stored).Repo;
}
