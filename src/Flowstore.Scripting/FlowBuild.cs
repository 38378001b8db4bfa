using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Flowstore.Scripting;

/// <summary>What a script's flows look like, without their code: enough to describe and register them.</summary>
/// <param name="Name">The flow's name.</param>
/// <param name="Slug">Its slug.</param>
/// <param name="Structure">The canonical structure JSON.</param>
/// <param name="Storage">The storage the script sets (settings JSON), or null.</param>
/// <param name="Labels">The labels the script sets.</param>
/// <param name="Description">The flow's description, or null.</param>
/// <param name="StorageInstance">Which storage object of the script the flow sets: flows with the same number share one
/// storage instance, null for a flow without storage.</param>
/// <param name="Schedule">The schedule the script sets (<see cref="Flowstore.Schedule.ToJson"/>), or null.</param>
public sealed record FlowSketch(string Name, string Slug, string Structure, string? Storage, string[] Labels, string? Description, int? StorageInstance = null,
    string? Schedule = null)
{
    /// <summary>The sketches of a script's built flows; flows that set the same storage object get the same <see cref="StorageInstance"/>.</summary>
    public static IReadOnlyList<FlowSketch> Of(IReadOnlyList<Flow> flows)
    {
        var instances = new List<StorageSettings>();
        return flows.Select(flow =>
        {
            int? instance = null;
            if (flow.Storage is { } storage)
            {
                instance = instances.FindIndex(s => ReferenceEquals(s, storage));
                if (instance < 0)
                {
                    instances.Add(storage);
                    instance = instances.Count - 1;
                }
            }
            return new FlowSketch(flow.Name, flow.Slug, FlowStructure.FromFlow(flow).CanonicalJson, flow.Storage?.ToJson(), flow.Labels.ToArray(),
                flow.Description, instance, flow.Schedule?.ToJson());
        }).ToArray();
    }
}

/// <summary>
/// Building: running a compiled script's top-level statements in build mode (no task runs) and collecting the
/// flows it created. Shared by the in-process loader and the build worker process.
/// </summary>
internal static class FlowBuild
{
    /// <summary>Loads assembly bytes into a new collectible context (entry point JIT-compiled in quick mode).</summary>
    public static Assembly LoadIntoNewContext(byte[] bytes, string name)
    {
        var context = new FlowScriptLoadContext(name);
        // The entry point (top-level statements, run once to build the flows) is JIT-compiled in quick mode.
        using var stream = new MemoryStream(EntryPointJit.WithQuickJitEntryPoint(bytes), writable: false);
        return context.LoadFromStream(stream);
    }

    /// <summary>Runs the script's top level and returns the flows it created, validated.</summary>
    public static IReadOnlyList<Flow> Run(Assembly assembly, string origin)
    {
        var entry = assembly.EntryPoint ?? throw new FlowstoreException(ErrorIds.NoFlowsFound, FlowErrorKind.InvalidData,
            $"No flows found in {origin}: the script has no top-level statements creating a Flow.") { Target = origin };

        IReadOnlyList<Flow> flows;
        using (var context = new FlowBuildContext())
        {
            try
            {
                var args = entry.GetParameters().Length == 0 ? null : new object[] { Array.Empty<string>() };
                if (entry.Invoke(null, args) is Task task)
                {
                    task.GetAwaiter().GetResult();
                }
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                if (inner is FlowstoreException)
                {
                    ExceptionDispatchInfo.Capture(inner).Throw();
                }
                throw new FlowstoreException(ErrorIds.ScriptExecutionFailed, FlowErrorKind.InvalidData,
                    $"Building the flows of {origin} failed: {inner.GetType().Name}: {inner.Message}{ScriptLocation.Of(inner, origin)}", inner) { Target = origin };
            }
            flows = context.Flows.ToArray();
        }

        if (flows.Count == 0)
        {
            throw new FlowstoreException(ErrorIds.NoFlowsFound, FlowErrorKind.InvalidData,
                $"No flows found in {origin}: the script creates no Flow (write `var flow = new Flow(\"name\");`).") { Target = origin };
        }
        // Names equal but for case make one slug too; names that differ otherwise but make one slug would share
        // the files, keys and images named after it.
        var duplicate = flows.GroupBy(f => f.Slug, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            var lines = string.Join(", ", duplicate.Select(f => Flow.Where(f.SourceFile, f.SourceLine)));
            var names = duplicate.Select(f => f.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            throw new FlowstoreException(ErrorIds.DuplicateFlowName, FlowErrorKind.InvalidData, names.Length == 1
                ? $"{origin} creates {duplicate.Count()} flows named '{names[0]}' ({lines}); flow names must be unique within a file."
                : $"{origin} creates flows {string.Join(" and ", names.Select(n => $"'{n}'"))} ({lines}): the names differ, but {(names.Length == 2 ? "both make" : "all make")} the slug " +
                  $"'{duplicate.Key}'; flow names must make different slugs within a file.") { Target = origin };
        }
        foreach (var flow in flows)
        {
            flow.Validate();
        }
        return flows;
    }
}
