namespace Flowstore.Storage.Gcs;

/// <summary>Gcs storage (placeholder: the provider is being written).</summary>
public sealed class GcsStorageProvider : IStorageProvider
{
    public string Type => "Gcs";

    public Type SettingsType => typeof(GcsStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => throw new NotImplementedException();

    public Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
