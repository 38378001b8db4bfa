using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Flowstore.Scripting;

/// <summary>The flows a script built, with the compiled script they came from.</summary>
public sealed class LoadedScript
{
    internal LoadedScript(string origin, CompiledScript compiled, IReadOnlyList<Flow> flows)
    {
        Origin = origin;
        Compiled = compiled;
        Flows = flows;
    }

    /// <summary>The script file (or stored assembly) the flows came from.</summary>
    public string Origin { get; }

    public CompiledScript Compiled { get; }

    /// <summary>Every flow the script created, in creation order.</summary>
    public IReadOnlyList<Flow> Flows { get; }

    /// <summary>
    /// The flows with the given names (all when none given). Errors: no flows in the script; a name not
    /// found ("flow 'x' not found in file; found: a, b").
    /// </summary>
    public IReadOnlyList<Flow> Select(IEnumerable<string>? names)
    {
        var wanted = names?.Where(n => !string.IsNullOrWhiteSpace(n)).ToArray() ?? Array.Empty<string>();
        return SelectByName(Flows, f => f.Name, wanted, Origin);
    }

    /// <summary>
    /// The items with the given names (case-insensitive, each once, in the order asked; all when none asked).
    /// A name not found is <see cref="ErrorIds.FlowNotFoundInScript"/>: "flow 'x' not found in file; found: a, b".
    /// </summary>
    public static IReadOnlyList<T> SelectByName<T>(IReadOnlyList<T> items, Func<T, string> nameOf, IReadOnlyList<string>? names, string origin)
    {
        if (names is null || names.Count == 0)
        {
            return items;
        }
        return names.Select(name => items.FirstOrDefault(i => string.Equals(nameOf(i), name, StringComparison.OrdinalIgnoreCase))
                ?? throw new FlowstoreException(ErrorIds.FlowNotFoundInScript, FlowErrorKind.ObjectNotFound,
                    $"Flow '{name}' not found in {origin}; found: {string.Join(", ", items.Select(nameOf))}.") { Target = origin })
            .Distinct()
            .ToArray();
    }

    /// <summary>The one flow with this name.</summary>
    public Flow Select(string name) => Select(new[] { name })[0];

    /// <summary>
    /// The flow with this name, or, when no name is given, the script's only flow; a script with several flows
    /// and no name is <see cref="ErrorIds.FlowNotFoundInScript"/>, naming them.
    /// </summary>
    public Flow SelectOne(string? name)
    {
        if (name is not null)
        {
            return Select(name);
        }
        if (Flows.Count > 1)
        {
            throw new FlowstoreException(ErrorIds.FlowNotFoundInScript, FlowErrorKind.InvalidArgument,
                $"{Origin} holds {Flows.Count} flows ({string.Join(", ", Flows.Select(f => f.Name))}); name the one to use.") { Target = Origin, Hint = FlowHint.ChooseFlow(Origin) };
        }
        return Flows[0];
    }
}

/// <summary>
/// Loads flow scripts: compiles (cached), runs the top-level statements in build mode (no task runs),
/// and collects the flows created, the way Prefect's extract_flow_from_file does.
/// </summary>
public sealed class FlowScriptLoader
{
    private readonly ScriptCompiler _compiler;

    public FlowScriptLoader(ScriptCompiler compiler) => _compiler = compiler;

    public ScriptCompiler Compiler => _compiler;

    /// <summary>
    /// Refuses an existing file that is not a C# file (a README, a .ps1) with <see cref="ErrorIds.NotAFlowScript"/>,
    /// before it is compiled into hundreds of compiler errors. A missing file is left to the reader (ScriptNotFound).
    /// </summary>
    public static void EnsureFlowScriptFile(string path)
    {
        if (File.Exists(path) && !string.Equals(Path.GetExtension(path), ".cs", StringComparison.OrdinalIgnoreCase))
        {
            throw new FlowstoreException(ErrorIds.NotAFlowScript, FlowErrorKind.InvalidArgument,
                $"'{path}' is not a flow script: a flow script is a C# file whose name ends in .cs.") { Target = path };
        }
    }

    /// <summary>Reads, compiles and builds a script file.</summary>
    public async Task<LoadedScript> LoadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        EnsureFlowScriptFile(path);
        string source;
        try
        {
            source = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FlowstoreException(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound,
                $"Flow script '{path}' does not exist.", e) { Target = path };
        }
        return await LoadSourceAsync(source, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Compiles and builds script text; <paramref name="origin"/> names it in messages.</summary>
    public async Task<LoadedScript> LoadSourceAsync(string source, string origin, CancellationToken cancellationToken = default)
    {
        var compiled = await _compiler.CompileAsync(source, origin, cancellationToken).ConfigureAwait(false);
        return new LoadedScript(origin, compiled, Build(compiled, origin));
    }

    /// <summary>Builds the flows of a stored compiled flow (frozen storage).</summary>
    public LoadedScript LoadAssembly(byte[] assemblyBytes, string origin)
    {
        var compiled = _compiler.LoadAssembly(assemblyBytes, origin);
        return new LoadedScript(origin, compiled, Build(compiled, origin));
    }

    private static IReadOnlyList<Flow> Build(CompiledScript compiled, string origin)
    {
        var entry = compiled.Assembly.EntryPoint ?? throw new FlowstoreException(ErrorIds.NoFlowsFound, FlowErrorKind.InvalidData,
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
