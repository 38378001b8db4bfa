namespace Flowstore.Engine;

/// <summary>The storage providers of one client, by storage type.</summary>
public sealed class StorageProviders
{
    private readonly Dictionary<string, IStorageProvider> _providers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers a storage provider and its settings type.</summary>
    public void Add(IStorageProvider provider)
    {
        StorageTypes.Register(provider.Type, provider.SettingsType);
        _providers[provider.Type] = provider;
    }

    /// <summary>The provider of the settings' storage type; <see cref="ErrorIds.StorageTypeUnknown"/> when there is none.</summary>
    public IStorageProvider For(StorageSettings storage)
        => _providers.TryGetValue(storage.Type, out var p) ? p
            : throw new FlowstoreException(ErrorIds.StorageTypeUnknown, FlowErrorKind.InvalidArgument,
                $"No provider for storage type '{storage.Type}'; available: {string.Join(", ", _providers.Keys.Order())}.");
}
