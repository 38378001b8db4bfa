namespace Flowstore;

/// <summary>The difference between two flow structures, in words a user can act on.</summary>
public sealed class StructureDiff
{
    private StructureDiff()
    {
    }

    public IReadOnlyList<string> TasksAdded { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<string> TasksRemoved { get; private init; } = Array.Empty<string>();

    /// <summary>Tasks present in both whose options changed, as "name (retries 0 -> 2)".</summary>
    public IReadOnlyList<string> TasksChanged { get; private init; } = Array.Empty<string>();

    public IReadOnlyList<string> EdgesAdded { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<string> EdgesRemoved { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<string> ParametersAdded { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<string> ParametersRemoved { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<string> ParametersChanged { get; private init; } = Array.Empty<string>();

    public bool IsEmpty => TasksAdded.Count + TasksRemoved.Count + TasksChanged.Count + EdgesAdded.Count
        + EdgesRemoved.Count + ParametersAdded.Count + ParametersRemoved.Count + ParametersChanged.Count == 0;

    internal static StructureDiff Compute(FlowStructure before, FlowStructure after)
    {
        var oldTasks = before.Tasks.ToDictionary(t => t.Slug);
        var newTasks = after.Tasks.ToDictionary(t => t.Slug);
        var changed = new List<string>();
        foreach (var (slug, now) in newTasks)
        {
            if (oldTasks.TryGetValue(slug, out var was) && was != now)
            {
                var parts = new List<string>();
                if (was.Name != now.Name) parts.Add($"name '{was.Name}' -> '{now.Name}'");
                if (was.Retries != now.Retries) parts.Add($"retries {was.Retries} -> {now.Retries}");
                if (was.RetryDelaySeconds != now.RetryDelaySeconds) parts.Add($"retry delay {was.RetryDelaySeconds}s -> {now.RetryDelaySeconds}s");
                if (was.TimeoutSeconds != now.TimeoutSeconds) parts.Add($"timeout {Seconds(was.TimeoutSeconds)} -> {Seconds(now.TimeoutSeconds)}");
                changed.Add($"{now.Name} ({string.Join(", ", parts)})");
            }
        }

        // Edges hold slugs; say them with the names the user wrote (the new name where a task was renamed).
        var names = before.Tasks.Concat(after.Tasks).GroupBy(t => t.Slug).ToDictionary(g => g.Key, g => g.Last().Name, StringComparer.Ordinal);
        var oldEdges = before.Edges.Select(e => Describe(e, names)).ToHashSet();
        var newEdges = after.Edges.Select(e => Describe(e, names)).ToHashSet();
        var oldParams = before.Parameters.ToDictionary(p => p.Name);
        var newParams = after.Parameters.ToDictionary(p => p.Name);
        var paramsChanged = new List<string>();
        foreach (var (name, now) in newParams)
        {
            if (oldParams.TryGetValue(name, out var was) && was != now)
            {
                var parts = new List<string>();
                if (was.Type != now.Type) parts.Add($"type {was.Type} -> {now.Type}");
                if (was.Required != now.Required) parts.Add(now.Required ? "now required" : "no longer required");
                if (was.DefaultJson != now.DefaultJson && !now.Required && !was.Required) parts.Add($"default {was.DefaultJson} -> {now.DefaultJson}");
                paramsChanged.Add($"{name} ({string.Join(", ", parts)})");
            }
        }

        return new StructureDiff
        {
            TasksAdded = newTasks.Keys.Except(oldTasks.Keys).Select(s => newTasks[s].Name).Order(StringComparer.Ordinal).ToArray(),
            TasksRemoved = oldTasks.Keys.Except(newTasks.Keys).Select(s => oldTasks[s].Name).Order(StringComparer.Ordinal).ToArray(),
            TasksChanged = changed.Order(StringComparer.Ordinal).ToArray(),
            EdgesAdded = newEdges.Except(oldEdges).Order(StringComparer.Ordinal).ToArray(),
            EdgesRemoved = oldEdges.Except(newEdges).Order(StringComparer.Ordinal).ToArray(),
            ParametersAdded = newParams.Keys.Except(oldParams.Keys).Order(StringComparer.Ordinal).ToArray(),
            ParametersRemoved = oldParams.Keys.Except(newParams.Keys).Order(StringComparer.Ordinal).ToArray(),
            ParametersChanged = paramsChanged.Order(StringComparer.Ordinal).ToArray(),
        };
    }

    private static string Describe(EdgeStructure edge, IReadOnlyDictionary<string, string> names)
        => (edge with
        {
            Upstream = edge.Kind == "parameter" ? edge.Upstream : names.GetValueOrDefault(edge.Upstream, edge.Upstream),
            Downstream = names.GetValueOrDefault(edge.Downstream, edge.Downstream),
        }).ToString();

    private static string Seconds(double? s) => s is { } v ? $"{v}s" : "none";

    /// <summary>One line per kind of change, e.g. "tasks added: load; edges added: transform -> load.rows".</summary>
    public override string ToString()
    {
        if (IsEmpty)
        {
            return "no structural changes";
        }
        var parts = new List<string>();
        void Add(string label, IReadOnlyList<string> items)
        {
            if (items.Count > 0) parts.Add($"{label}: {string.Join(", ", items)}");
        }
        Add("tasks added", TasksAdded);
        Add("tasks removed", TasksRemoved);
        Add("tasks changed", TasksChanged);
        Add("edges added", EdgesAdded);
        Add("edges removed", EdgesRemoved);
        Add("parameters added", ParametersAdded);
        Add("parameters removed", ParametersRemoved);
        Add("parameters changed", ParametersChanged);
        return string.Join("; ", parts);
    }
}
