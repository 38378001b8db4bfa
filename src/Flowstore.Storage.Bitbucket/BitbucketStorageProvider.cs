namespace Flowstore.Storage.Bitbucket;

/// <summary>Bitbucket storage (placeholder: the provider is being written).</summary>
public sealed class BitbucketStorageProvider : IStorageProvider
{
    public string Type => "Bitbucket";

    public Type SettingsType => typeof(BitbucketStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => throw new NotImplementedException();

    public Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
