using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;

namespace Flowstore;

/// <summary>One user setting of a storage type (a property carrying <see cref="StorageSettingAttribute"/>).</summary>
public sealed class StorageSettingInfo
{
    private static readonly ConcurrentDictionary<Type, IReadOnlyList<StorageSettingInfo>> Cache = new();

    private StorageSettingInfo(PropertyInfo property, StorageSettingAttribute attribute)
    {
        Property = property;
        Attribute = attribute;
    }

    /// <summary>The property, e.g. <c>Bucket</c>.</summary>
    public PropertyInfo Property { get; }

    private StorageSettingAttribute Attribute { get; }

    /// <summary>The setting's name (the property's), e.g. "Bucket".</summary>
    public string Name => Property.Name;

    /// <summary>The property's type without <see cref="Nullable{T}"/>.</summary>
    public Type ValueType => Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;

    /// <summary>True for on/off settings (a switch in PowerShell).</summary>
    public bool IsFlag => ValueType == typeof(bool);

    /// <summary>True for a map of strings (a hashtable in PowerShell).</summary>
    public bool IsMap => typeof(IDictionary<string, string>).IsAssignableFrom(ValueType)
        || typeof(IReadOnlyDictionary<string, string>).IsAssignableFrom(ValueType);

    public string HelpMessage => Attribute.HelpMessage;

    public bool Mandatory => Attribute.Mandatory;

    /// <summary>The value names a secret.</summary>
    public bool Secret => Attribute.Secret;

    public StorageSettingPath LocalPath => Attribute.LocalPath;

    /// <summary>The allowed values (enum names for an enum setting), or null for any.</summary>
    public IReadOnlyList<string>? ValidValues => Attribute.ValidValues ?? (ValueType.IsEnum ? Enum.GetNames(ValueType) : null);

    /// <summary>The smallest whole number allowed, or null.</summary>
    public int? Minimum => Attribute.Minimum == int.MinValue ? null : Attribute.Minimum;

    public object? GetValue(StorageSettings settings) => Property.GetValue(settings);

    /// <summary>The value as a short text for views: a map as "key -> value; ...", empty for null.</summary>
    public string Display(StorageSettings settings) => GetValue(settings) switch
    {
        null => "",
        IEnumerable<KeyValuePair<string, string>> map => string.Join("; ", map.Select(e => $"{e.Key} -> {e.Value}")),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        var value => value.ToString() ?? "",
    };

    /// <summary>The settings of a storage settings type, in declaration order.</summary>
    public static IReadOnlyList<StorageSettingInfo> Of(Type settingsType) => Cache.GetOrAdd(settingsType, type => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => (Property: p, Attribute: p.GetCustomAttribute<StorageSettingAttribute>(inherit: true)))
        .Where(p => p.Attribute is not null)
        .OrderBy(p => p.Property.DeclaringType == type ? 1 : 0) // base settings first
        .ThenBy(p => p.Property.MetadataToken)
        .Select(p => new StorageSettingInfo(p.Property, p.Attribute!))
        .ToArray());

    /// <summary>Converts a value given by a front end (string, number, flag, map) to this setting's type.</summary>
    /// <param name="value">The value; IDictionary for maps.</param>
    /// <param name="storageType">For messages.</param>
    /// <param name="resolvePath">Makes a local path absolute where the user is; null leaves paths as given.</param>
    internal object? Convert(object? value, string storageType, Func<string, string>? resolvePath)
    {
        if (value is null)
        {
            return null;
        }
        if (IsMap)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in value as IDictionary ?? throw Invalid(storageType, $"a map of key = value, not '{value}'"))
            {
                var key = entry.Key?.ToString();
                var item = entry.Value?.ToString();
                if (string.IsNullOrEmpty(key) || string.IsNullOrEmpty(item))
                {
                    throw Invalid(storageType, "a map of key = value; an entry is empty");
                }
                map[LocalPath == StorageSettingPath.FileKeys && resolvePath is not null ? ResolveLocal(key, storageType, resolvePath) : key] = item;
            }
            return map;
        }
        if (ValueType == typeof(string))
        {
            var text = value.ToString()!;
            return (LocalPath, resolvePath) switch
            {
                (StorageSettingPath.File, not null) => ResolveLocal(text, storageType, resolvePath),
                (StorageSettingPath.UrlOrFile, not null) when !LooksLikeUrl(text) => new Uri(ResolveLocal(text, storageType, resolvePath)).AbsoluteUri,
                _ => text,
            };
        }
        if (ValueType.IsEnum)
        {
            return Enum.TryParse(ValueType, value.ToString(), ignoreCase: true, out var parsed)
                ? parsed
                : throw Invalid(storageType, $"one of {string.Join(", ", Enum.GetNames(ValueType))}, not '{value}'");
        }
        try
        {
            return System.Convert.ChangeType(value, ValueType, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
        {
            throw Invalid(storageType, $"a {ValueType.Name}, not '{value}'");
        }
    }

    /// <summary>
    /// A local path made absolute where the user is. A path of another operating system ('C:\flows\x.cs' on Linux),
    /// or one the front end cannot resolve (an unknown drive), is <see cref="ErrorIds.StorageInvalid"/> naming it.
    /// </summary>
    private string ResolveLocal(string path, string storageType, Func<string, string> resolvePath)
    {
        var what = $"{storageType} storage setting {Name}";
        if (LocalPaths.ForeignSystem(path) is { } system)
        {
            throw LocalPaths.Foreign(path, system, what, storageType, Name);
        }
        try
        {
            return resolvePath(path);
        }
        catch (Exception e) when (e is not FlowstoreException and not OutOfMemoryException)
        {
            // The front end's own failure (PowerShell: DriveNotFoundException): say which setting and path.
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"{what} is '{path}', which cannot be resolved on this machine: {e.Message}", e)
            { Target = path, Hint = FlowHint.StorageSetting(storageType, Name) };
        }
    }

    /// <summary>A URL (scheme://...) or an scp-like git address (user@host:path), as opposed to a local path.</summary>
    private static bool LooksLikeUrl(string text)
        => text.Contains("://", StringComparison.Ordinal) || System.Text.RegularExpressions.Regex.IsMatch(text, @"^[^/\\]+@[^/\\]+:");

    private FlowstoreException Invalid(string storageType, string expected)
        => StorageSettings.InvalidSetting(storageType, Name, $"{storageType} storage setting {Name} takes {expected}.");
}
