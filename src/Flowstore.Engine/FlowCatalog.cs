namespace Flowstore.Engine;

/// <summary>Projects and registered flows: look-ups, the flow query, unregistering.</summary>
public sealed class FlowCatalog
{
    private readonly Lazy<IFlowBackend> _backend;

    public FlowCatalog(Lazy<IFlowBackend> backend) => _backend = backend;

    private IFlowBackend Backend => _backend.Value;

    // ---------------------------------------------------------------- projects

    public Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken = default)
        => Backend.CreateProjectAsync(name, description, cancellationToken);

    public Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name = null, CancellationToken cancellationToken = default)
        => Backend.GetProjectsAsync(name, cancellationToken);

    /// <summary>Fails with <see cref="ErrorIds.ProjectNotFound"/> unless the project exists (or is created).</summary>
    public async Task<ProjectInfo> EnsureProjectAsync(string project, bool create, CancellationToken cancellationToken = default)
    {
        var found = await Backend.GetProjectsAsync(project, cancellationToken).ConfigureAwait(false);
        if (found.Count > 0)
        {
            return found[0];
        }
        if (!create)
        {
            throw new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                $"Project '{project}' does not exist in {Backend.Description}; create it with New-FlowProject -Name '{project}' or pass -CreateProject.") { Target = project };
        }
        try
        {
            return await Backend.CreateProjectAsync(project, null, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.ProjectExists)
        {
            return (await Backend.GetProjectsAsync(project, cancellationToken).ConfigureAwait(false))[0];
        }
    }

    // ---------------------------------------------------------------- flows

    public Task<IReadOnlyList<FlowRecord>> GetFlowsAsync(FlowQuery query, CancellationToken cancellationToken = default)
        => Backend.GetFlowsAsync(query, cancellationToken);

    /// <summary>Every version of a flow, also archived ones.</summary>
    public Task<IReadOnlyList<FlowRecord>> GetVersionsAsync(string project, string name, CancellationToken cancellationToken = default)
        => Backend.GetFlowsAsync(new FlowQuery { Project = project, Name = name, IncludeArchived = true }, cancellationToken);

    /// <summary>The latest unarchived version of a flow, or a given version; <see cref="ErrorIds.FlowNotFound"/> otherwise.</summary>
    public async Task<FlowRecord> GetFlowAsync(string name, string project, int? version = null, CancellationToken cancellationToken = default)
    {
        var versions = await Backend.GetFlowsAsync(new FlowQuery { Project = project, Name = name, Version = version, IncludeArchived = version is not null }, cancellationToken).ConfigureAwait(false);
        return versions.MaxBy(v => v.Version)
            ?? throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                version is null
                    ? $"Flow '{name}' is not registered in project '{project}'; register it with Register-Flow -Path <file> -Project '{project}'."
                    : $"Flow '{name}' has no version {version} in project '{project}'.") { Target = name };
    }

    /// <summary>The flow version a run belongs to (also archived versions).</summary>
    public async Task<FlowRecord> GetFlowOfRunAsync(FlowRunRecord run, CancellationToken cancellationToken = default)
        => (await Backend.GetFlowsAsync(new FlowQuery { Id = run.FlowId, IncludeArchived = true }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound, $"The flow of run {run.Id} no longer exists.") { Target = run.Id.ToString() };

    /// <summary>Archives every version of the flow (it stays in history; runs can no longer start).</summary>
    public Task<int> UnregisterAsync(FlowRecord flow, CancellationToken cancellationToken = default)
        => Backend.ArchiveFlowAsync(flow.VersionGroupId, cancellationToken);
}
