using Flowstore.Storage.Contract;

namespace Flowstore.Storage.Git.Tests;

/// <summary>Git storage under the storage contract, against the smart-HTTP test server (a fresh repository per test).</summary>
public sealed class GitStorageContractTests() : RemoteStorageContractTests(StorageMode.Script)
{
    private const string TokenName = "GIT_TOKEN";
    private readonly List<TestRepo> _repos = [];
    private GitStorageProvider? _provider;

    protected override IStorageProvider Provider => _provider ??= new GitStorageProvider(Path.Combine(Folder, "cache"))
    {
        Retry = new StorageRetry(FastRetry),
    };

    protected override ISecretResolver Secrets => new FixedSecrets((TokenName, GitTestServer.Token));

    protected override Task<StorageSettings> NewStorageAsync()
    {
        var repo = TestRepo.Create();
        _repos.Add(repo);
        return Task.FromResult<StorageSettings>(new GitStorage(repo.Url, "flows/contract.cs", branch: "trunk", tokenSecret: TokenName));
    }

    protected override StorageSettings MissingObject(StorageSettings stored)
    {
        var git = (GitStorage)stored;
        return new GitStorage(git.Url, "flows/missing.cs", branch: git.Branch, tokenSecret: TokenName);
    }

    protected override string MissingObjectName(StorageSettings missing) => "flows/missing.cs";

    protected override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
        => (stored, new FixedSecrets((TokenName, secret)));

    protected override async Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        var name = _repos.Single(r => r.Url == ((GitStorage)stored).Url).Name;
        await GitTestServer.InjectFaultAsync(name, 503, faults);
        return stored;
    }

    protected override string PlaceName(StorageSettings stored) => ((GitStorage)stored).Url;

    public override async Task DisposeAsync()
    {
        foreach (var repo in _repos)
        {
            await GitTestServer.InjectFaultAsync(repo.Name, 503, 0);
            repo.Dispose();
        }
        await base.DisposeAsync();
    }
}
