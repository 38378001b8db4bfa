using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flowstore;

/// <summary>
/// Where a flow's source lives: what a user sets, nothing else. Settings are immutable records (a changed copy is
/// made with <c>with</c>); they are saved with the registered flow as JSON with a <c>type</c> discriminator, so they
/// hold secret <em>names</em>, never secret values. The user settings are the properties marked with
/// <see cref="StorageSettingAttribute"/>; front ends derive their parameters, help and views from them.
/// </summary>
public abstract record StorageSettings
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

    /// <summary>
    /// The ref a fetch asks for (branch, tag, commit, image tag), for the provenance lines of a run's log; null when
    /// the storage has no refs and a fetch reads what is there now (a file, the latest object).
    /// </summary>
    [JsonIgnore]
    public virtual string? RequestedRef => null;

    /// <summary>Names of the secrets the storage needs (resolved when used): the settings marked as secrets.</summary>
    [JsonIgnore]
    public virtual IEnumerable<string> SecretNames => StorageSettingInfo.Of(GetType())
        .Where(s => s.Secret)
        .Select(s => s.GetValue(this) as string)
        .Where(name => !string.IsNullOrWhiteSpace(name))
        .Select(name => name!)
        .ToArray();

    /// <summary>A short human description, e.g. "Local script /src/flows/etl.cs".</summary>
    public override string ToString() => $"{Type} {Locator}";

    /// <summary>Serialises with a "type" discriminator first.</summary>
    public string ToJson() => StorageTypes.Serialize(this);

    /// <summary>
    /// Checks the settings and throws <see cref="ErrorIds.StorageInvalid"/> naming the first setting at fault (its
    /// hint names the setting, so a front end can say "-Bucket"). The one place for
    /// these rules: New-FlowStorage, flow scripts and the provider all call it. Mandatory settings are checked
    /// here; a storage type adds its own rules in <see cref="ValidateSettings"/>.
    /// </summary>
    public void Validate()
    {
        foreach (var setting in StorageSettingInfo.Of(GetType()))
        {
            var value = setting.GetValue(this);
            if (setting.Mandatory && (value is null || value is string text && string.IsNullOrWhiteSpace(text)))
            {
                throw Invalid(setting.Name, $"{Type} storage needs {setting.Name}: {setting.HelpMessage}");
            }
            if (setting.Minimum is { } minimum && value is int number && number < minimum)
            {
                throw Invalid(setting.Name, $"{Type} storage setting {setting.Name} is {number}; it must be {minimum} or more.");
            }
            if (setting.ValidValues is { } valid && !setting.ValueType.IsEnum && value is string chosen
                && !valid.Contains(chosen, StringComparer.OrdinalIgnoreCase))
            {
                throw Invalid(setting.Name, $"{Type} storage setting {setting.Name} is '{chosen}'; it must be one of {string.Join(", ", valid)}.");
            }
        }
        ValidateSettings();
    }

    /// <summary>The storage type's own rules (beyond mandatory settings); throw <see cref="Invalid"/>.</summary>
    protected virtual void ValidateSettings()
    {
    }

    /// <summary>A <see cref="ErrorIds.StorageInvalid"/> error about one of these settings.</summary>
    /// <param name="setting">The setting at fault (a property name), carried as the error's hint.</param>
    /// <param name="message">What is wrong, naming the storage and the value (never a secret).</param>
    /// <param name="target">The thing at fault for the error record; defaults to the setting's name.</param>
    protected FlowstoreException Invalid(string setting, string message, string? target = null)
        => InvalidSetting(Type, setting, message, target);

    /// <summary>A <see cref="ErrorIds.StorageInvalid"/> error about settings that exclude each other; its hint names them.</summary>
    protected FlowstoreException Conflict(string message, string? target, params string[] settings)
        => new(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument, message)
        {
            Target = target ?? settings.FirstOrDefault(),
            Hint = FlowHint.StorageSettingsExclusive(Type, settings),
        };

    /// <summary>A <see cref="ErrorIds.StorageInvalid"/> error about one setting of a storage type; its hint names the setting.</summary>
    public static FlowstoreException InvalidSetting(string storageType, string setting, string message, string? target = null)
        => new(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument, message)
        {
            Target = target ?? setting,
            Hint = FlowHint.StorageSetting(storageType, setting),
        };

    /// <summary>
    /// Makes settings of a registered type from named values (as a front end collects them), completing local paths
    /// with <paramref name="resolvePath"/>, and validates them.
    /// </summary>
    /// <param name="type">The storage type's name, e.g. "S3".</param>
    /// <param name="values">Setting name → value (case-insensitive); strings, numbers, flags, maps (IDictionary).</param>
    /// <param name="resolvePath">Makes a relative local path absolute; null keeps paths as given.</param>
    public static StorageSettings Create(string type, IReadOnlyDictionary<string, object?> values, Func<string, string>? resolvePath = null)
    {
        var settingsType = StorageTypes.SettingsTypeOf(type);
        var settings = StorageSettingInfo.Of(settingsType);
        var given = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in values)
        {
            var setting = settings.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw InvalidSetting(type, name, $"{type} storage has no setting {name}; its settings: {string.Join(", ", settings.Select(s => s.Name))}.");
            given[setting.Name] = setting.Convert(value, type, resolvePath);
        }

        // The public constructor that takes the most settings (what a flow script calls); the rest are set after.
        var constructor = settingsType.GetConstructors()
            .Where(c => c.GetParameters().All(p => settings.Any(s => string.Equals(s.Name, p.Name, StringComparison.OrdinalIgnoreCase))))
            .OrderByDescending(c => c.GetParameters().Length)
            .First();
        var arguments = constructor.GetParameters().Select(p =>
        {
            var name = settings.First(s => string.Equals(s.Name, p.Name, StringComparison.OrdinalIgnoreCase)).Name;
            return given.Remove(name, out var value) ? value : p.HasDefaultValue ? p.DefaultValue : null;
        }).ToArray();
        StorageSettings result;
        try
        {
            result = (StorageSettings)constructor.Invoke(arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is FlowstoreException inner)
        {
            throw inner;
        }
        foreach (var (name, value) in given)
        {
            settingsType.GetProperty(name)!.SetValue(result, value);
        }
        result.Validate();
        return result;
    }
}

/// <summary>Copies of settings.</summary>
public static class StorageSettingsExtensions
{
    /// <summary>A shallow copy, <c>settings with { }</c> (records may not declare a member named Clone).</summary>
    public static StorageSettings Clone(this StorageSettings settings) => settings with { };
}

/// <summary>
/// The registry of storage types: name → settings class and provider. A provider registers itself with one line in
/// its assembly (<see cref="FlowStorageProviderAttribute"/>); <see cref="Register(Assembly)"/> reads those lines.
/// </summary>
public static class StorageTypes
{
    private static readonly Dictionary<string, StorageTypeInfo> Types = new(StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<Assembly> Registered = [];

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    static StorageTypes()
    {
        Register(typeof(StorageTypes).Assembly);
    }

    /// <summary>Registers every provider an assembly declares with <see cref="FlowStorageProviderAttribute"/> (once per assembly).</summary>
    public static IReadOnlyList<StorageTypeInfo> Register(Assembly assembly)
    {
        lock (Types)
        {
            if (!Registered.Add(assembly))
            {
                return [];
            }
        }
        var added = assembly.GetCustomAttributes<FlowStorageProviderAttribute>().Select(a => StorageTypeInfo.For(a.ProviderType)).ToArray();
        lock (Types)
        {
            foreach (var info in added)
            {
                Types[info.Name] = info;
            }
        }
        return added;
    }

    /// <summary>Registers a settings type without a provider (tests, or a type read but not served here).</summary>
    public static void Register<T>(string type) where T : StorageSettings => Register(type, typeof(T));

    /// <summary>Registers a settings type without a provider (tests, or a type read but not served here).</summary>
    public static void Register(string type, Type settingsType)
    {
        if (!typeof(StorageSettings).IsAssignableFrom(settingsType))
        {
            throw new ArgumentException($"{settingsType} is not a StorageSettings type.", nameof(settingsType));
        }
        lock (Types)
        {
            Types[type] = Types.TryGetValue(type, out var known) && known.SettingsType == settingsType
                ? known
                : new StorageTypeInfo(type, settingsType, null);
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

    /// <summary>The registered types, sorted by name.</summary>
    public static IReadOnlyList<StorageTypeInfo> All
    {
        get
        {
            lock (Types)
            {
                return Types.Values.OrderBy(t => t.Name, StringComparer.OrdinalIgnoreCase).ToArray();
            }
        }
    }

    /// <summary>The registered type of that name (any case), or null.</summary>
    public static StorageTypeInfo? Find(string? type)
    {
        lock (Types)
        {
            return Types.TryGetValue(type ?? "", out var info) ? info : null;
        }
    }

    /// <summary>The settings class of a registered type; <see cref="ErrorIds.StorageTypeUnknown"/> when there is none.</summary>
    public static Type SettingsTypeOf(string? type) => Find(type)?.SettingsType
        ?? throw new FlowstoreException(ErrorIds.StorageTypeUnknown, FlowErrorKind.InvalidData,
            $"Storage type '{type}' is not known to this version of Flowstore; known types: {string.Join(", ", Names)}.") { Target = type };

    internal static string Serialize(StorageSettings settings)
    {
        if (settings is UnknownStorage unknown)
        {
            return unknown.SavedJson;
        }
        var node = JsonSerializer.SerializeToNode(settings, settings.GetType(), JsonOptions)!.AsObject();
        var result = new JsonObject { ["type"] = settings.Type };
        foreach (var (key, value) in node.ToArray())
        {
            if (key is "type" or "isScript" or "locator" or "secretNames" or "requestedRef")
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
        var type = SettingsTypeOf(node["type"]?.GetValue<string>());
        node.Remove("type");
        return (StorageSettings)node.Deserialize(type, JsonOptions)!;
    }
}

/// <summary>A registered storage type.</summary>
/// <param name="Name">The type's name, e.g. "S3" (New-FlowStorage -Type, the JSON discriminator).</param>
/// <param name="SettingsType">The <see cref="StorageSettings"/> record.</param>
/// <param name="ProviderType">The <see cref="IStorageProvider"/>, or null for a type registered without one.</param>
public sealed record StorageTypeInfo(string Name, Type SettingsType, Type? ProviderType)
{
    /// <summary>The user settings of the type.</summary>
    public IReadOnlyList<StorageSettingInfo> Settings => StorageSettingInfo.Of(SettingsType);

    /// <summary>A provider of this type for a client (its constructor taking a <see cref="StorageEnvironment"/>, else none).</summary>
    public IStorageProvider CreateProvider(StorageEnvironment environment)
    {
        if (ProviderType is null)
        {
            throw new InvalidOperationException($"Storage type {Name} was registered without a provider.");
        }
        return ProviderType.GetConstructor([typeof(StorageEnvironment)]) is { } withEnvironment
            ? (IStorageProvider)withEnvironment.Invoke([environment])
            : (IStorageProvider)Activator.CreateInstance(ProviderType)!;
    }

    internal static StorageTypeInfo For(Type providerType)
    {
        if (!typeof(IStorageProvider).IsAssignableFrom(providerType))
        {
            throw new ArgumentException($"{providerType} registered as a storage provider does not implement IStorageProvider.", nameof(providerType));
        }
        var info = new StorageTypeInfo("", typeof(StorageSettings), providerType);
        // The provider names its type and settings class; a throw-away instance tells them.
        var prototype = info.CreateProvider(new StorageEnvironment(Path.Combine(Path.GetTempPath(), "flowstore-prototype")));
        return info with { Name = prototype.Type, SettingsType = prototype.SettingsType };
    }
}
