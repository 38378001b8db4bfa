namespace Flowstore.Storage.GitLab;

/// <summary>GitLab storage (placeholder: the provider is being written).</summary>
public sealed class GitLabStorageProvider : IStorageProvider
{
    public string Type => "GitLab";

    public Type SettingsType => typeof(GitLabStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => throw new NotImplementedException();

    public Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
