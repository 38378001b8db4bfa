namespace Flowstore.Server;

/// <summary>
/// The project limit of an API key (<c>New-FlowApiKey -Project</c>), applied by the endpoints, which know the project a
/// call concerns: a call about another project is <see cref="ErrorIds.AccessDenied"/> naming that project and the role
/// needed; a list shows only the key's projects. A caller with no limit (or an open server) passes untouched, with no
/// extra lookup.
/// </summary>
internal static class ProjectAccess
{
    /// <summary>The caller when its key is limited to projects; null otherwise.</summary>
    public static ApiCaller? Limited(HttpContext context) => context.GetApiCaller() is { Projects.Count: > 0 } caller ? caller : null;

    /// <summary>Whether the caller may see or act on <paramref name="project"/>.</summary>
    public static bool Allows(ApiCaller? caller, string project)
        => caller is not { Projects.Count: > 0 } || caller.Projects!.Any(p => string.Equals(p, project, StringComparison.OrdinalIgnoreCase));

    /// <summary>Throws AccessDenied when the caller's key is limited to other projects than <paramref name="project"/>.</summary>
    public static void Demand(HttpContext context, ApiOperation operation, string? project)
    {
        if (project is not null && Limited(context) is { } caller && !Allows(caller, project))
        {
            throw Denied(caller, operation, project);
        }
    }

    /// <summary>The items of the caller's projects only.</summary>
    public static IReadOnlyList<T> Filter<T>(HttpContext context, IReadOnlyList<T> items, Func<T, string> project)
        => Limited(context) is { } caller ? items.Where(item => Allows(caller, project(item))).ToList() : items;

    /// <summary>
    /// For a call about one run: AccessDenied when the caller's key is limited to other projects than the run's. An
    /// unknown run passes (the backend answers RunNotFound as it does for everyone).
    /// </summary>
    public static async Task DemandRunAsync(HttpContext context, IFlowBackend backend, Guid runId, ApiOperation operation, CancellationToken cancellationToken)
    {
        if (Limited(context) is null)
        {
            return;
        }
        if ((await backend.GetRunsAsync(new RunQuery { Id = runId }, cancellationToken)).FirstOrDefault() is { } run)
        {
            Demand(context, operation, run.Project);
        }
    }

    /// <summary>For a call about one flow version (by id): the project the server has recorded for it, whatever the client sent.</summary>
    public static async Task DemandFlowAsync(HttpContext context, IFlowBackend backend, Guid flowId, string claimedProject, ApiOperation operation,
        CancellationToken cancellationToken)
    {
        if (Limited(context) is null)
        {
            return;
        }
        var recorded = (await backend.GetFlowsAsync(new FlowQuery { Id = flowId, IncludeArchived = true }, cancellationToken)).FirstOrDefault();
        Demand(context, operation, recorded?.Project ?? claimedProject);
    }

    /// <summary>For a call about a flow's version group: the project of its versions.</summary>
    public static async Task DemandVersionGroupAsync(HttpContext context, IFlowBackend backend, Guid versionGroupId, ApiOperation operation,
        CancellationToken cancellationToken)
    {
        if (Limited(context) is null)
        {
            return;
        }
        var flows = await backend.GetFlowsAsync(new FlowQuery { IncludeArchived = true }, cancellationToken);
        if (flows.FirstOrDefault(f => f.VersionGroupId == versionGroupId) is { } flow)
        {
            Demand(context, operation, flow.Project);
        }
    }

    private static FlowstoreException Denied(ApiCaller caller, ApiOperation operation, string project)
    {
        var projects = caller.Projects ?? [];
        if (Enum.TryParse<FlowRole>(caller.Role, ignoreCase: true, out var role)
            && AccessPolicy.Decide(new ApiPrincipal(Guid.Empty, caller.KeyName, role, projects), ApiKeyStoreAuthenticator.Map(operation), project).Error is { } error)
        {
            return error;
        }
        return new FlowstoreException(ErrorIds.AccessDenied, FlowErrorKind.PermissionDenied,
            $"The API key '{caller.KeyName}' is limited to project(s) {string.Join(", ", projects)}; project '{project}' is not one of them.")
        {
            Target = caller.KeyName,
        };
    }
}
