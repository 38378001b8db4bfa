namespace Flowstore.Storage.Contract.GitHosts;

/// <summary>
/// The storage contract for a Git host over HTTP (GitHub, GitLab, Bitbucket Server) in script mode (they publish
/// scripts), against the API stand-in over a fresh bare repository per test; faults come from the stand-in's fault
/// injection, old commits stay readable. A host's fixture says how to name a repository, make its settings and find
/// its API path.
/// </summary>
public abstract class GitHostStorageContractTests() : RemoteStorageContractTests(StorageMode.Script)
{
    private const string MissingPath = "flows/missing.cs";
    private readonly List<TestRepo> _repos = [];
    private IStorageProvider? _provider;

    /// <summary>The secret name the settings give for the token.</summary>
    protected abstract string TokenSecret { get; }

    /// <summary>The provider, configured with <see cref="StorageContractTests.FastRetry"/>.</summary>
    protected abstract IStorageProvider CreateProvider();

    /// <summary>The full name of a new repository under the stand-in's root (owner/repo, group/sub/project, KEY/slug).</summary>
    protected abstract string NewRepositoryName();

    /// <summary>Settings for <paramref name="path"/> in <paramref name="repo"/>, with <see cref="TokenSecret"/>.</summary>
    protected abstract StorageSettings Settings(TestRepo repo, string path);

    /// <summary>Settings like <paramref name="stored"/> for another path.</summary>
    protected abstract StorageSettings WithPath(StorageSettings stored, string path);

    /// <summary>The stand-in's API path of the repository <paramref name="stored"/> names (for fault injection).</summary>
    protected abstract string ApiPrefix(StorageSettings stored);

    protected sealed override IStorageProvider Provider => _provider ??= CreateProvider();

    protected sealed override ISecretResolver Secrets => new FixedSecrets((TokenSecret, StandIn.Token));

    protected sealed override Task<StorageSettings> NewStorageAsync()
    {
        var repo = TestRepo.Create(NewRepositoryName());
        _repos.Add(repo);
        repo.CommitAndPush("README.md", "readme");
        return Task.FromResult(Settings(repo, "flows/contract.cs"));
    }

    protected sealed override StorageSettings MissingObject(StorageSettings stored) => WithPath(stored, MissingPath);

    protected sealed override string MissingObjectName(StorageSettings missing) => MissingPath;

    protected sealed override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
        => (stored, new FixedSecrets((TokenSecret, secret)));

    protected sealed override async Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        await StandIn.InjectAsync(ApiPrefix(stored), 503, faults);
        return stored;
    }

    public override async Task DisposeAsync()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
        await base.DisposeAsync();
    }
}
