using System.Globalization;

namespace Flowstore;

/// <summary>
/// A flow's structure as a user reads it (the <c>Structure</c> of Get-Flow and Register-Flow objects): tasks in the
/// order they can run, each with its options, upstream tasks and parameters; parameters with type, default and
/// whether a run must give them; edges between the names the script wrote. <see cref="ToJson"/> gives the canonical
/// JSON when that is what is wanted.
/// </summary>
public sealed class FlowStructureInfo
{
    private readonly FlowStructure _structure;

    public FlowStructureInfo(FlowStructure structure)
    {
        _structure = structure;
        var names = structure.Tasks.ToDictionary(t => t.Slug, t => t.Name, StringComparer.Ordinal);
        string NameOf(string slug) => names.TryGetValue(slug, out var name) ? name : slug;

        Edges = structure.Edges.Select(e => new FlowEdgeInfo(
            e.Kind == "parameter" ? e.Upstream : NameOf(e.Upstream), NameOf(e.Downstream), e.Key,
            e.Kind switch { "parameter" => FlowEdgeKind.Parameter, "order" => FlowEdgeKind.Order, _ => FlowEdgeKind.Data })).ToArray();
        Parameters = structure.Parameters.Select(p => new FlowParameterInfo(p.Name, p.Type, p.Required ? null : DefaultValue(p.DefaultJson), p.Required)).ToArray();

        var upstream = structure.Tasks.ToDictionary(t => t.Slug, t => structure.Edges
            .Where(e => e.Downstream == t.Slug && e.Kind != "parameter").Select(e => e.Upstream).Distinct().ToArray(), StringComparer.Ordinal);
        Tasks = RunOrder(structure.Tasks, upstream).Select(t => new FlowTaskInfo(
            t.Name, t.Slug,
            upstream[t.Slug].Select(NameOf).Order(StringComparer.OrdinalIgnoreCase).ToArray(),
            structure.Edges.Where(e => e.Downstream == t.Slug && e.Kind == "parameter").Select(e => e.Upstream).Distinct().Order(StringComparer.Ordinal).ToArray(),
            t.Retries, TimeSpan.FromSeconds(t.RetryDelaySeconds), t.TimeoutSeconds is { } timeout ? TimeSpan.FromSeconds(timeout) : null)).ToArray();
    }

    /// <summary>The tasks, upstream tasks before the tasks that need them (ties by name, ignoring case).</summary>
    public IReadOnlyList<FlowTaskInfo> Tasks { get; }

    public IReadOnlyList<FlowParameterInfo> Parameters { get; }

    public IReadOnlyList<FlowEdgeInfo> Edges { get; }

    /// <summary>The structure hash (SHA-256 of the canonical JSON).</summary>
    public string Hash => _structure.Hash;

    /// <summary>The canonical JSON the hash is computed from.</summary>
    public string ToJson() => _structure.CanonicalJson;

    /// <summary>Reads the canonical JSON.</summary>
    public static FlowStructureInfo FromJson(string json) => new(FlowStructure.FromJson(json));

    /// <summary>"3 tasks (extract, transform, load), 2 edges, 1 parameter".</summary>
    public override string ToString()
        => $"{Count(Tasks.Count, "task")}{(Tasks.Count == 0 ? "" : $" ({string.Join(", ", Tasks.Select(t => t.Name))})")}, "
            + $"{Count(Edges.Count, "edge")}, {Count(Parameters.Count, "parameter")}";

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    private static IEnumerable<TaskStructure> RunOrder(IReadOnlyList<TaskStructure> tasks, IReadOnlyDictionary<string, string[]> upstream)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var left = tasks.OrderBy(t => t.Name, StringComparer.OrdinalIgnoreCase).ToList();
        while (left.Count > 0)
        {
            // A registered structure has no cycles; should one appear, the rest follow by name rather than never.
            var next = left.FirstOrDefault(t => upstream[t.Slug].All(u => done.Contains(u) || !upstream.ContainsKey(u))) ?? left[0];
            left.Remove(next);
            done.Add(next.Slug);
            yield return next;
        }
    }

    private static object? DefaultValue(string? json)
        => json is null ? null : RunParameters.Read("{\"value\":" + json + "}")["value"];
}

/// <summary>A task: its name and slug, the tasks it waits for, the parameters it takes, and its run options.</summary>
public sealed record FlowTaskInfo(string Name, string Slug, IReadOnlyList<string> Upstream, IReadOnlyList<string> Parameters,
    int Retries, TimeSpan RetryDelay, TimeSpan? Timeout)
{
    public override string ToString() => Name;
}

/// <summary>A parameter: name, declared type, default (null when required) and whether a run must give it.</summary>
public sealed record FlowParameterInfo(string Name, string Type, object? Default, bool Required)
{
    public override string ToString() => Required
        ? $"{Name} ({Type}, required)"
        : $"{Name} ({Type}) = {Show(Default)}";

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        bool b => b ? "true" : "false",
        object[] items => "[" + string.Join(", ", items.Select(Show)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>What an edge carries.</summary>
public enum FlowEdgeKind
{
    /// <summary>A task's result, passed as an input of the downstream task.</summary>
    Data,

    /// <summary>A parameter's value, passed as an input of the downstream task.</summary>
    Parameter,

    /// <summary>Ordering only: the downstream task waits, nothing is passed.</summary>
    Order,
}

/// <summary>An edge: from a task (or a parameter) to the task that takes it, as input <see cref="Input"/>.</summary>
public sealed record FlowEdgeInfo(string From, string To, string Input, FlowEdgeKind Kind)
{
    public override string ToString() => Kind switch
    {
        FlowEdgeKind.Order => $"{From} -> {To} (order)",
        FlowEdgeKind.Parameter => $"parameter {From} -> {To} ({Input})",
        _ => $"{From} -> {To} ({Input})",
    };
}
