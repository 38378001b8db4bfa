using Flowstore.Storage.Contract;
using Flowstore.Storage.GitHosts;
using Flowstore.Storage.GitHosts.Tests;

namespace Flowstore.Storage.GitLab.Tests;

/// <summary>
/// GitLab storage under the storage contract (script mode only: it publishes scripts), against the GitLab API stand-in
/// over a fresh bare repository per test; faults come from the stand-in's fault injection. Old commits stay readable.
/// </summary>
public sealed class GitLabStorageContractTests() : RemoteStorageContractTests(StorageMode.Script)
{
    private const string TokenSecret = "GITLAB_ACCESS_TOKEN";
    private readonly List<TestRepo> _repos = [];
    private GitLabStorageProvider? _provider;

    protected override IStorageProvider Provider => _provider ??= new GitLabStorageProvider(new GitHostHttpOptions
    {
        Retry = FastRetry,
        MaxRateLimitWait = TimeSpan.FromSeconds(5),
    });

    protected override ISecretResolver Secrets => new FixedSecrets((TokenSecret, StandIn.Instance.Token));

    protected override Task<StorageSettings> NewStorageAsync()
    {
        var repo = TestRepo.Create($"group/sub/{Kit.Unique("contract")}");
        _repos.Add(repo);
        repo.CommitAndPush("README.md", "readme");
        return Task.FromResult<StorageSettings>(new GitLabStorage(repo.FullName, "flows/contract.cs", StandIn.Instance.Url, accessTokenSecret: TokenSecret));
    }

    protected override StorageSettings MissingObject(StorageSettings stored) => (GitLabStorage)stored with { Path = "flows/missing.cs" };

    protected override string MissingObjectName(StorageSettings missing) => "flows/missing.cs";

    protected override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
        => (stored, new FixedSecrets((TokenSecret, secret)));

    protected override async Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        await StandIn.Instance.InjectAsync("/api/v4/projects/" + Uri.EscapeDataString(((GitLabStorage)stored).Repo), 503, faults);
        return stored;
    }

    protected override string PlaceName(StorageSettings stored) => ((GitLabStorage)stored).Repo;

    public override async Task DisposeAsync()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
        await base.DisposeAsync();
    }
}
