namespace Flowstore;

/// <summary>A project: a named group of flows.</summary>
public sealed record ProjectInfo(Guid Id, string Name, string? Description, DateTimeOffset Created, int FlowCount);

/// <summary>The outcome of a registration.</summary>
public enum RegistrationStatus
{
    /// <summary>A new flow version was recorded.</summary>
    Registered,

    /// <summary>Nothing was written: the latest version has the same registration key (metadata unchanged).</summary>
    Skipped,

    /// <summary>The registration failed (the output object carries the error).</summary>
    Failed,
}

/// <summary>
/// What a registration records of a flow version: what <see cref="FlowRegistrationRequest"/> asks for and
/// <see cref="FlowRecord"/> keeps.
/// </summary>
public abstract record FlowVersionContent
{
    public required string Name { get; init; }
    public required string Project { get; init; }
    public required string StructureJson { get; init; }
    public required string StructureHash { get; init; }
    public required string RegistrationKey { get; init; }
    public required string StorageType { get; init; }
    public required string StorageJson { get; init; }
    public IReadOnlyList<string> Labels { get; init; } = Array.Empty<string>();
    public string? Description { get; init; }

    /// <summary>The flow's schedule (<see cref="Flowstore.Schedule.ToJson"/>), or null when it runs only when started.</summary>
    public string? ScheduleJson { get; init; }

    /// <summary>The file the flow was registered from (informational).</summary>
    public string? ScriptPath { get; init; }

    /// <summary>SHA-256 of the script at registration.</summary>
    public string? ScriptSha256 { get; init; }

    /// <summary>
    /// The name of the API key that made the registration; null without one (locally). In a request the server sets it
    /// from the authenticated key, never from what a client sent.
    /// </summary>
    public string? CreatedBy { get; init; }
}

/// <summary>One registered flow version.</summary>
public sealed record FlowRecord : FlowVersionContent
{
    public required Guid Id { get; init; }
    public required int Version { get; init; }
    public required Guid VersionGroupId { get; init; }
    public bool Archived { get; init; }
    public required DateTimeOffset Registered { get; init; }

    /// <summary>
    /// The new (unarchived) version a backend records for <paramref name="request"/> once it has numbered it: the
    /// request's content, under the flow's checked name and the project's name as the backend keeps it.
    /// </summary>
    public static FlowRecord From(FlowRegistrationRequest request, string name, string project, Guid id, int version,
        Guid versionGroupId, DateTimeOffset registered)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new FlowRecord
        {
            Id = id,
            Name = name,
            Project = project,
            Version = version,
            VersionGroupId = versionGroupId,
            StructureJson = request.StructureJson,
            StructureHash = request.StructureHash,
            RegistrationKey = request.RegistrationKey,
            StorageType = request.StorageType,
            StorageJson = request.StorageJson,
            Labels = (request.Labels ?? Array.Empty<string>()).ToArray(),
            Archived = false,
            Registered = registered,
            Description = request.Description,
            ScheduleJson = request.ScheduleJson,
            ScriptPath = request.ScriptPath,
            ScriptSha256 = request.ScriptSha256,
            CreatedBy = request.CreatedBy,
        };
    }
}

/// <summary>What <see cref="IFlowBackend.RegisterFlowAsync"/> records.</summary>
public sealed record FlowRegistrationRequest : FlowVersionContent
{
    /// <summary>
    /// What the registration was made from, known without compiling the script: a hash of the project, the script's
    /// path and SHA-256 and the registration options (labels, storage, selected flows) that feed the registration key.
    /// A later registration with the same input is unchanged (<see cref="IFlowBackend.FindUnchangedRegistrationsAsync"/>).
    /// </summary>
    public string? RegistrationInput { get; init; }

    /// <summary>How many flows were registered from <see cref="RegistrationInput"/> (all of them must be unchanged).</summary>
    public int? RegistrationInputFlows { get; init; }

    /// <summary>Record a new version even when the key is unchanged.</summary>
    public bool Force { get; init; }

    /// <summary>
    /// The flow's schedule is paused once registered (a flow registered for the first time with a schedule is active
    /// unless this is set; a flow whose schedule was paused stays paused).
    /// </summary>
    public bool SchedulePaused { get; init; }
}

/// <summary>
/// The answer of <see cref="IFlowBackend.FindUnchangedRegistrationsAsync"/> for one registration input: the latest
/// (unarchived) version of every flow registered from it.
/// </summary>
public sealed record UnchangedRegistration(string RegistrationInput, IReadOnlyList<FlowRecord> Flows);

/// <summary>The result of a registration: the current flow version and, for a new version, the one before.</summary>
public sealed record RegistrationOutcome(FlowRecord Flow, RegistrationStatus Status, FlowRecord? Previous);

/// <summary>Filters for <see cref="IFlowBackend.GetFlowsAsync"/>; null means any.</summary>
public sealed record FlowQuery
{
    public string? Project { get; init; }

    /// <summary>Exact flow name (case-insensitive).</summary>
    public string? Name { get; init; }

    public Guid? Id { get; init; }
    public int? Version { get; init; }

    /// <summary>Also return archived versions (older versions and unregistered flows).</summary>
    public bool IncludeArchived { get; init; }
}
