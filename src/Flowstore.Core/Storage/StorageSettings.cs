using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flowstore;

/// <summary>
/// Where a flow's source lives. Settings are plain data: they are saved with the registered flow (as JSON
/// with a <c>type</c> discriminator), so they hold secret <em>names</em>, never secret values.
/// </summary>
public abstract class StorageSettings
{
    /// <summary>The storage type, e.g. "Local", "GitHub", "S3"; the discriminator in saved JSON.</summary>
    [JsonIgnore]
    public abstract string Type { get; }

    /// <summary>
    /// True when runs fetch the script source; false when registration stores the compiled flow (frozen).
    /// Script-only storages always return true.
    /// </summary>
    [JsonIgnore]
    public abstract bool IsScript { get; }

    /// <summary>Identifies where the flow is kept, for the registration key. Never holds a secret.</summary>
    [JsonIgnore]
    public abstract string Locator { get; }

    /// <summary>Names of the secrets the storage needs (resolved when used).</summary>
    [JsonIgnore]
    public virtual IEnumerable<string> SecretNames => Array.Empty<string>();

    /// <summary>A short human description, e.g. "Local script /src/flows/etl.cs".</summary>
    public override string ToString() => $"{Type} {Locator}";

    /// <summary>Serialises with a "type" discriminator first.</summary>
    public string ToJson() => StorageTypes.Serialize(this);

    /// <summary>A deep copy (settings are mutable; the engine never changes a caller's object).</summary>
    public StorageSettings Clone() => StorageTypes.Deserialize(ToJson());
}

/// <summary>The registry of storage types: one line per provider maps the type name to its settings class.</summary>
public static class StorageTypes
{
    private static readonly Dictionary<string, Type> Types = new(StringComparer.OrdinalIgnoreCase);

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    static StorageTypes()
    {
        Register<LocalStorage>("Local");
    }

    /// <summary>Registers a storage settings type under its name.</summary>
    public static void Register<T>(string type) where T : StorageSettings
    {
        lock (Types)
        {
            Types[type] = typeof(T);
        }
    }

    /// <summary>Registers a storage settings type under its name.</summary>
    public static void Register(string type, Type settingsType)
    {
        if (!typeof(StorageSettings).IsAssignableFrom(settingsType))
        {
            throw new ArgumentException($"{settingsType} is not a StorageSettings type.", nameof(settingsType));
        }
        lock (Types)
        {
            Types[type] = settingsType;
        }
    }

    /// <summary>The registered type names, sorted.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (Types)
            {
                return Types.Keys.Order(StringComparer.OrdinalIgnoreCase).ToArray();
            }
        }
    }

    internal static string Serialize(StorageSettings settings)
    {
        var node = JsonSerializer.SerializeToNode(settings, settings.GetType(), JsonOptions)!.AsObject();
        var result = new JsonObject { ["type"] = settings.Type };
        foreach (var (key, value) in node.ToArray())
        {
            if (key is "type" or "isScript" or "locator" or "secretNames")
            {
                // Derived overrides of the base's computed members do not inherit [JsonIgnore].
                continue;
            }
            node.Remove(key);
            result[key] = value;
        }
        return result.ToJsonString();
    }

    /// <summary>Reads settings saved by <see cref="StorageSettings.ToJson"/>.</summary>
    public static StorageSettings Deserialize(string json)
    {
        var node = JsonNode.Parse(json)?.AsObject()
            ?? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData, "Storage settings are empty.");
        var typeName = node["type"]?.GetValue<string>();
        Type? type;
        lock (Types)
        {
            Types.TryGetValue(typeName ?? "", out type);
        }
        if (type is null)
        {
            throw new FlowstoreException(ErrorIds.StorageTypeUnknown, FlowErrorKind.InvalidData,
                $"Storage type '{typeName}' is not known to this version of Flowstore; known types: {string.Join(", ", Names)}.");
        }
        node.Remove("type");
        return (StorageSettings)node.Deserialize(type, JsonOptions)!;
    }
}
