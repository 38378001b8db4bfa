namespace Flowstore.Storage.Docker;

/// <summary>Docker storage (placeholder: the provider is being written).</summary>
public sealed class DockerStorageProvider : IStorageProvider
{
    public string Type => "Docker";

    public Type SettingsType => typeof(DockerStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => throw new NotImplementedException();

    public Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
        => throw new NotImplementedException();

    public Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}
