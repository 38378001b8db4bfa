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
    internal CompiledScript(string sha256, byte[] assemblyBytes, Assembly assembly, string origin, bool fromCache)
    {
        Sha256 = sha256;
        AssemblyBytes = assemblyBytes;
        Assembly = assembly;
        Origin = origin;
        FromCache = fromCache;
    }

    /// <summary>SHA-256 of the script source (or of the assembly, for a frozen flow).</summary>
    public string Sha256 { get; }

    /// <summary>The emitted assembly (with an embedded PDB), as stored by frozen storage.</summary>
    public byte[] AssemblyBytes { get; }

    public Assembly Assembly { get; }

    /// <summary>The script file or stored assembly it came from.</summary>
    public string Origin { get; }

    /// <summary>True when no compilation was needed (memory or disk cache, or a stored assembly).</summary>
    public bool FromCache { get; }
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

    /// <summary>Compiles the source (or takes it from a cache) and loads it.</summary>
    /// <param name="source">The script text.</param>
    /// <param name="path">The file name used in diagnostics and stack traces.</param>
    public Task<CompiledScript> CompileAsync(string source, string path, CancellationToken cancellationToken = default)
    {
        var sha = FlowStructure.Sha256Hex(source);
        var candidate = new Lazy<Task<CompiledScript>>(() => Task.Run(() => CompileOrLoad(source, path, sha, cancellationToken), cancellationToken));
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

    /// <summary>True when the source is compiled in memory or on disk already.</summary>
    public bool IsCached(string source)
    {
        var sha = FlowStructure.Sha256Hex(source);
        return _memory.ContainsKey(sha) || (DiskPath(sha) is { } p && File.Exists(p));
    }

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
                ? new CompiledScript(compiled.Sha256, compiled.AssemblyBytes, compiled.Assembly, compiled.Origin, fromCache: true)
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

    private CompiledScript CompileOrLoad(string source, string path, string sha, CancellationToken cancellationToken)
    {
        var disk = DiskPath(sha);
        if (disk is not null && File.Exists(disk))
        {
            try
            {
                var cached = File.ReadAllBytes(disk);
                return new CompiledScript(sha, cached, LoadIntoNewContext(cached, "flow-" + sha[..16]), path, fromCache: true);
            }
            catch (Exception e) when (e is IOException or BadImageFormatException or UnauthorizedAccessException)
            {
                // A damaged cache entry is ignored and replaced below.
            }
        }

        var bytes = Emit(source, path, sha, cancellationToken);
        if (disk is not null)
        {
            TryWriteCache(disk, bytes);
        }
        return new CompiledScript(sha, bytes, LoadIntoNewContext(bytes, "flow-" + sha[..16]), path, fromCache: false);
    }

    /// <summary>Compiles to assembly bytes; throws <see cref="ScriptCompilationException"/> on errors.</summary>
    public static byte[] Emit(string source, string path, string sha, CancellationToken cancellationToken, IEnumerable<MetadataReference>? references = null)
    {
        var tree = CSharpSyntaxTree.ParseText(source, ParseOptions, path: path, encoding: Encoding.UTF8, cancellationToken: cancellationToken);
        var compilation = CSharpCompilation.Create(
            "flowscript_" + sha[..16],
            new[] { GlobalUsingsTree.Value, tree },
            references ?? DefaultReferences(),
            new CSharpCompilationOptions(
                OutputKind.ConsoleApplication,
                optimizationLevel: OptimizationLevel.Release,
                deterministic: true,
                concurrentBuild: true,
                nullableContextOptions: NullableContextOptions.Disable));

        using var pe = new MemoryStream();
        var result = compilation.Emit(pe, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.Embedded),
            embeddedTexts: new[] { EmbeddedText.FromSource(path, tree.GetText(cancellationToken)) },
            cancellationToken: cancellationToken);
        if (!result.Success)
        {
            // A task wired to an input of the wrong type is said in the flow's terms, not as delegate overload errors.
            // Roslyn reports declaration errors before those in method bodies; a reader wants them top to bottom.
            var errors = TaskWiringDiagnostics.Describe(
                    compilation, tree, result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error), path)
                .OrderBy(d => d.Line)
                .ThenBy(d => d.Column)
                .ToArray();
            throw new ScriptCompilationException(path, errors);
        }
        return pe.ToArray();
    }

    /// <summary>The references every flow script compiles against (framework + Flowstore.Core).</summary>
    public static IReadOnlyList<MetadataReference> DefaultReferences()
        => FrameworkReferences.Value.Append(MetadataReference.CreateFromFile(typeof(Flow).Assembly.Location)).ToArray();

    private IEnumerable<MetadataReference> AllReferences() => FrameworkReferences.Value.Concat(_extraReferences);

    private byte[] Emit(string source, string path, string sha, CancellationToken cancellationToken)
        => Emit(source, path, sha, cancellationToken, AllReferences());

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
