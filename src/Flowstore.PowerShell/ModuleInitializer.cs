using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace Flowstore.Commands;

/// <summary>
/// Import-Module calls this before PowerShell reads cmdlet metadata (parameter types are engine types), so
/// the resolver is in place even when no Flowstore code has run yet.
/// </summary>
public sealed class ModuleImportHook : System.Management.Automation.IModuleAssemblyInitializer
{
    public void OnImport() => ModuleInitializer.Initialize();
}

/// <summary>
/// Remove-Module calls this: the engine lets go of what the process kept (compiled scripts in memory, pooled
/// database connections) and the resolver is removed; a later Import-Module installs it again.
/// </summary>
public sealed class ModuleRemoveHook : System.Management.Automation.IModuleAssemblyCleanup
{
    public void OnRemove(System.Management.Automation.PSModuleInfo psModuleInfo) => ModuleInitializer.Cleanup();
}

/// <summary>
/// Loads the engine and every dependency (Roslyn, SQLite, ...) from the module's Dependencies/ folder into a
/// private AssemblyLoadContext, so the module works in a pwsh that already loaded other versions of them.
/// Only Flowstore's own assemblies are resolved from the default context into the private one; the cmdlets
/// exchange only Flowstore and framework types with the engine.
/// </summary>
internal static class ModuleInitializer
{
    private static int _initialized;

    private static readonly string DependencyFolder = Path.Combine(
        Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "Dependencies");

    private static readonly Lazy<EngineLoadContext> Context = new(() => new EngineLoadContext(DependencyFolder));

#pragma warning disable CA2255 // The handler must be in place before any cmdlet type touches an engine type.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        if (System.Threading.Interlocked.Exchange(ref _initialized, 1) == 0)
        {
            AssemblyLoadContext.Default.Resolving += ResolveEngineAssembly;
        }
    }

    /// <summary>Releases the engine's process caches (when the engine was loaded at all) and removes the resolver.</summary>
    internal static void Cleanup()
    {
        if (System.Threading.Interlocked.Exchange(ref _initialized, 0) == 0)
        {
            return;
        }
        if (Context.IsValueCreated && Context.Value.Assemblies.Any(a => a.GetName().Name == "Flowstore.Engine"))
        {
            ReleaseEngineCaches();
        }
        AssemblyLoadContext.Default.Resolving -= ResolveEngineAssembly;
    }

    // A method of its own, so that the engine's types are touched only when the engine was loaded.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ReleaseEngineCaches() => Engine.FlowClient.ReleaseProcessCaches();

    private static Assembly? ResolveEngineAssembly(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name is null || !name.Name.StartsWith("Flowstore.", StringComparison.Ordinal)
            || !File.Exists(Path.Combine(DependencyFolder, name.Name + ".dll")))
        {
            return null;
        }
        return Context.Value.LoadFromAssemblyName(name);
    }

    private sealed class EngineLoadContext : AssemblyLoadContext
    {
        private readonly AssemblyDependencyResolver _resolver;

        public EngineLoadContext(string folder) : base("Flowstore.Engine", isCollectible: false)
            => _resolver = new AssemblyDependencyResolver(Path.Combine(folder, "Flowstore.Engine.dll"));

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            // Dependencies the engine ships (Roslyn, SQLite, ...) load here; the framework comes from the default context.
            var path = _resolver.ResolveAssemblyToPath(assemblyName);
            return path is null ? null : LoadFromAssemblyPath(path);
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
            return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
        }
    }
}
