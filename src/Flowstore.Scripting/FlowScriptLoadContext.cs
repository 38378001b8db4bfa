using System.Reflection;
using System.Runtime.Loader;

namespace Flowstore.Scripting;

/// <summary>
/// A collectible context holding one compiled flow script. Every other assembly (Flowstore itself, the
/// framework) comes from the context that loaded the engine, so the script's Flowstore types are the
/// engine's own.
/// </summary>
internal sealed class FlowScriptLoadContext : AssemblyLoadContext
{
    private static readonly Assembly CoreAssembly = typeof(Flow).Assembly;
    private static readonly AssemblyLoadContext EngineContext = GetLoadContext(CoreAssembly) ?? Default;

    public FlowScriptLoadContext(string name) : base(name, isCollectible: true)
    {
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (AssemblyName.ReferenceMatchesDefinition(assemblyName, CoreAssembly.GetName()))
        {
            return CoreAssembly;
        }
        try
        {
            return EngineContext.LoadFromAssemblyName(assemblyName);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }
}
