namespace Flowstore.Engine;

/// <summary>A flow as declared in a script (Test-FlowScript): structure and hashes, nothing registered.</summary>
public sealed class FlowDescription
{
    public required string Name { get; init; }
    public required string Path { get; init; }
    public required FlowStructure Structure { get; init; }
    public required string ScriptSha256 { get; init; }
    /// <summary>The storage the script sets; the file itself (Local script storage) when it sets none.</summary>
    public required StorageSettings Storage { get; init; }

    public IReadOnlyList<string> Labels { get; init; } = Array.Empty<string>();
    public string StructureHash => Structure.Hash;
    public IReadOnlyList<string> Tasks => Structure.Tasks.Select(t => t.Name).ToArray();
    public IReadOnlyList<string> Edges => Structure.Edges.Select(e => e.ToString()).ToArray();
    public IReadOnlyList<string> Parameters => Structure.Parameters
        .Select(p => p.Required ? $"{p.Name} ({p.Type}, required)" : $"{p.Name} ({p.Type}) = {p.DefaultJson}").ToArray();
}

/// <summary>Options of a registration.</summary>
public sealed class RegisterOptions
{
    public required string Project { get; init; }
    public IReadOnlyList<string>? Names { get; init; }
    public IReadOnlyList<string> Labels { get; init; } = Array.Empty<string>();
    public StorageSettings? Storage { get; init; }
    public bool Force { get; init; }

    /// <summary>
    /// Through a server, a flow with Local storage gets this machine's host label (<see cref="FlowHost.Label"/>), so only
    /// agents on this machine, which can read the file, claim its runs; true leaves it out (a path on a shared drive).
    /// </summary>
    public bool NoHostLabel { get; init; }

    /// <summary>The schedule of the flows, instead of the one the script sets.</summary>
    public Schedule? Schedule { get; init; }

    /// <summary>Register with the schedule paused (a flow already registered keeps its schedule paused until it is made active).</summary>
    public bool NoSchedule { get; init; }

    /// <summary>Warnings for the user (e.g. the stored script differs from the local one); verbose log when null.</summary>
    public Action<string>? OnWarning { get; init; }

    /// <summary>Progress of uploads, builds and pushes made by the registration.</summary>
    public IProgress<StorageProgress>? Progress { get; init; }
}

/// <summary>
/// A script file to register and the folder it was found under (a folder or pattern given to Register-Flow; null for a
/// file named on its own). What registering it is made from uses the file's path relative to that folder (else its
/// name), not where the folder lives: a CI agent that checks out into a new folder each time finds its files
/// registered unchanged.
/// </summary>
public sealed record RegistrationSource(string Path, string? Root = null)
{
    /// <summary>The file's path relative to <see cref="Root"/> with '/' separators; the file's name when it is not below it.</summary>
    public string RelativeName
    {
        get
        {
            var full = System.IO.Path.GetFullPath(Path);
            if (Root is not null)
            {
                var relative = System.IO.Path.GetRelativePath(System.IO.Path.GetFullPath(Root), full);
                if (relative != "." && relative != ".." && !relative.StartsWith(".." + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && !System.IO.Path.IsPathRooted(relative))
                {
                    return relative.Replace(System.IO.Path.DirectorySeparatorChar, '/');
                }
            }
            return System.IO.Path.GetFileName(full);
        }
    }
}

/// <summary>
/// What the backend answered, in one request, about the files about to be registered
/// (<see cref="FlowClient.LookUpUnchangedAsync"/>): which of them are registered unchanged and need no compiling.
/// Planning a file it asked about needs no further request for it.
/// </summary>
public sealed class RegistrationLookup
{
    internal RegistrationLookup(string project, IReadOnlyCollection<string> asked, IReadOnlyList<UnchangedRegistration> found)
    {
        Project = project;
        Asked = asked.ToHashSet(StringComparer.Ordinal);
        Found = found.GroupBy(f => f.RegistrationInput, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
    }

    /// <summary>An empty lookup (nothing asked): each file is asked about when it is planned.</summary>
    public static RegistrationLookup None { get; } = new("", Array.Empty<string>(), Array.Empty<UnchangedRegistration>());

    internal string Project { get; }
    internal IReadOnlySet<string> Asked { get; }
    internal IReadOnlyDictionary<string, UnchangedRegistration> Found { get; }

    /// <summary>How many files were asked about (files already in the local compile cache are not).</summary>
    public int FilesAsked { get; internal init; }

    /// <summary>How many of them are registered unchanged.</summary>
    public int FilesUnchanged { get; internal init; }
}

/// <summary>Options of <see cref="FlowClient.PublishAsync"/>.</summary>
public sealed class PublishOptions
{
    /// <summary>The storage; the one the script's flow sets when null.</summary>
    public StorageSettings? Storage { get; init; }

    /// <summary>The flow, when the script holds several.</summary>
    public string? Name { get; init; }

    /// <summary>Commit message (Git hosts, Git).</summary>
    public string? Message { get; init; }

    /// <summary>Branch to commit to (Git hosts, Git).</summary>
    public string? Branch { get; init; }

    public IProgress<StorageProgress>? Progress { get; init; }
    public Action<string>? OnWarning { get; init; }
}

/// <summary>
/// A published script (the output of Publish-FlowScript): the storage that now holds it, with its key, image or
/// ref filled in, and the storage's version of what was published. Pipes into Register-Flow (Storage, Path).
/// </summary>
public sealed class FlowPublication
{
    public required string Flow { get; init; }
    public required string Path { get; init; }
    public required string ScriptSha256 { get; init; }
    public required StorageSettings Storage { get; init; }

    /// <summary>Commit SHA, ETag/VersionId, generation or image digest of what was published.</summary>
    public required string StorageVersion { get; init; }

    /// <summary>Where it went: a URL, s3://bucket/key, an image reference (never a secret).</summary>
    public required string Location { get; init; }

    public override string ToString() => $"{Flow} -> {Location} ({StorageVersion})";
}

/// <summary>What registering one flow will do (data only); apply it with <see cref="FlowClient.ApplyAsync"/>.</summary>
public sealed class RegistrationPlan
{
    internal RegistrationPlan()
    {
    }

    public string Name { get; internal init; } = "";
    public string Project { get; internal init; } = "";
    public string Path { get; internal init; } = "";

    /// <summary>False when the flow is unchanged and will be skipped.</summary>
    public bool WillRegister { get; internal init; }

    /// <summary>The version it will have (the current one when skipped).</summary>
    public int Version { get; internal init; }

    /// <summary>Why: "new flow", "metadata unchanged", "structure changed: tasks added: load", ...</summary>
    public string Reason { get; internal init; } = "";

    public StructureDiff? Diff { get; internal init; }
    public FlowRecord? Latest { get; internal init; }
    public FlowStructure Structure { get; internal init; } = null!;

    /// <summary>The storage settings as resolved for this registration (what the registration key covers).</summary>
    public StorageSettings Storage { get; init; } = null!;

    /// <summary>The registration key: project, flow, structure, storage locator and labels.</summary>
    public string RegistrationKey { get; init; } = "";

    public IReadOnlyList<string> Labels { get; init; } = Array.Empty<string>();
    public string? Description { get; init; }

    /// <summary>The schedule registration records (<see cref="Flowstore.Schedule.ToJson"/>), or null.</summary>
    public string? ScheduleJson { get; init; }
    public bool Force { get; init; }

    // The local script as it was planned (its text is what gets stored, whatever the file holds later).
    // The slug the storage's generated names start from (the flow's, or the file's for a storage shared by several flows).
    internal string FlowSlug { get; init; } = "";

    // The flows of this file that share the plan's storage instance (null when none does): it is stored once for all.
    internal StorageGroup? StorageGroup { get; init; }
    internal string ScriptSource { get; init; } = "";
    internal string ScriptSha256 { get; init; } = "";

    // What the registration is made from, known without compiling (see FlowRegistrationRequest.RegistrationInput),
    // and how many flows of the file are registered from it.
    internal string? RegistrationInput { get; set; }
    internal int? RegistrationInputFlows { get; init; }

    /// <summary>A one-line description for -WhatIf and -Confirm.</summary>
    public string Action => WillRegister ? $"Register version {Version} ({Reason})" : $"Skip ({Reason})";
}

/// <summary>The result of registering one flow (the output of Register-Flow).</summary>
public sealed class FlowRegistration
{
    public required string Name { get; init; }
    public required string Project { get; init; }
    public Guid? Id { get; init; }
    public int? Version { get; init; }
    public required RegistrationStatus Status { get; init; }
    public required string Path { get; init; }
    public string? StructureHash { get; init; }
    public string? Reason { get; init; }
    public StructureDiff? Diff { get; init; }

    /// <summary>The storage as registered (keys, images and refs filled in), the same type New-FlowStorage returns.</summary>
    public StorageSettings? Storage { get; init; }

    /// <summary>The schedule as registered ("cron '*/15 * * * *' in Europe/Zurich"), or null.</summary>
    public string? Schedule { get; init; }

    /// <summary>Whether the flow's schedule is paused (null without a schedule).</summary>
    public bool? SchedulePaused { get; internal set; }

    /// <summary>The registered structure: tasks, parameters and edges.</summary>
    public FlowStructureInfo? Structure { get; init; }

    /// <summary>The error message when <see cref="Status"/> is Failed.</summary>
    public string? Error { get; init; }

    public IReadOnlyList<string> TasksAdded => Diff?.TasksAdded ?? Array.Empty<string>();
    public IReadOnlyList<string> TasksRemoved => Diff?.TasksRemoved ?? Array.Empty<string>();
    public IReadOnlyList<string> TasksChanged => Diff?.TasksChanged ?? Array.Empty<string>();
}

/// <summary>The result of a flow run (in-process).</summary>
public sealed class FlowRunResult
{
    public Guid Id { get; init; } = Guid.NewGuid();
    public required string FlowName { get; init; }
    public string? Project { get; init; }
    public int? FlowVersion { get; init; }
    public Guid? FlowId { get; init; }
    public required RunState State { get; init; }
    public IReadOnlyDictionary<string, object?> Parameters { get; init; } = new Dictionary<string, object?>();
    public DateTimeOffset? Started { get; init; }
    public DateTimeOffset? Ended { get; init; }
    public string? ScriptSha256 { get; init; }
    public string? StorageVersion { get; init; }
    public string? Error { get; init; }

    /// <summary>The error id when the run failed before or during execution.</summary>
    public string? ErrorId { get; init; }

    public IReadOnlyList<TaskRunResult> Tasks { get; init; } = Array.Empty<TaskRunResult>();
    public IReadOnlyList<RunLogEntry> Log { get; init; } = Array.Empty<RunLogEntry>();
    public IReadOnlyDictionary<string, object?> Results { get; init; } = new Dictionary<string, object?>();
    public TimeSpan? Duration => Ended - Started;
}

/// <summary>
/// Flows of one file that share a storage instance: the first of them to be registered stores it (upload, build and
/// push), the others record what it stored. Lives as long as the plans of one file.
/// </summary>
internal sealed class StorageGroup
{
    private readonly List<(string Json, string Flow, PreparedStorage Prepared)> _stored = new();

    public StorageGroup(IReadOnlyList<string> flows) => Flows = flows;

    /// <summary>The names of the flows that share the storage.</summary>
    public IReadOnlyList<string> Flows { get; }

    /// <summary>What was stored for these resolved settings, and for which flow; null when nothing yet.</summary>
    public (string Flow, PreparedStorage Prepared)? Find(StorageSettings resolved)
    {
        var json = resolved.ToJson();
        lock (_stored)
        {
            foreach (var stored in _stored)
            {
                if (stored.Json == json)
                {
                    return (stored.Flow, stored.Prepared);
                }
            }
        }
        return null;
    }

    public void Add(StorageSettings resolved, string flow, PreparedStorage prepared)
    {
        lock (_stored)
        {
            _stored.Add((resolved.ToJson(), flow, prepared));
        }
    }
}
