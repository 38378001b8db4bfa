namespace Flowstore;

/// <summary>
/// Settings saved with a flow whose storage type this process does not know (its provider is not loaded here): kept
/// as saved, so the flow can still be listed and shown; fetching or registering with it is
/// <see cref="ErrorIds.StorageTypeUnknown"/>.
/// </summary>
public sealed record UnknownStorage : StorageSettings
{
    private readonly string _type;

    private UnknownStorage(string type, string json)
    {
        _type = type;
        SavedJson = json;
    }

    public override string Type => _type;

    public override bool IsScript => true;

    public override string Locator => $"{_type}:{SavedJson}";

    /// <summary>The settings exactly as saved (written back unchanged).</summary>
    internal string SavedJson { get; }

    /// <summary>Saved settings: their type's settings record, or <see cref="UnknownStorage"/> when the type is not known here.</summary>
    public static StorageSettings Read(string json)
    {
        try
        {
            return StorageTypes.Deserialize(json);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.StorageTypeUnknown)
        {
            return new UnknownStorage(e.Target ?? "unknown", json);
        }
    }

    public override string ToString() => $"{_type} (a storage type this version of Flowstore does not know)";
}
