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
                $"Project '{project}' does not exist in {Backend.Description}; create it first, or let registration create it.") { Target = project, Hint = FlowHint.CreateProject(project) };
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

    /// <summary>
    /// The flow query behind Get-Flow: the latest version of each flow (every version, archived included, with
    /// <see cref="FlowSearch.AllVersions"/>; the given version with <see cref="FlowSearch.Version"/>), whose name
    /// matches one of the patterns (case-insensitive wildcards), sorted by project, name and newest version first. A
    /// name without wildcards that matches no flow is reported in <see cref="FlowSearchResult.Missing"/>.
    /// </summary>
    public async Task<FlowSearchResult> SearchAsync(FlowSearch search, CancellationToken cancellationToken = default)
    {
        var all = await Backend.GetFlowsAsync(new FlowQuery
        {
            Project = search.Project,
            // One plain name (Get-Flow -Name x) is looked up by the backend: through a server, the answer is that flow's
            // versions, not every flow of the project. Patterns, several names and names the backends might fold
            // differently (non-ASCII) are matched here.
            Name = search.Names is [var only] && !Wildcard.HasWildcards(only) && System.Text.Ascii.IsValid(only) ? only : null,
            Version = search.Version,
            IncludeArchived = search.AllVersions || search.Version is not null,
        }, cancellationToken).ConfigureAwait(false);
        IEnumerable<FlowRecord> flows = all;
        if (!search.AllVersions && search.Version is null)
        {
            flows = flows.GroupBy(f => f.VersionGroupId).Select(g => g.MaxBy(f => f.Version)!);
        }
        var missing = new List<FlowstoreException>();
        if (search.Names is { Count: > 0 } names)
        {
            var patterns = names.Select(Wildcard.Parse).ToArray();
            flows = flows.Where(f => patterns.Any(p => p.IsMatch(f.Name)));
            foreach (var name in names.Where(n => !Wildcard.HasWildcards(n) && !all.Any(f => string.Equals(f.Name, n, StringComparison.OrdinalIgnoreCase))))
            {
                missing.Add(new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                    search.Project is null ? $"Flow '{name}' is not registered." : $"Flow '{name}' is not registered in project '{search.Project}'.") { Target = name });
            }
        }
        var sorted = flows
            .OrderBy(f => f.Project, StringComparer.OrdinalIgnoreCase)
            .ThenBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .ThenByDescending(f => f.Version)
            .ToArray();
        return new FlowSearchResult(sorted, missing);
    }

    /// <summary>The versions with these ids (archived ones included); an id no version has is reported in <see cref="FlowSearchResult.Missing"/>.</summary>
    public async Task<FlowSearchResult> GetByIdsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken = default)
    {
        var found = new List<FlowRecord>();
        var missing = new List<FlowstoreException>();
        foreach (var id in ids)
        {
            var versions = await Backend.GetFlowsAsync(new FlowQuery { Id = id, IncludeArchived = true }, cancellationToken).ConfigureAwait(false);
            if (versions.Count == 0)
            {
                missing.Add(new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound, $"No flow version has id {id}.") { Target = id.ToString() });
            }
            found.AddRange(versions);
        }
        return new FlowSearchResult(found, missing);
    }

    /// <summary>Every version of a flow, also archived ones.</summary>
    public Task<IReadOnlyList<FlowRecord>> GetVersionsAsync(string project, string name, CancellationToken cancellationToken = default)
        => Backend.GetFlowsAsync(new FlowQuery { Project = project, Name = name, IncludeArchived = true }, cancellationToken);

    /// <summary>
    /// The latest unarchived version of a flow, or a given version; <see cref="ErrorIds.ProjectNotFound"/> when the
    /// project does not exist, <see cref="ErrorIds.FlowNotFound"/> when it has no such flow.
    /// </summary>
    public async Task<FlowRecord> GetFlowAsync(string name, string project, int? version = null, CancellationToken cancellationToken = default)
    {
        var versions = await Backend.GetFlowsAsync(new FlowQuery { Project = project, Name = name, Version = version, IncludeArchived = version is not null }, cancellationToken).ConfigureAwait(false);
        if (versions.Count == 0 && (await Backend.GetProjectsAsync(project, cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            // Name what is missing (a mistyped project), and the projects there are.
            var projects = (await Backend.GetProjectsAsync(null, cancellationToken).ConfigureAwait(false)).Select(p => $"'{p.Name}'").ToArray();
            var known = projects.Length == 0 ? "there are no projects yet" : $"projects: {string.Join(", ", projects.Take(10))}{(projects.Length > 10 ? ", ..." : "")}";
            throw new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                $"Project '{project}' does not exist in {Backend.Description}, so it has no flow '{name}' ({known}).") { Target = project };
        }
        return versions.MaxBy(v => v.Version)
            ?? throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                version is null
                    ? $"Flow '{name}' is not registered in project '{project}'; register it from its script first."
                    : $"Flow '{name}' has no version {version} in project '{project}'.") { Target = name, Hint = version is null ? FlowHint.RegisterFlow(null, project) : null };
    }

    /// <summary>The flow version with this id (also an archived one); <see cref="ErrorIds.FlowNotFound"/> otherwise.</summary>
    public async Task<FlowRecord> GetFlowAsync(Guid id, CancellationToken cancellationToken = default)
        => (await Backend.GetFlowsAsync(new FlowQuery { Id = id, IncludeArchived = true }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound, $"No flow version has id {id}.") { Target = id.ToString() };

    /// <summary>The flow version a run belongs to (also archived versions).</summary>
    public async Task<FlowRecord> GetFlowOfRunAsync(FlowRunRecord run, CancellationToken cancellationToken = default)
        => (await Backend.GetFlowsAsync(new FlowQuery { Id = run.FlowId, IncludeArchived = true }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound, $"The flow of run {run.Id} no longer exists.") { Target = run.Id.ToString() };

    /// <summary>Archives every version of the flow (it stays in history; runs can no longer start).</summary>
    public Task<int> UnregisterAsync(FlowRecord flow, CancellationToken cancellationToken = default)
        => Backend.ArchiveFlowAsync(flow.VersionGroupId, cancellationToken);
}

/// <summary>What the flow query looks for; null or empty means any.</summary>
public sealed record FlowSearch
{
    /// <summary>Flow names or wildcard patterns (see <see cref="Wildcard"/>); any flow when empty.</summary>
    public IReadOnlyList<string>? Names { get; init; }

    public string? Project { get; init; }

    /// <summary>This version of each flow (archived ones included).</summary>
    public int? Version { get; init; }

    /// <summary>Every version, archived ones included, not only the latest.</summary>
    public bool AllVersions { get; init; }
}

/// <summary>The flows found, and an error per name or id asked for that matched nothing.</summary>
public sealed record FlowSearchResult(IReadOnlyList<FlowRecord> Flows, IReadOnlyList<FlowstoreException> Missing);
