using Flowstore.Storage.Contract;
using Flowstore.Storage.GitHosts;
using Flowstore.Storage.GitHosts.Tests;

namespace Flowstore.Storage.Bitbucket.Tests;

/// <summary>
/// Bitbucket Server storage under the storage contract (script mode only: it publishes scripts), against the Bitbucket
/// Server API stand-in over a fresh bare repository per test; faults come from the stand-in's fault injection. Old
/// commits stay readable.
/// </summary>
public sealed class BitbucketStorageContractTests() : RemoteStorageContractTests(StorageMode.Script)
{
    private const string TokenSecret = "BITBUCKET_ACCESS_TOKEN";
    private const string Key = "PROJ";
    private readonly List<TestRepo> _repos = [];
    private BitbucketStorageProvider? _provider;

    protected override IStorageProvider Provider => _provider ??= new BitbucketStorageProvider(new GitHostHttpOptions
    {
        Retry = FastRetry,
        MaxRateLimitWait = TimeSpan.FromSeconds(5),
    });

    protected override ISecretResolver Secrets => new FixedSecrets((TokenSecret, StandIn.Instance.Token));

    protected override Task<StorageSettings> NewStorageAsync()
    {
        var slug = Kit.Unique("contract");
        var repo = TestRepo.Create($"{Key}/{slug}");
        _repos.Add(repo);
        repo.CommitAndPush("README.md", "readme");
        return Task.FromResult<StorageSettings>(new BitbucketStorage(Key, slug, "flows/contract.cs", StandIn.Instance.Url, accessTokenSecret: TokenSecret));
    }

    protected override StorageSettings MissingObject(StorageSettings stored) => (BitbucketStorage)stored with { Path = "flows/missing.cs" };

    protected override string MissingObjectName(StorageSettings missing) => "flows/missing.cs";

    protected override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
        => (stored, new FixedSecrets((TokenSecret, secret)));

    protected override async Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        var storage = (BitbucketStorage)stored;
        await StandIn.Instance.InjectAsync($"/rest/api/1.0/projects/{storage.Project}/repos/{storage.Repo}", 503, faults);
        return stored;
    }

    protected override string PlaceName(StorageSettings stored) => ((BitbucketStorage)stored).Repo;

    public override async Task DisposeAsync()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
        await base.DisposeAsync();
    }
}
