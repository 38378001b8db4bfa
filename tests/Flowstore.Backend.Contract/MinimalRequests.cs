namespace Flowstore.Backend.Contract;

/// <summary>Registration requests with the least a backend needs, for facts about numbering, races and the database itself.</summary>
public static class MinimalRequests
{
    /// <summary>A request for flow <paramref name="name"/> of <paramref name="project"/> whose input is <paramref name="key"/> (Local storage, empty structure).</summary>
    public static FlowRegistrationRequest Request(string project, string name, string key, bool force = false) => new()
    {
        Project = project,
        Name = name,
        StructureJson = "{}",
        StructureHash = "h-" + key,
        RegistrationKey = key,
        StorageType = "Local",
        StorageJson = """{"type":"Local"}""",
        Force = force,
    };
}
