namespace Flowstore;

/// <summary>
/// The kinds of call a server authorizes; every endpoint declares one. What each role may do is
/// <see cref="AccessPolicy"/>'s table.
/// </summary>
public enum FlowOperation
{
    /// <summary>Read projects, flows and versions, registration plans, runs, logs, secret names (never values).</summary>
    Read,

    /// <summary>Register, publish and unregister flows.</summary>
    Register,

    /// <summary>Start (queue) and stop runs.</summary>
    StartRun,

    /// <summary>Claim a run and execute it: heartbeats, logs, completion, failing runs of lost agents.</summary>
    ExecuteRun,

    /// <summary>Read the value of a secret a claimed run needs.</summary>
    ReadSecretValue,

    /// <summary>Create projects.</summary>
    ManageProjects,

    /// <summary>Set and remove secrets.</summary>
    ManageSecrets,

    /// <summary>Create, list and revoke API keys.</summary>
    ManageKeys,
}

/// <summary>Who is calling: the API key that authenticated, never its token.</summary>
/// <param name="KeyId">The key's id.</param>
/// <param name="Name">The key's name: recorded as the maker of registrations and runs, and named in errors.</param>
/// <param name="Role">The key's role.</param>
/// <param name="Projects">The projects the key is limited to; empty: every project.</param>
public sealed record ApiPrincipal(Guid KeyId, string Name, FlowRole Role, IReadOnlyList<string> Projects)
{
    public static ApiPrincipal From(ApiKeyInfo key) => new(key.Id, key.Name, key.Role, key.Projects);

    /// <summary>Whether the key is limited to <see cref="Projects"/>.</summary>
    public bool IsLimitedToProjects => Projects.Count > 0;

    /// <summary>Whether the key may see or act on <paramref name="project"/> at all (its role aside): for filtering lists.</summary>
    public bool CanAccessProject(string project)
        => !IsLimitedToProjects || Projects.Any(p => string.Equals(p, project, StringComparison.OrdinalIgnoreCase));

    /// <summary>Equal when every field is, the projects compared item by item.</summary>
    public bool Equals(ApiPrincipal? other)
        => other is not null && KeyId == other.KeyId && Name == other.Name && Role == other.Role && Projects.SequenceEqual(other.Projects);

    public override int GetHashCode() => HashCode.Combine(KeyId, Name, Role);

    /// <summary>"name (Role[, projects a, b])".</summary>
    public override string ToString() => IsLimitedToProjects ? $"{Name} ({Role}, projects {string.Join(", ", Projects)})" : $"{Name} ({Role})";
}

/// <summary>The answer of <see cref="AccessPolicy.Decide"/>.</summary>
/// <param name="Allowed">Whether the call may go ahead.</param>
/// <param name="RequiredRoles">The roles that may make the call (for the error and a client's advice).</param>
/// <param name="Error">Null when allowed; else the <see cref="ErrorIds.AccessDenied"/> error to report.</param>
public sealed record AccessDecision(bool Allowed, IReadOnlyList<FlowRole> RequiredRoles, FlowstoreException? Error);

/// <summary>
/// Who may do what: a pure function of the key (role, projects), the kind of call and the project it concerns.
/// <list type="table">
/// <item><term>Read</term><description>every role</description></item>
/// <item><term>Register, StartRun</term><description>Registrar, Admin</description></item>
/// <item><term>ExecuteRun, ReadSecretValue</term><description>Agent, Admin</description></item>
/// <item><term>ManageProjects, ManageSecrets, ManageKeys</term><description>Admin, with a key for every project</description></item>
/// </list>
/// A key limited to projects may act only on those projects; a call about no single project (a list) is allowed, and the
/// server shows such a key only its projects (<see cref="ApiPrincipal.CanAccessProject"/>). Projects, secrets and keys are
/// shared by every project, so managing them needs a key that is not limited.
/// </summary>
public static class AccessPolicy
{
    private static readonly FlowRole[] Everyone = [FlowRole.Reader, FlowRole.Registrar, FlowRole.Agent, FlowRole.Admin];
    private static readonly FlowRole[] Registrars = [FlowRole.Registrar, FlowRole.Admin];
    private static readonly FlowRole[] Agents = [FlowRole.Agent, FlowRole.Admin];
    private static readonly FlowRole[] Admins = [FlowRole.Admin];

    /// <summary>The roles that may make a call of this kind.</summary>
    public static IReadOnlyList<FlowRole> RolesFor(FlowOperation operation) => operation switch
    {
        FlowOperation.Read => Everyone,
        FlowOperation.Register or FlowOperation.StartRun => Registrars,
        FlowOperation.ExecuteRun or FlowOperation.ReadSecretValue => Agents,
        FlowOperation.ManageProjects or FlowOperation.ManageSecrets or FlowOperation.ManageKeys => Admins,
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, null),
    };

    /// <summary>The least role that may make a call of this kind (what an error names).</summary>
    public static FlowRole RoleNeeded(FlowOperation operation) => RolesFor(operation)[0];

    /// <summary>Whether a call of this kind concerns what every project shares, so a key limited to projects may not make it.</summary>
    public static bool IsGlobal(FlowOperation operation)
        => operation is FlowOperation.ManageProjects or FlowOperation.ManageSecrets or FlowOperation.ManageKeys;

    /// <summary>Decides whether <paramref name="principal"/> may make a call of kind <paramref name="operation"/> about <paramref name="project"/> (null: no single project).</summary>
    public static AccessDecision Decide(ApiPrincipal principal, FlowOperation operation, string? project = null)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var roles = RolesFor(operation);
        if (!roles.Contains(principal.Role))
        {
            var needed = string.Join(" or ", roles);
            return Denied(roles, principal,
                $"The API key '{principal.Name}' has role {principal.Role}; {Describe(operation)} needs role {needed}.");
        }
        if (principal.IsLimitedToProjects)
        {
            if (IsGlobal(operation))
            {
                return Denied(roles, principal,
                    $"The API key '{principal.Name}' is limited to project(s) {string.Join(", ", principal.Projects)}; {Describe(operation)} " +
                    $"concerns every project and needs role {string.Join(" or ", roles)} with a key that is not limited to projects.");
            }
            if (project is not null && !principal.CanAccessProject(project))
            {
                return Denied(roles, principal,
                    $"The API key '{principal.Name}' is limited to project(s) {string.Join(", ", principal.Projects)}; project '{project}' is not one of them " +
                    $"({Describe(operation)} there needs role {string.Join(" or ", roles)} with a key for that project).", project);
            }
        }
        return new AccessDecision(true, roles, null);
    }

    /// <summary>Like <see cref="Decide"/>, but throws the <see cref="ErrorIds.AccessDenied"/> error when the call is not allowed.</summary>
    public static void Demand(ApiPrincipal principal, FlowOperation operation, string? project = null)
    {
        var decision = Decide(principal, operation, project);
        if (decision.Error is { } error)
        {
            throw error;
        }
    }

    /// <summary>What a call of this kind does, for messages.</summary>
    public static string Describe(FlowOperation operation) => operation switch
    {
        FlowOperation.Read => "reading flows and runs",
        FlowOperation.Register => "registering, publishing or unregistering flows",
        FlowOperation.StartRun => "starting or stopping runs",
        FlowOperation.ExecuteRun => "claiming and executing runs",
        FlowOperation.ReadSecretValue => "reading a secret's value for a run",
        FlowOperation.ManageProjects => "creating projects",
        FlowOperation.ManageSecrets => "setting or removing secrets",
        FlowOperation.ManageKeys => "managing API keys",
        _ => operation.ToString(),
    };

    private static AccessDecision Denied(IReadOnlyList<FlowRole> roles, ApiPrincipal principal, string message, string? project = null)
        => new(false, roles, new FlowstoreException(ErrorIds.AccessDenied, FlowErrorKind.PermissionDenied, message)
        {
            Target = principal.Name,
            Hint = FlowHint.UseApiKeyWithRole(roles[0], project),
        });
}
