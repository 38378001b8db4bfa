namespace Flowstore.Storage.S3;

/// <summary>S3 storage (placeholder: the provider is being written).</summary>
public sealed class S3StorageProvider : IStorageProvider
{
    public string Type => "S3";

    public Type SettingsType => typeof(S3Storage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => throw new NotImplementedException();

    public Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
