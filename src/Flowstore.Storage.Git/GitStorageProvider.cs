namespace Flowstore.Storage.Git;

/// <summary>Git storage (placeholder: the provider is being written).</summary>
public sealed class GitStorageProvider : IStorageProvider
{
    public string Type => "Git";

    public Type SettingsType => typeof(GitStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => throw new NotImplementedException();

    public Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
