namespace Flowstore;

/// <summary>
/// The registry of projects and flow versions, and the run queue and history (<see cref="IRunStore"/>). Two
/// implementations share one contract test suite: the embedded SQLite file (default) and the HTTP server for teams.
/// </summary>
public interface IFlowBackend : IRunStore, IAgentStore, ISecretBlobStore, IScheduleStore, IDisposable
{
    /// <summary>A short description for messages, e.g. "SQLite /home/me/.flowstore/flowstore.db".</summary>
    string Description { get; }

    /// <summary>Creates a project; <see cref="ErrorIds.ProjectExists"/> when one has that name.</summary>
    Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken);

    /// <summary>Projects, optionally one by exact name (case-insensitive), sorted by name.</summary>
    Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name, CancellationToken cancellationToken);

    /// <summary>
    /// Records a registration in one transaction: when the latest unarchived version of (project, name) has
    /// the same registration key and <see cref="FlowRegistrationRequest.Force"/> is off, nothing is written and
    /// the status is Skipped; else a new version (previous + 1 in the version group) is recorded and older
    /// versions are archived. Concurrent calls never produce duplicate or missing version numbers.
    /// <see cref="ErrorIds.ProjectNotFound"/> when the project does not exist.
    /// </summary>
    Task<RegistrationOutcome> RegisterFlowAsync(FlowRegistrationRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Which registration inputs (<see cref="FlowRegistrationRequest.RegistrationInput"/>) would register nothing new in
    /// the project: every flow once registered from the input still has it on its latest version, that version is
    /// unarchived, and all <see cref="FlowRegistrationRequest.RegistrationInputFlows"/> flows are there. Inputs not
    /// answered (and every input of a project that does not exist) must be compiled and registered. Writes nothing.
    /// </summary>
    Task<IReadOnlyList<UnchangedRegistration>> FindUnchangedRegistrationsAsync(string project, IReadOnlyList<string> registrationInputs,
        CancellationToken cancellationToken);

    /// <summary>Flow versions matching the query, sorted by project, name, then version descending.</summary>
    Task<IReadOnlyList<FlowRecord>> GetFlowsAsync(FlowQuery query, CancellationToken cancellationToken);

    /// <summary>Archives every version of a flow's version group; returns how many versions changed.</summary>
    Task<int> ArchiveFlowAsync(Guid versionGroupId, CancellationToken cancellationToken);
}
