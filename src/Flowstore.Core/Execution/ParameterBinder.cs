using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace Flowstore;

/// <summary>Turns user-given parameter values (a PowerShell hashtable, JSON) into the flow's declared types.</summary>
public static class ParameterBinder
{
    /// <summary>
    /// Values for every declared parameter: given values converted to the declared type, defaults for the rest.
    /// Errors before any task runs: a missing required parameter, an unknown name, a value that does not convert.
    /// </summary>
    public static IReadOnlyDictionary<string, object?> Bind(Flow flow, IReadOnlyDictionary<string, object?>? given)
    {
        given ??= new Dictionary<string, object?>();
        CheckNames(flow.Name, flow.Parameters.Select(p => (p.Name, FlowStructure.TypeName(p.Type), p.Required)), given);

        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in flow.Parameters)
        {
            var match = given.FirstOrDefault(kv => string.Equals(kv.Key, p.Name, StringComparison.OrdinalIgnoreCase));
            if (match.Key is null)
            {
                values[p.Name] = p.Default;
                continue;
            }
            values[p.Name] = Convert(flow, p, match.Value);
        }
        return values;
    }

    /// <summary>
    /// Checks given parameter names against the declared ones (case-insensitive): an unknown name is
    /// <see cref="ErrorIds.ParameterUnknown"/>, a required parameter not given is <see cref="ErrorIds.ParameterMissing"/>
    /// (the first, in the order declared). Used for a built flow and for a registered structure alike.
    /// </summary>
    public static void CheckNames(string flow, IEnumerable<(string Name, string Type, bool Required)> declared,
        IReadOnlyDictionary<string, object?>? given)
    {
        var parameters = declared.ToArray();
        var names = given?.Keys ?? Enumerable.Empty<string>();
        bool IsDeclared(string name) => parameters.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        var unknown = names.Where(k => !IsDeclared(k)).ToArray();
        if (unknown.Length > 0)
        {
            var known = parameters.Length == 0 ? "it declares none" : "declared: " + string.Join(", ", parameters.Select(p => p.Name));
            throw new FlowstoreException(ErrorIds.ParameterUnknown, FlowErrorKind.InvalidArgument,
                $"Flow '{flow}' has no parameter {string.Join(", ", unknown.Select(u => $"'{u}'"))}; {known}.") { Target = flow };
        }
        foreach (var p in parameters.Where(p => p.Required))
        {
            if (!names.Any(k => string.Equals(k, p.Name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new FlowstoreException(ErrorIds.ParameterMissing, FlowErrorKind.InvalidArgument,
                    $"Flow '{flow}' requires parameter '{p.Name}' ({p.Type}); give it with -Parameters @{{ {p.Name} = ... }}.") { Target = flow };
            }
        }
    }

    private static object? Convert(Flow flow, FlowParameter p, object? value)
        => Convert(flow.Name, p.Name, FlowStructure.TypeName(p.Type), p.Type, value);

    private static object? Convert(string flow, string name, string typeName, Type type, object? value)
    {
        try
        {
            return ConvertTo(value, type);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or JsonException or NotSupportedException or ArgumentException)
        {
            throw new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                $"Parameter '{name}' of flow '{flow}' must be {typeName}; the value '{Describe(value)}' does not convert ({e.Message})", e) { Target = flow };
        }
    }

    /// <summary>
    /// Checks given values against a registered structure before a run is created (nothing is compiled): names as
    /// <see cref="CheckNames"/> does, and each value converted to its declared type where that type is known without
    /// the script (numbers, text, flags, dates, GUIDs, arrays and lists of them); a value that does not convert is
    /// <see cref="ErrorIds.ParameterInvalid"/> naming the parameter and its type. The run still records the values as
    /// given (they are converted again when it starts); types only the script declares are checked then.
    /// </summary>
    public static void CheckDeclared(string flow, IEnumerable<ParameterStructure> declared, IReadOnlyDictionary<string, object?>? given)
    {
        var parameters = declared.ToArray();
        CheckNames(flow, parameters.Select(p => (p.Name, p.Type, p.Required)), given);
        foreach (var (key, value) in given ?? new Dictionary<string, object?>())
        {
            var p = parameters.First(d => string.Equals(d.Name, key, StringComparison.OrdinalIgnoreCase));
            if (KnownType(p.Type) is { } type)
            {
                Convert(flow, p.Name, p.Type, type, value);
            }
        }
    }

    private static readonly Dictionary<string, Type> Simple = new(StringComparer.Ordinal)
    {
        ["bool"] = typeof(bool), ["byte"] = typeof(byte), ["sbyte"] = typeof(sbyte), ["char"] = typeof(char),
        ["short"] = typeof(short), ["ushort"] = typeof(ushort), ["int"] = typeof(int), ["uint"] = typeof(uint),
        ["long"] = typeof(long), ["ulong"] = typeof(ulong), ["float"] = typeof(float), ["double"] = typeof(double),
        ["decimal"] = typeof(decimal), ["string"] = typeof(string), ["object"] = typeof(object),
        ["Guid"] = typeof(Guid), ["DateTime"] = typeof(DateTime), ["DateTimeOffset"] = typeof(DateTimeOffset),
        ["TimeSpan"] = typeof(TimeSpan), ["DateOnly"] = typeof(DateOnly), ["TimeOnly"] = typeof(TimeOnly), ["Uri"] = typeof(Uri),
    };

    private static readonly Dictionary<string, Type> Lists = new(StringComparer.Ordinal)
    {
        ["List"] = typeof(List<>), ["IList"] = typeof(IList<>), ["ICollection"] = typeof(ICollection<>),
        ["IEnumerable"] = typeof(IEnumerable<>), ["IReadOnlyList"] = typeof(IReadOnlyList<>),
        ["IReadOnlyCollection"] = typeof(IReadOnlyCollection<>), ["HashSet"] = typeof(HashSet<>), ["ISet"] = typeof(ISet<>),
    };

    /// <summary>
    /// The type a registered type name (as <see cref="FlowStructure.TypeName"/> writes it) stands for, when it is one
    /// this process knows without the script: the C# aliases, Guid, dates and times, Uri, and arrays, nullables and
    /// lists of those. Null for anything else (enums and records the script declares).
    /// </summary>
    public static Type? KnownType(string name)
    {
        if (name.EndsWith('?'))
        {
            return KnownType(name[..^1]) is { IsValueType: true } inner ? typeof(Nullable<>).MakeGenericType(inner) : null;
        }
        if (name.EndsWith("[]", StringComparison.Ordinal))
        {
            return KnownType(name[..^2])?.MakeArrayType();
        }
        if (Simple.TryGetValue(name, out var simple))
        {
            return simple;
        }
        var open = name.IndexOf('<');
        if (open > 0 && name.EndsWith('>') && Lists.TryGetValue(name[..open], out var list))
        {
            return KnownType(name[(open + 1)..^1]) is { } element ? list.MakeGenericType(element) : null;
        }
        return null;
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => s.Length > 40 ? s[..40] + "..." : s,
        IEnumerable e and not string => "[" + string.Join(", ", e.Cast<object?>().Take(5)) + "]",
        _ => System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>Converts a value to a type: as is, IConvertible, arrays and lists element by element, else JSON.</summary>
    public static object? ConvertTo(object? value, Type type)
    {
        if (value is null)
        {
            if (type.IsValueType && Nullable.GetUnderlyingType(type) is null)
            {
                throw new InvalidCastException("null is not allowed");
            }
            return null;
        }
        if (type.IsInstanceOfType(value))
        {
            return value;
        }
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsEnum)
        {
            return value is string name ? Enum.Parse(target, name, ignoreCase: true) : Enum.ToObject(target, value);
        }
        if (target == typeof(Guid))
        {
            return Guid.Parse(System.Convert.ToString(value, CultureInfo.InvariantCulture)!);
        }
        if (target == typeof(TimeSpan) && value is string ts)
        {
            return TimeSpan.Parse(ts, CultureInfo.InvariantCulture);
        }
        if (target == typeof(DateTimeOffset) && value is string dto)
        {
            return DateTimeOffset.Parse(dto, CultureInfo.InvariantCulture);
        }
        if (typeof(IConvertible).IsAssignableFrom(target) && value is IConvertible)
        {
            if (target == typeof(bool) && value is string b)
            {
                return bool.Parse(b);
            }
            return System.Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
        }
        if (value is IEnumerable items && value is not string)
        {
            var elementType = target.IsArray ? target.GetElementType()
                : target.IsGenericType && target.GetGenericArguments().Length == 1 ? target.GetGenericArguments()[0] : null;
            if (elementType is not null)
            {
                var converted = items.Cast<object?>().Select(i => ConvertTo(i, elementType)).ToArray();
                var array = Array.CreateInstance(elementType, converted.Length);
                for (var i = 0; i < converted.Length; i++)
                {
                    array.SetValue(converted[i], i);
                }
                if (target.IsAssignableFrom(array.GetType()))
                {
                    return array;
                }
                return Activator.CreateInstance(target, array);
            }
        }
        var json = value is string s ? s : JsonSerializer.Serialize(value);
        return JsonSerializer.Deserialize(json, target) ?? throw new InvalidCastException("null is not allowed");
    }
}
