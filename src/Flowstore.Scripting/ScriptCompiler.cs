using System.Reflection.Metadata;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace Flowstore.Scripting;

/// <summary>A compiled flow script, loaded in its own collectible context.</summary>
public sealed class CompiledScript
{
    internal CompiledScript(string sha256, byte[] assemblyBytes, Assembly assembly, string origin, bool fromCache, FlowSources? sources = null)
    {
        Sha256 = sha256;
        AssemblyBytes = assemblyBytes;
        Assembly = assembly;
        Origin = origin;
        FromCache = fromCache;
        Sources = sources;
    }

    /// <summary>
    /// SHA-256 of the script's source (<see cref="FlowSources.Sha256"/>: the script and the files it loads), or of the
    /// assembly, for a frozen flow.
    /// </summary>
    public string Sha256 { get; }

    /// <summary>The emitted assembly (with an embedded PDB), as stored by frozen storage.</summary>
    public byte[] AssemblyBytes { get; }

    public Assembly Assembly { get; }

    /// <summary>The script file or stored assembly it came from.</summary>
    public string Origin { get; }

    /// <summary>True when no compilation was needed (memory or disk cache, or a stored assembly).</summary>
    public bool FromCache { get; }

    /// <summary>The script and the files it loads, as compiled; null for a stored assembly.</summary>
    public FlowSources? Sources { get; }
}

/// <summary>
/// Compiles flow scripts with Roslyn's Compilation/Emit API (never CSharpScript, which recompiles every call)
/// into collectible contexts, cached by the SHA-256 of the source: in memory, and on disk when a cache
/// folder is given (keyed also by the engine build, so an upgraded engine recompiles).
/// </summary>
public sealed class ScriptCompiler
{
    private const string GlobalUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.None);
    private static readonly Lazy<IReadOnlyList<MetadataReference>> FrameworkReferences = new(LoadFrameworkReferences);
    private static readonly Lazy<SyntaxTree> GlobalUsingsTree = new(() =>
        CSharpSyntaxTree.ParseText(GlobalUsings, ParseOptions, path: "FlowstoreGlobalUsings.g.cs", encoding: Encoding.UTF8));

    private readonly ConcurrentDictionary<string, Lazy<Task<CompiledScript>>> _memory = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly string? _cacheDirectory;
    private readonly int _capacity;
    private readonly IReadOnlyList<MetadataReference> _extraReferences;

    /// <param name="cacheDirectory">Folder for compiled assemblies shared between processes; null for memory only.</param>
    /// <param name="capacity">How many compiled scripts to keep in memory.</param>
    /// <param name="additionalReferences">Assemblies scripts may use besides the framework and Flowstore.Core.</param>
    public ScriptCompiler(string? cacheDirectory = null, int capacity = 64, IEnumerable<Assembly>? additionalReferences = null)
    {
        _cacheDirectory = cacheDirectory;
        _capacity = Math.Max(1, capacity);
        _extraReferences = (additionalReferences ?? Array.Empty<Assembly>())
            .Append(typeof(Flow).Assembly)
            .Distinct()
            .Select(a => (MetadataReference)MetadataReference.CreateFromFile(a.Location))
            .ToArray();
    }

    /// <summary>Identifies the engine build: compiled scripts reference it, so the disk cache is keyed by it.</summary>
    public static string EngineKey { get; } = FlowStructure.Sha256Hex(
        Encoding.UTF8.GetBytes(typeof(Flow).Assembly.ManifestModule.ModuleVersionId.ToString("N") + "|" +
                               typeof(ScriptCompiler).Assembly.ManifestModule.ModuleVersionId.ToString("N")))[..16];

    /// <summary>Compiles a script that loads no other file (or takes it from a cache) and loads it.</summary>
    /// <param name="source">The script text.</param>
    /// <param name="path">The file name used in diagnostics and stack traces.</param>
    /// <param name="cancellationToken">Cancels the compilation.</param>
    public Task<CompiledScript> CompileAsync(string source, string path, CancellationToken cancellationToken = default)
        => CompileAsync(FlowSources.Single(source, path), cancellationToken);

    /// <summary>
    /// Compiles a script with the files it loads (or takes it from a cache, keyed by <see cref="FlowSources.Sha256"/>)
    /// and loads it.
    /// </summary>
    public Task<CompiledScript> CompileAsync(FlowSources sources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var sha = sources.Sha256;
        var candidate = new Lazy<Task<CompiledScript>>(() => Task.Run(() => CompileOrLoad(sources, sha, cancellationToken), cancellationToken));
        var lazy = _memory.GetOrAdd(sha, candidate);
        // Only the caller whose entry was added compiles; everyone else gets the result from the memory cache.
        var fromMemory = !ReferenceEquals(lazy, candidate);
        if (!fromMemory)
        {
            _order.Enqueue(sha);
        }
        Trim();
        return AwaitAndForgetFailures(sha, lazy, fromMemory);
    }

    /// <summary>True when the source (a script that loads no other file) is compiled in memory or on disk already.</summary>
    public bool IsCached(string source) => IsCachedSha(FlowStructure.Sha256Hex(source));

    /// <summary>True when the script with the files it loads is compiled in memory or on disk already.</summary>
    public bool IsCached(FlowSources sources) => IsCachedSha(sources.Sha256);

    private bool IsCachedSha(string sha) => _memory.ContainsKey(sha) || (DiskPath(sha) is { } p && File.Exists(p));

    /// <summary>Loads a stored compiled flow (frozen storage).</summary>
    public CompiledScript LoadAssembly(byte[] assemblyBytes, string origin)
    {
        var sha = FlowStructure.Sha256Hex(assemblyBytes);
        return new CompiledScript(sha, assemblyBytes, LoadIntoNewContext(assemblyBytes, "frozen-" + sha[..16]), origin, fromCache: true);
    }

    private async Task<CompiledScript> AwaitAndForgetFailures(string sha, Lazy<Task<CompiledScript>> lazy, bool fromMemory)
    {
        try
        {
            var compiled = await lazy.Value.ConfigureAwait(false);
            return fromMemory && !compiled.FromCache
                ? new CompiledScript(compiled.Sha256, compiled.AssemblyBytes, compiled.Assembly, compiled.Origin, fromCache: true, compiled.Sources)
                : compiled;
        }
        catch
        {
            // A failed compilation (or a cancelled one) is not cached: the next call tries again.
            _memory.TryRemove(new KeyValuePair<string, Lazy<Task<CompiledScript>>>(sha, lazy));
            throw;
        }
    }

    /// <summary>
    /// Forgets the compiled scripts kept in memory and unloads their collectible load contexts (flows already
    /// built from them keep working until they are collected); the disk cache stays.
    /// </summary>
    public void ClearMemory()
    {
        foreach (var sha in _memory.Keys)
        {
            if (_memory.TryRemove(sha, out var entry) && entry.IsValueCreated && entry.Value.IsCompletedSuccessfully
                && System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(entry.Value.Result.Assembly) is { IsCollectible: true } context)
            {
                context.Unload();
            }
        }
        _order.Clear();
    }

    private void Trim()
    {
        while (_memory.Count > _capacity && _order.TryDequeue(out var oldest))
        {
            _memory.TryRemove(oldest, out _);
        }
    }

    private string? DiskPath(string sha) => _cacheDirectory is null ? null : Path.Combine(_cacheDirectory, $"{sha}-{EngineKey}.dll");

    private CompiledScript CompileOrLoad(FlowSources sources, string sha, CancellationToken cancellationToken)
    {
        var path = sources.Script.Path;
        var disk = DiskPath(sha);
        if (disk is not null && File.Exists(disk))
        {
            try
            {
                var cached = File.ReadAllBytes(disk);
                return new CompiledScript(sha, cached, LoadIntoNewContext(cached, "flow-" + sha[..16]), path, fromCache: true, sources);
            }
            catch (Exception e) when (e is IOException or BadImageFormatException or UnauthorizedAccessException)
            {
                // A damaged cache entry is ignored and replaced below.
            }
        }

        var bytes = Emit(sources, sha, cancellationToken, AllReferences());
        if (disk is not null)
        {
            TryWriteCache(disk, bytes);
        }
        return new CompiledScript(sha, bytes, LoadIntoNewContext(bytes, "flow-" + sha[..16]), path, fromCache: false, sources);
    }

    /// <summary>Compiles a single-file script to assembly bytes; throws <see cref="ScriptCompilationException"/> on errors.</summary>
    public static byte[] Emit(string source, string path, string sha, CancellationToken cancellationToken, IEnumerable<MetadataReference>? references = null)
        => Emit(FlowSources.Single(source, path), sha, cancellationToken, references);

    /// <summary>
    /// Compiles a script and the files it loads to assembly bytes: one syntax tree per file, named by its path, so that
    /// diagnostics and stack traces point at the file, line and column. Throws <see cref="ScriptCompilationException"/>
    /// on compiler errors, and <see cref="ErrorIds.ScriptLoadInvalid"/> for a loaded file with top-level statements or a
    /// <c>#load</c> whose file is not among <paramref name="sources"/>.
    /// </summary>
    public static byte[] Emit(FlowSources sources, string sha, CancellationToken cancellationToken, IEnumerable<MetadataReference>? references = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var path = sources.Script.Path;
        var trees = new List<SyntaxTree>();
        var embedded = new List<EmbeddedText>();
        var loadedNames = sources.Loaded.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var file in sources.Files)
        {
            var tree = ParseSourceFile(file, ReferenceEquals(file, sources.Script), loadedNames, cancellationToken);
            trees.Add(tree);
            embedded.Add(EmbeddedText.FromSource(file.Path, tree.GetText(cancellationToken)));
        }
        var compilation = CSharpCompilation.Create(
            "flowscript_" + sha[..16],
            trees.Prepend(GlobalUsingsTree.Value),
            references ?? DefaultReferences(),
            new CSharpCompilationOptions(
                OutputKind.ConsoleApplication,
                optimizationLevel: OptimizationLevel.Release,
                deterministic: true,
                concurrentBuild: true,
                nullableContextOptions: NullableContextOptions.Disable));

        using var pe = new MemoryStream();
        var result = compilation.Emit(pe, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.Embedded),
            embeddedTexts: embedded,
            cancellationToken: cancellationToken);
        if (!result.Success)
        {
            // A task wired to an input of the wrong type is said in the flow's terms, not as delegate overload errors.
            // Roslyn reports declaration errors before those in method bodies; a reader wants them top to bottom, the
            // script's first, then each loaded file's.
            var fileOrder = sources.Files.Select((f, i) => (f.Path, i)).GroupBy(p => p.Path).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
            var errors = TaskWiringDiagnostics.Describe(
                    compilation, trees[0], result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error), path)
                .Select(Explain)
                .OrderBy(d => fileOrder.GetValueOrDefault(d.File, int.MaxValue))
                .ThenBy(d => d.Line)
                .ThenBy(d => d.Column)
                .ToArray();
            throw new ScriptCompilationException(path, errors);
        }
        return pe.ToArray();
    }

    /// <summary>
    /// One file of a script's source as a syntax tree of a regular compilation: its leading <c>#load</c> lines made
    /// comments once each is checked to be among the loaded files; a loaded file must hold no top-level statements.
    /// </summary>
    private static SyntaxTree ParseSourceFile(FlowSourceFile file, bool isScript, IReadOnlySet<string> loadedNames, CancellationToken cancellationToken)
    {
        var tree = CSharpSyntaxTree.ParseText(file.Text, ParseOptions, path: file.Path, encoding: Encoding.UTF8, cancellationToken: cancellationToken);
        var loads = ScriptLoads.Parse(tree);
        foreach (var load in loads)
        {
            if (!loadedNames.Contains(ScriptLoads.LoadedName(file.Name, load.File)))
            {
                throw new FlowstoreException(ErrorIds.ScriptLoadInvalid, FlowErrorKind.InvalidData,
                    $"#load \"{load.File}\" at {file.Path}:{load.Line}: that file was not read with the script; compile the script with the files it loads.")
                { Target = file.Path };
            }
        }
        if (!isScript && tree.GetCompilationUnitRoot(cancellationToken).Members.OfType<Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax>().FirstOrDefault() is { } statement)
        {
            var line = statement.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
            throw new FlowstoreException(ErrorIds.ScriptLoadInvalid, FlowErrorKind.InvalidData,
                $"'{file.Path}' (loaded by {file.LoadedBy ?? "the flow script"}) has a top-level statement at line {line}: a loaded file holds shared " +
                "code only (types and their members); put statements in the flow script, or in a method the script calls.")
            { Target = file.Path };
        }
        return loads.Count == 0
            ? tree
            : CSharpSyntaxTree.ParseText(ScriptLoads.WithoutLoadDirectives(file.Text, tree), ParseOptions, path: file.Path, encoding: Encoding.UTF8,
                cancellationToken: cancellationToken);
    }

    /// <summary>The compiler's "#load is only allowed in scripts" for a #load after a file's first token, said as what it is.</summary>
    private static ScriptDiagnostic Explain(ScriptDiagnostic diagnostic)
        => diagnostic.Id == "CS8097"
            ? diagnostic with { Message = "#load must come before the file's first line of code (usings, statements, types); move it to the top" }
            : diagnostic;

    /// <summary>The references every flow script compiles against (framework + Flowstore.Core).</summary>
    public static IReadOnlyList<MetadataReference> DefaultReferences()
        => FrameworkReferences.Value.Append(MetadataReference.CreateFromFile(typeof(Flow).Assembly.Location)).ToArray();

    private IEnumerable<MetadataReference> AllReferences() => FrameworkReferences.Value.Concat(_extraReferences);

    private static IReadOnlyList<MetadataReference> LoadFrameworkReferences()
    {
        var frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return Directory.EnumerateFiles(frameworkDirectory, "*.dll")
            .Where(IsManagedAssembly)
            .Order(StringComparer.Ordinal)
            .Select(f => (MetadataReference)MetadataReference.CreateFromFile(f))
            .ToArray();
    }

    private static bool IsManagedAssembly(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            using var reader = new System.Reflection.PortableExecutable.PEReader(stream);
            return reader.HasMetadata && reader.GetMetadataReader().IsAssembly;
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or InvalidOperationException)
        {
            return false;
        }
    }

    private static Assembly LoadIntoNewContext(byte[] bytes, string name) => FlowBuild.LoadIntoNewContext(bytes, name);

    private static void TryWriteCache(string disk, byte[] bytes)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(disk)!);
            AtomicFile.Write(disk, bytes); // no leftover temporary file when the disk is full
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cache is an optimisation: a read-only or full disk only costs a recompile next time.
        }
    }
}
