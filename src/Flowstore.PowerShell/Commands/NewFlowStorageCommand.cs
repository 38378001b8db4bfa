namespace Flowstore.Commands;

/// <summary>
/// New-FlowStorage: creates a storage settings object for Register-Flow and Publish-FlowScript. Each -Type offers
/// only its own parameters (dynamic parameters derived from the type's settings record), so tab completion shows
/// what applies; the settings record validates them.
/// </summary>
[Cmdlet(VerbsCommon.New, "FlowStorage")]
[OutputType(typeof(StorageSettings))]
public sealed class NewFlowStorageCommand : FlowCmdlet, IDynamicParameters
{
    private RuntimeDefinedParameterDictionary? _parameters;

    /// <summary>The storage type, one of the registered providers' (tab completion lists them).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(StorageTypeCompleter))]
    public FlowStorageType Type { get; set; } = null!;

    public object? GetDynamicParameters() => Type is null ? null : _parameters = StorageParameters.For(Type.Info);

    protected override void ProcessRecord()
    {
        var parameters = _parameters ?? StorageParameters.For(Type.Info);
        var values = parameters.Values
            .Where(p => p.IsSet)
            .ToDictionary(p => p.Name, p => StorageParameters.Unwrap(p.Value), StringComparer.OrdinalIgnoreCase);
        try
        {
            WriteObject(StorageSettings.Create(Type.Name, values, GetUnresolvedProviderPathFromPSPath));
        }
        catch (FlowstoreException e)
        {
            // Contradictory or malformed settings (a branch with a tag, a repo that is not owner/name, ...): the
            // whole call is invalid.
            Terminate(e);
        }
    }
}

/// <summary>The value of New-FlowStorage -Type: the name of a registered storage type (any case).</summary>
public sealed class FlowStorageType
{
    /// <summary>PowerShell converts -Type's argument with this; an unknown name fails the conversion.</summary>
    public FlowStorageType(string name)
    {
        Info = BuiltInStorage.Types.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"'{name}' is not a storage type; the storage types are {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>The type's name as registered, e.g. "S3".</summary>
    public string Name => Info.Name;

    internal StorageTypeInfo Info { get; }

    /// <summary>The registered storage type names.</summary>
    public static IReadOnlyList<string> Names => BuiltInStorage.Types.Select(t => t.Name).ToArray();

    public override string ToString() => Name;
}
