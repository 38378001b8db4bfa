namespace Flowstore;

/// <summary>
/// A registered flow version as Get-Flow shows it: its identity, the storage as its typed settings (the same type
/// New-FlowStorage returns, so it pipes into Publish-FlowScript and Register-Flow), and the structure as objects.
/// JSON only on request: <c>Storage.ToJson()</c>, <c>Structure.ToJson()</c>, or ConvertTo-Json of the object.
/// </summary>
public sealed class FlowInfo
{
    private FlowInfo(FlowRecord record)
    {
        Id = record.Id;
        Name = record.Name;
        Project = record.Project;
        Version = record.Version;
        VersionGroupId = record.VersionGroupId;
        Archived = record.Archived;
        Registered = record.Registered;
        Description = record.Description;
        Labels = record.Labels;
        Storage = UnknownStorage.Read(record.StorageJson);
        Structure = FlowStructureInfo.FromJson(record.StructureJson);
        StructureHash = record.StructureHash;
        RegistrationKey = record.RegistrationKey;
        ScriptPath = record.ScriptPath;
        ScriptSha256 = record.ScriptSha256;
        CreatedBy = record.CreatedBy;
    }

    /// <summary>The flow version as the backend recorded it.</summary>
    public static FlowInfo From(FlowRecord record) => new(record);

    /// <summary>The id of this flow version.</summary>
    public Guid Id { get; }

    public string Name { get; }
    public string Project { get; }
    public int Version { get; }

    /// <summary>Shared by every version of the flow.</summary>
    public Guid VersionGroupId { get; }

    /// <summary>An older version, or an unregistered flow.</summary>
    public bool Archived { get; }

    public DateTimeOffset Registered { get; }
    public string? Description { get; }
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The storage type, e.g. "S3".</summary>
    public string StorageType => Storage.Type;

    /// <summary>Where runs fetch the flow from, as registered (keys, images and refs filled in; secret names, never values).</summary>
    public StorageSettings Storage { get; }

    /// <summary>Tasks (with options, upstream tasks and parameters), parameters (type, default, required) and edges.</summary>
    public FlowStructureInfo Structure { get; }

    public string StructureHash { get; }

    /// <summary>Hash of project, flow, structure, storage locator and labels: an unchanged key skips registration.</summary>
    public string RegistrationKey { get; }

    /// <summary>The file the flow was registered from (informational).</summary>
    public string? ScriptPath { get; }

    /// <summary>SHA-256 of the script at registration.</summary>
    public string? ScriptSha256 { get; }

    /// <summary>The name of the API key that registered this version (through a server); null when registered without one (locally).</summary>
    public string? CreatedBy { get; }

    public override string ToString() => $"{Project}/{Name} v{Version}";
}
