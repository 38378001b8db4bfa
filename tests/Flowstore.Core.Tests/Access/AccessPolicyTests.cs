namespace Flowstore.Core.Tests.Access;

/// <summary>Who may do what: the pure policy (role, key projects, kind of call, project) → allowed or AccessDenied.</summary>
public class AccessPolicyTests
{
    private static ApiPrincipal Key(FlowRole role, params string[] projects) => new(Guid.NewGuid(), $"the-{role.ToString().ToLowerInvariant()}-key", role, projects);

    public static TheoryData<FlowRole, FlowOperation, bool> Table()
    {
        var allowed = new Dictionary<FlowRole, FlowOperation[]>
        {
            [FlowRole.Reader] = [FlowOperation.Read],
            [FlowRole.Registrar] = [FlowOperation.Read, FlowOperation.Register, FlowOperation.StartRun],
            [FlowRole.Agent] = [FlowOperation.Read, FlowOperation.ExecuteRun, FlowOperation.ReadSecretValue],
            [FlowRole.Admin] = Enum.GetValues<FlowOperation>(),
        };
        var data = new TheoryData<FlowRole, FlowOperation, bool>();
        foreach (var role in Enum.GetValues<FlowRole>())
        {
            foreach (var operation in Enum.GetValues<FlowOperation>())
            {
                data.Add(role, operation, allowed[role].Contains(operation));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void Each_role_may_make_exactly_its_kinds_of_call(FlowRole role, FlowOperation operation, bool expected)
    {
        var decision = AccessPolicy.Decide(Key(role), operation, "etl");

        Assert.Equal(expected, decision.Allowed);
        Assert.Equal(expected, decision.Error is null);
    }

    [Fact]
    public void A_reader_refused_a_run_start_gets_AccessDenied_naming_its_role_and_the_role_needed()
    {
        var error = Assert.Throws<FlowstoreException>(() => AccessPolicy.Demand(Key(FlowRole.Reader), FlowOperation.StartRun, "etl"));

        Assert.Equal(ErrorIds.AccessDenied, error.ErrorId);
        Assert.Equal(FlowErrorKind.PermissionDenied, error.Kind);
        Assert.Equal("The API key 'the-reader-key' has role Reader; starting or stopping runs needs role Registrar or Admin.", error.Message);
        Assert.Equal(FlowHintKind.UseApiKeyWithRole, error.Hint!.Kind);
        Assert.Equal("Registrar", error.Hint.Name);
        Assert.Equal("the-reader-key", error.Target);
    }

    [Fact]
    public void A_registrar_cannot_claim_runs_and_an_agent_cannot_start_them()
    {
        var claim = AccessPolicy.Decide(Key(FlowRole.Registrar), FlowOperation.ExecuteRun, "etl");
        var start = AccessPolicy.Decide(Key(FlowRole.Agent), FlowOperation.StartRun, "etl");

        Assert.Contains("needs role Agent or Admin", claim.Error!.Message, StringComparison.Ordinal);
        Assert.Equal([FlowRole.Agent, FlowRole.Admin], claim.RequiredRoles);
        Assert.Contains("needs role Registrar or Admin", start.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_an_admin_manages_keys_secrets_and_projects_and_readers_never_read_secret_values()
    {
        foreach (var operation in new[] { FlowOperation.ManageKeys, FlowOperation.ManageSecrets, FlowOperation.ManageProjects })
        {
            Assert.Equal(FlowRole.Admin, AccessPolicy.RoleNeeded(operation));
            Assert.All(new[] { FlowRole.Reader, FlowRole.Registrar, FlowRole.Agent }, role =>
                Assert.Contains("needs role Admin", AccessPolicy.Decide(Key(role), operation).Error!.Message, StringComparison.Ordinal));
        }
        Assert.False(AccessPolicy.Decide(Key(FlowRole.Reader), FlowOperation.ReadSecretValue, "etl").Allowed);
        Assert.False(AccessPolicy.Decide(Key(FlowRole.Registrar), FlowOperation.ReadSecretValue, "etl").Allowed);
    }

    [Fact]
    public void A_key_limited_to_projects_acts_on_those_only_ignoring_case()
    {
        var ci = Key(FlowRole.Registrar, "Sales", "ops");

        Assert.True(AccessPolicy.Decide(ci, FlowOperation.Register, "sales").Allowed);
        Assert.True(AccessPolicy.Decide(ci, FlowOperation.StartRun, "OPS").Allowed);
        var outside = AccessPolicy.Decide(ci, FlowOperation.Register, "finance");

        Assert.False(outside.Allowed);
        Assert.Equal(ErrorIds.AccessDenied, outside.Error!.ErrorId);
        Assert.Equal("The API key 'the-registrar-key' is limited to project(s) Sales, ops; project 'finance' is not one of them " +
            "(registering, publishing or unregistering flows there needs role Registrar or Admin with a key for that project).", outside.Error.Message);
        Assert.Equal("finance", outside.Error.Hint!.Project);
        Assert.True(ci.CanAccessProject("SALES"));
        Assert.False(ci.CanAccessProject("finance"));
    }

    [Fact]
    public void A_limited_key_may_list_across_projects_but_an_admin_limited_to_projects_cannot_manage_what_all_share()
    {
        var reader = Key(FlowRole.Reader, "sales");
        var admin = Key(FlowRole.Admin, "sales");

        Assert.True(AccessPolicy.Decide(reader, FlowOperation.Read).Allowed);
        Assert.True(AccessPolicy.Decide(admin, FlowOperation.Register, "sales").Allowed);
        var keys = AccessPolicy.Decide(admin, FlowOperation.ManageKeys);

        Assert.False(keys.Allowed);
        Assert.Contains("concerns every project", keys.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("needs role Admin with a key that is not limited to projects", keys.Error.Message, StringComparison.Ordinal);
        Assert.True(AccessPolicy.Decide(Key(FlowRole.Admin), FlowOperation.ManageKeys).Allowed);
    }

    [Fact]
    public void Every_kind_of_call_is_described_and_has_roles()
    {
        foreach (var operation in Enum.GetValues<FlowOperation>())
        {
            Assert.NotEqual(operation.ToString(), AccessPolicy.Describe(operation));
            Assert.Contains(FlowRole.Admin, AccessPolicy.RolesFor(operation));
        }
    }
}
