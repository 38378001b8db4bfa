using Flowstore.Storage.Contract;
using Flowstore.Storage.GitHub;

namespace Flowstore.Storage.GitHub.Tests;

/// <summary>
/// GitHub storage under the storage contract (script mode only: it publishes scripts), against the GitHub API stand-in
/// over a fresh bare repository per test; faults come from the stand-in's fault injection. Old commits stay readable.
/// </summary>
public sealed class GitHubStorageContractTests() : RemoteStorageContractTests(StorageMode.Script)
{
    private const string TokenSecret = "GITHUB_TOKEN";
    private readonly List<TestRepo> _repos = [];
    private readonly Dictionary<string, TestRepo> _byName = [];
    private GitHubStorageProvider? _provider;

    protected override IStorageProvider Provider => _provider ??= new GitHubStorageProvider(new GitHubStorageOptions
    {
        MaxRetries = FastRetry.MaxRetries,
        RetryDelay = FastRetry.BaseDelay,
        MaxRateLimitWait = TimeSpan.FromSeconds(5),
        RequestTimeout = TimeSpan.FromSeconds(20),
    });

    protected override ISecretResolver Secrets => new FixedSecrets((TokenSecret, StandIn.Token));

    protected override Task<StorageSettings> NewStorageAsync()
    {
        var repo = TestRepo.Create();
        _repos.Add(repo);
        _byName[repo.FullName] = repo;
        repo.CommitAndPush("README.md", "readme");
        return Task.FromResult<StorageSettings>(new GitHubStorage(repo.FullName, "flows/contract.cs", accessTokenSecret: TokenSecret, baseUrl: TestRepo.BaseUrl));
    }

    protected override StorageSettings MissingObject(StorageSettings stored) => (GitHubStorage)stored with { Path = "flows/missing.cs" };

    protected override string MissingObjectName(StorageSettings missing) => "flows/missing.cs";

    protected override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
        => (stored, new FixedSecrets((TokenSecret, secret)));

    protected override async Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        await StandIn.InjectFaultAsync(_byName[((GitHubStorage)stored).Repo].ApiPrefix, status: 503, count: faults);
        return stored;
    }

    protected override string PlaceName(StorageSettings stored) => ((GitHubStorage)stored).Repo;

    public override async Task DisposeAsync()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
        await base.DisposeAsync();
    }
}
