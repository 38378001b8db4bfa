namespace Flowstore.Storage.GitHub;

/// <summary>GitHub storage (placeholder: the provider is being written).</summary>
public sealed class GitHubStorageProvider : IStorageProvider
{
    public string Type => "GitHub";

    public Type SettingsType => typeof(GitHubStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => throw new NotImplementedException();

    public Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
