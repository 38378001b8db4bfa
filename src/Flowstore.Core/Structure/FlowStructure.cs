using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Flowstore;

/// <summary>A task as far as the structure is concerned: identity and run options, never the body.</summary>
public sealed record TaskStructure(string Name, string Slug, int Retries, double RetryDelaySeconds, double? TimeoutSeconds);

/// <summary>
/// An edge. <see cref="Kind"/> is <c>data</c> (a task result passed as input <see cref="Key"/>),
/// <c>parameter</c> (a parameter passed as input <see cref="Key"/>) or <c>order</c> (ordering only, no key).
/// </summary>
public sealed record EdgeStructure(string Upstream, string Downstream, string Key, string Kind)
{
    public override string ToString() => Kind switch
    {
        "order" => $"{Upstream} -> {Downstream} (order)",
        "parameter" => $"parameter {Upstream} -> {Downstream}.{Key}",
        _ => $"{Upstream} -> {Downstream}.{Key}",
    };
}

/// <summary>A parameter: name, declared type, default value as canonical JSON, and whether a run must give it.</summary>
public sealed record ParameterStructure(string Name, string Type, string? DefaultJson, bool Required);

/// <summary>
/// The structure of a flow (tasks, edges, parameters), with a canonical JSON form and its SHA-256.
/// Task bodies are not part of it: changing a body keeps the structure.
/// </summary>
public sealed class FlowStructure
{
    private const int FormatVersion = 1;

    public FlowStructure(IEnumerable<TaskStructure> tasks, IEnumerable<EdgeStructure> edges, IEnumerable<ParameterStructure> parameters)
    {
        Tasks = tasks.OrderBy(t => t.Slug, StringComparer.Ordinal).ToArray();
        Edges = edges.OrderBy(e => e.Downstream, StringComparer.Ordinal)
            .ThenBy(e => e.Kind, StringComparer.Ordinal)
            .ThenBy(e => e.Key, StringComparer.Ordinal)
            .ThenBy(e => e.Upstream, StringComparer.Ordinal).ToArray();
        Parameters = parameters.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();
        CanonicalJson = WriteCanonical();
        Hash = Sha256Hex(CanonicalJson);
    }

    public IReadOnlyList<TaskStructure> Tasks { get; }
    public IReadOnlyList<EdgeStructure> Edges { get; }
    public IReadOnlyList<ParameterStructure> Parameters { get; }

    /// <summary>Deterministic JSON: fixed property order, sorted lists, invariant numbers, no whitespace.</summary>
    public string CanonicalJson { get; }

    /// <summary>Lower-case hex SHA-256 of <see cref="CanonicalJson"/>.</summary>
    public string Hash { get; }

    /// <summary>Reads the structure of a built flow.</summary>
    public static FlowStructure FromFlow(Flow flow)
    {
        var tasks = flow.Tasks.Select(t => new TaskStructure(
            t.Name, t.Slug, t.Options.Retries, t.Options.RetryDelay.TotalSeconds, t.Options.Timeout?.TotalSeconds));
        var edges = new List<EdgeStructure>();
        foreach (var task in flow.Tasks)
        {
            foreach (var input in task.Inputs)
            {
                edges.Add(input.UpstreamTask is { } up
                    ? new EdgeStructure(up.Slug, task.Slug, input.Key, "data")
                    : new EdgeStructure(input.Parameter!.Name, task.Slug, input.Key, "parameter"));
            }
            edges.AddRange(task.After.Select(up => new EdgeStructure(up.Slug, task.Slug, "", "order")));
        }
        var parameters = flow.Parameters.Select(p => new ParameterStructure(
            p.Name, TypeName(p.Type), p.Required ? null : DefaultJson(p), p.Required));
        return new FlowStructure(tasks, edges, parameters);
    }

    /// <summary>Parses the canonical JSON written by <see cref="CanonicalJson"/>.</summary>
    public static FlowStructure FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var tasks = root.GetProperty("tasks").EnumerateArray().Select(t => new TaskStructure(
            t.GetProperty("name").GetString()!, t.GetProperty("slug").GetString()!, t.GetProperty("retries").GetInt32(),
            t.GetProperty("retryDelaySeconds").GetDouble(),
            t.GetProperty("timeoutSeconds").ValueKind == JsonValueKind.Null ? null : t.GetProperty("timeoutSeconds").GetDouble()));
        var edges = root.GetProperty("edges").EnumerateArray().Select(e => new EdgeStructure(
            e.GetProperty("upstream").GetString()!, e.GetProperty("downstream").GetString()!,
            e.GetProperty("key").GetString()!, e.GetProperty("kind").GetString()!));
        var parameters = root.GetProperty("parameters").EnumerateArray().Select(p => new ParameterStructure(
            p.GetProperty("name").GetString()!, p.GetProperty("type").GetString()!,
            p.GetProperty("default").ValueKind == JsonValueKind.Null ? null : p.GetProperty("default").GetRawText(),
            p.GetProperty("required").GetBoolean()));
        return new FlowStructure(tasks.ToList(), edges.ToList(), parameters.ToList());
    }

    private string WriteCanonical()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("format", FormatVersion);
            WriteObjects(w, "tasks", Tasks, t =>
            {
                w.WriteString("name", t.Name);
                w.WriteString("slug", t.Slug);
                w.WriteNumber("retries", t.Retries);
                WriteRaw(w, "retryDelaySeconds", Number(t.RetryDelaySeconds));
                WriteRaw(w, "timeoutSeconds", t.TimeoutSeconds is { } timeout ? Number(timeout) : null);
            });
            WriteObjects(w, "edges", Edges, e =>
            {
                w.WriteString("upstream", e.Upstream);
                w.WriteString("downstream", e.Downstream);
                w.WriteString("key", e.Key);
                w.WriteString("kind", e.Kind);
            });
            WriteObjects(w, "parameters", Parameters, p =>
            {
                w.WriteString("name", p.Name);
                w.WriteString("type", p.Type);
                WriteRaw(w, "default", p.DefaultJson);
                w.WriteBoolean("required", p.Required);
            });
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>An array property <paramref name="name"/> holding one object per item, its members written by <paramref name="write"/>.</summary>
    private static void WriteObjects<T>(Utf8JsonWriter w, string name, IEnumerable<T> items, Action<T> write)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStartObject();
            write(item);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>A property holding JSON as given (a canonical number or default value), or null.</summary>
    private static void WriteRaw(Utf8JsonWriter w, string name, string? json)
    {
        w.WritePropertyName(name);
        if (json is null)
        {
            w.WriteNullValue();
        }
        else
        {
            w.WriteRawValue(json);
        }
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string DefaultJson(FlowParameter p)
    {
        try
        {
            var json = JsonSerializer.Serialize(p.Default, p.Type);
            // Re-serialise through a JsonDocument so formatting is canonical whatever the type's converter wrote.
            using var doc = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(doc.RootElement);
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException)
        {
            return JsonSerializer.Serialize(Convert.ToString(p.Default, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A readable, stable type name: int, string, int[], List&lt;string&gt;, MyType.</summary>
    public static string TypeName(Type type)
    {
        if (type.IsArray)
        {
            return TypeName(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return TypeName(underlying) + "?";
        }
        var alias = Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => "bool", TypeCode.Byte => "byte", TypeCode.SByte => "sbyte", TypeCode.Char => "char",
            TypeCode.Int16 => "short", TypeCode.UInt16 => "ushort", TypeCode.Int32 => "int", TypeCode.UInt32 => "uint",
            TypeCode.Int64 => "long", TypeCode.UInt64 => "ulong", TypeCode.Single => "float", TypeCode.Double => "double",
            TypeCode.Decimal => "decimal", TypeCode.String => "string",
            _ => null,
        };
        if (alias is not null && !type.IsEnum)
        {
            return alias;
        }
        if (type == typeof(object))
        {
            return "object";
        }
        if (type.IsGenericType)
        {
            var name = type.Name[..type.Name.IndexOf('`')];
            return $"{name}<{string.Join(",", type.GetGenericArguments().Select(TypeName))}>";
        }
        return type.Name;
    }

    /// <summary>Lower-case hex SHA-256 of a UTF-8 string.</summary>
    public static string Sha256Hex(string text) => Sha256Hex(Encoding.UTF8.GetBytes(text));

    /// <summary>Lower-case hex SHA-256 of bytes.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>What changed from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static StructureDiff Diff(FlowStructure before, FlowStructure after) => StructureDiff.Compute(before, after);

    public override string ToString() => $"{Count(Tasks.Count, "task")}, {Count(Edges.Count, "edge")}, {Count(Parameters.Count, "parameter")} ({Hash[..12]})";

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
