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
        var changed = Changed(oldTasks, newTasks, (_, now) => now.Name, (was, now) =>
        [
            was.Name != now.Name ? $"name '{was.Name}' -> '{now.Name}'" : null,
            was.Retries != now.Retries ? $"retries {was.Retries} -> {now.Retries}" : null,
            was.RetryDelaySeconds != now.RetryDelaySeconds ? $"retry delay {was.RetryDelaySeconds}s -> {now.RetryDelaySeconds}s" : null,
            was.TimeoutSeconds != now.TimeoutSeconds ? $"timeout {Seconds(was.TimeoutSeconds)} -> {Seconds(now.TimeoutSeconds)}" : null,
        ]);

        // Edges hold slugs; say them with the names the user wrote (the new name where a task was renamed).
        var names = before.Tasks.Concat(after.Tasks).GroupBy(t => t.Slug).ToDictionary(g => g.Key, g => g.Last().Name, StringComparer.Ordinal);
        var oldEdges = before.Edges.Select(e => Describe(e, names)).ToHashSet();
        var newEdges = after.Edges.Select(e => Describe(e, names)).ToHashSet();
        var oldParams = before.Parameters.ToDictionary(p => p.Name);
        var newParams = after.Parameters.ToDictionary(p => p.Name);
        var paramsChanged = Changed(oldParams, newParams, (name, _) => name, (was, now) =>
        [
            was.Type != now.Type ? $"type {was.Type} -> {now.Type}" : null,
            was.Required != now.Required ? (now.Required ? "now required" : "no longer required") : null,
            was.DefaultJson != now.DefaultJson && !now.Required && !was.Required ? $"default {was.DefaultJson} -> {now.DefaultJson}" : null,
        ]);

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

    /// <summary>"name (what changed, ...)" for each item, by key, that is in both and differs; <paramref name="parts"/> gives null for what did not change.</summary>
    private static List<string> Changed<T>(Dictionary<string, T> before, Dictionary<string, T> after, Func<string, T, string> name, Func<T, T, string?[]> parts)
    {
        var changed = new List<string>();
        foreach (var (key, now) in after)
        {
            if (before.TryGetValue(key, out var was) && !EqualityComparer<T>.Default.Equals(was, now))
            {
                changed.Add($"{name(key, now)} ({string.Join(", ", parts(was, now).OfType<string>())})");
            }
        }
        return changed;
    }

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
