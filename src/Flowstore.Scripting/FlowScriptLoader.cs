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
/// and collects the flows created, the way Prefect's extract_flow_from_file does. With a
/// <see cref="ScriptBuildGuard"/>, a script is first built in the guard's worker process under the build time and
/// memory limits (once per script and process), and the build here runs under the time limit too.
/// </summary>
public sealed class FlowScriptLoader
{
    private readonly ScriptCompiler _compiler;
    private readonly ScriptBuildGuard? _guard;

    /// <param name="compiler">The compiler (and its caches).</param>
    /// <param name="guard">Builds scripts under limits in a worker process first; null builds here only, unguarded.</param>
    public FlowScriptLoader(ScriptCompiler compiler, ScriptBuildGuard? guard = null)
    {
        _compiler = compiler;
        _guard = guard;
    }

    public ScriptCompiler Compiler => _compiler;

    /// <summary>The build limits in force, or null when builds are not guarded.</summary>
    public ScriptBuildLimits? Limits => _guard?.Limits;

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

    /// <summary>Reads, compiles and builds a script file with the files it loads.</summary>
    public async Task<LoadedScript> LoadFileAsync(string path, CancellationToken cancellationToken = default)
        => await LoadSourcesAsync(await ReadSourcesAsync(path, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Compiles and builds script text that loads no other file; <paramref name="origin"/> names it in messages.</summary>
    public Task<LoadedScript> LoadSourceAsync(string source, string origin, CancellationToken cancellationToken = default)
        => LoadSourcesAsync(FlowSources.Single(source, origin), cancellationToken);

    /// <summary>Compiles and builds a script with the files it loads; the script's path names it in messages.</summary>
    public async Task<LoadedScript> LoadSourcesAsync(FlowSources sources, CancellationToken cancellationToken = default)
    {
        _guard?.Prewarm();
        var compiled = await _compiler.CompileAsync(sources, cancellationToken).ConfigureAwait(false);
        return await BuildAsync(compiled, sources.Script.Path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a local script file and the files it loads (<c>#load</c>, see <see cref="ScriptLoads"/> and
    /// <see cref="LocalScriptFiles"/>): a missing script or loaded file is <see cref="ErrorIds.ScriptNotFound"/>.
    /// </summary>
    public static async Task<FlowSources> ReadSourcesAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(path);
        var text = await ReadAsync(full, cancellationToken).ConfigureAwait(false);
        var (reader, scriptPath) = LocalScriptFiles.For(full);
        return await ScriptLoads.ResolveAsync(text, scriptPath, path, reader, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds the flows of a stored compiled flow (frozen storage), unguarded.</summary>
    public LoadedScript LoadAssembly(byte[] assemblyBytes, string origin)
    {
        var compiled = _compiler.LoadAssembly(assemblyBytes, origin);
        return new LoadedScript(origin, compiled, FlowBuild.Run(compiled.Assembly, origin));
    }

    /// <summary>Builds the flows of a stored compiled flow (frozen storage), under the build limits.</summary>
    public async Task<LoadedScript> LoadAssemblyAsync(byte[] assemblyBytes, string origin, CancellationToken cancellationToken = default)
    {
        _guard?.Prewarm();
        return await BuildAsync(_compiler.LoadAssembly(assemblyBytes, origin), origin, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// What the flows of a script look like (names, structures, storage, labels), without building them in this
    /// process when builds are guarded: the worker's build describes them.
    /// </summary>
    public Task<IReadOnlyList<FlowSketch>> DescribeSourceAsync(string source, string origin, CancellationToken cancellationToken = default)
        => DescribeSourcesAsync(FlowSources.Single(source, origin), cancellationToken);

    /// <summary>Describes the flows of a script with the files it loads (see <see cref="DescribeSourceAsync"/>).</summary>
    public async Task<IReadOnlyList<FlowSketch>> DescribeSourcesAsync(FlowSources sources, CancellationToken cancellationToken = default)
    {
        _guard?.Prewarm();
        var origin = sources.Script.Path;
        var compiled = await _compiler.CompileAsync(sources, cancellationToken).ConfigureAwait(false);
        return _guard is null
            ? FlowSketch.Of(FlowBuild.Run(compiled.Assembly, origin))
            : await _guard.BuildAsync(compiled.AssemblyBytes, compiled.Sha256, origin, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a script file with the files it loads and describes its flows (see <see cref="DescribeSourceAsync"/>).</summary>
    public async Task<IReadOnlyList<FlowSketch>> DescribeFileAsync(string path, CancellationToken cancellationToken = default)
        => await DescribeSourcesAsync(await ReadSourcesAsync(path, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    private static async Task<string> ReadAsync(string path, CancellationToken cancellationToken)
    {
        EnsureFlowScriptFile(path);
        try
        {
            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FlowstoreException(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound,
                $"Flow script '{path}' does not exist.", e) { Target = path };
        }
    }

    private async Task<LoadedScript> BuildAsync(CompiledScript compiled, string origin, CancellationToken cancellationToken)
    {
        if (_guard is null)
        {
            return new LoadedScript(origin, compiled, FlowBuild.Run(compiled.Assembly, origin));
        }
        // First in the worker, under both limits (a script seen before within them is remembered)...
        await _guard.BuildAsync(compiled.AssemblyBytes, compiled.Sha256, origin, cancellationToken).ConfigureAwait(false);
        // ...then here, on a thread of its own under the time limit: a top level that loops only sometimes (it depends
        // on the time, a file, the environment) is reported instead of wedging the caller.
        IReadOnlyList<Flow>? flows = null;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                flows = FlowBuild.Run(compiled.Assembly, origin);
            }
            catch (Exception e)
            {
                error = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            }
        }, maxStackSize: 16 * 1024 * 1024)
        { IsBackground = true, Name = "Flowstore build" };
        thread.Start();
        if (!thread.Join(_guard.Limits.Timeout))
        {
            throw new FlowstoreException(ErrorIds.ScriptBuildTimeout, FlowErrorKind.OperationTimeout,
                $"Building the flows of {origin} took longer than the build time limit ({_guard.Limits.TimeoutText}) in this process, though it " +
                $"built within it before: its top-level statements depend on something that changed (a loop or wait on the time, a file, " +
                $"the environment). A script's top-level statements should only declare flows " +
                $"(the limit is the environment variable {ScriptBuildLimits.TimeoutVariable}, in seconds).") { Target = origin };
        }
        error?.Throw();
        return new LoadedScript(origin, compiled, flows!);
    }
}
