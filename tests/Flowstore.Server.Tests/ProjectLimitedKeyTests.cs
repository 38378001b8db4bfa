using Flowstore.Backend.Http;
using Flowstore.Engine;

namespace Flowstore.Server.Tests;

/// <summary>
/// Keys limited to projects (New-FlowApiKey -Project), enforced by the real server on every call about one project
/// (AccessDenied naming the project and the role, never a bare 403) and applied to lists (only the key's projects'
/// items). Projects Alpha and Beta are the keys' own; Gamma is another's.
/// </summary>
public sealed class ProjectLimitedKeyTests : IAsyncLifetime, IDisposable
{
    private readonly KeyedServer _keyed = new();
    private readonly TempDirectory _adminHome = new("flowstore-server-tests");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private HttpFlowBackend _admin = null!;
    private FlowRecord _alpha = null!, _beta = null!, _gamma = null!;
    private FlowRunRecord _alphaRun = null!, _gammaRun = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        await _keyed.InitializeAsync();
        _admin = _keyed.Admin();
        foreach (var project in new[] { "Alpha", "Beta", "Gamma" })
        {
            await _admin.CreateProjectAsync(project, null, Ct);
        }
        _alpha = await RegisterAsync(_admin, "Alpha");
        _beta = await RegisterAsync(_admin, "Beta");
        _gamma = await RegisterAsync(_admin, "Gamma");
        _gammaRun = await _admin.CreateRunAsync(new NewRun { Flow = _gamma }, Ct); // the oldest scheduled run
        _alphaRun = await _admin.CreateRunAsync(new NewRun { Flow = _alpha }, Ct);
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _keyed.DisposeAsync();
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _adminHome.Dispose();
        _keyed.Dispose();
    }

    private Task<FlowRecord> RegisterAsync(HttpFlowBackend client, string project, string name = "etl")
        => RegisterOutcomeAsync(client, project, name);

    private async Task<FlowRecord> RegisterOutcomeAsync(HttpFlowBackend client, string project, string name)
        => (await client.RegisterFlowAsync(new FlowRegistrationRequest
        {
            Project = project, Name = name, StructureJson = "{}", StructureHash = "h-" + name, RegistrationKey = "k-" + name, StorageType = "Local",
            StorageJson = "{}",
        }, Ct)).Flow;

    private async Task<HttpFlowBackend> KeyAsync(string name, FlowRole role, params string[] projects)
    {
        using var client = new FlowClient(new FlowClientOptions { Home = _adminHome.Path, Backend = _admin });
        var created = await client.ApiKeys.CreateAsync(name, role, projects, null, null, Ct);
        return _keyed.Server.Client(created.Token);
    }

    private static async Task AssertDeniedAsync(Func<Task> call, string project, string role)
    {
        var denied = await Assert.ThrowsAsync<FlowstoreException>(call);
        Assert.Equal(ErrorIds.AccessDenied, denied.ErrorId);
        Assert.Equal(FlowErrorKind.PermissionDenied, denied.Kind);
        Assert.Contains($"project '{project}' is not one of them", denied.Message, StringComparison.Ordinal);
        Assert.Contains(role, denied.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lists_ShowOnlyTheKeysProjects_ProjectsFlowsRuns()
    {
        using var reader = await KeyAsync("ops-ab", FlowRole.Reader, "alpha", "BETA");

        Assert.Equal(["Alpha", "Beta"], (await reader.GetProjectsAsync(null, Ct)).Select(p => p.Name));
        Assert.Equal(["Alpha", "Beta"], (await reader.GetFlowsAsync(new FlowQuery(), Ct)).Select(f => f.Project));
        Assert.Equal([_alphaRun.Id], (await reader.GetRunsAsync(new RunQuery(), Ct)).Select(r => r.Id));
        Assert.Equal([_alphaRun.Id], (await reader.GetRunsAsync(new RunQuery { Last = 1 }, Ct)).Select(r => r.Id));
        Assert.Equal([_alphaRun.Id], (await reader.GetRunsAsync(new RunQuery { Id = _alphaRun.Id }, Ct)).Select(r => r.Id));
        Assert.Equal(3, (await _admin.GetFlowsAsync(new FlowQuery(), Ct)).Count); // an unlimited key sees all
    }

    [Fact]
    public async Task ReadingAnotherProject_IsAccessDeniedNamingIt()
    {
        using var reader = await KeyAsync("ops-a", FlowRole.Reader, "Alpha");

        await AssertDeniedAsync(() => reader.GetProjectsAsync("gamma", Ct), "Gamma", "Reader");
        Assert.Empty(await reader.GetProjectsAsync("no-such-project", Ct));
        await AssertDeniedAsync(() => reader.GetFlowsAsync(new FlowQuery { Project = "Gamma" }, Ct), "Gamma", "Reader");
        await AssertDeniedAsync(() => reader.GetFlowsAsync(new FlowQuery { Id = _gamma.Id }, Ct), "Gamma", "Reader");
        await AssertDeniedAsync(() => reader.GetRunsAsync(new RunQuery { Project = "gamma" }, Ct), "gamma", "Reader");
        await AssertDeniedAsync(() => reader.GetRunsAsync(new RunQuery { Id = _gammaRun.Id }, Ct), "Gamma", "Reader");
        await AssertDeniedAsync(() => reader.GetRunLogAsync(_gammaRun.Id, Ct), "Gamma", "Reader");
        await AssertDeniedAsync(() => reader.FindUnchangedRegistrationsAsync("Gamma", ["x"], Ct), "Gamma", "Reader");
        Assert.Single(await reader.GetFlowsAsync(new FlowQuery { Project = "Alpha" }, Ct));
        Assert.Empty(await reader.GetRunLogAsync(_alphaRun.Id, Ct));
    }

    [Fact]
    public async Task ARegistrarOfSomeProjects_RegistersAndStartsRunsThereOnly()
    {
        using var ci = await KeyAsync("ci-ab", FlowRole.Registrar, "Alpha", "Beta");

        var registered = await RegisterAsync(ci, "Beta", "loader");
        Assert.Equal("ci-ab", registered.CreatedBy);
        Assert.Equal("Beta", (await ci.CreateRunAsync(new NewRun { Flow = registered }, Ct)).Project);
        await AssertDeniedAsync(() => RegisterAsync(ci, "Gamma", "loader"), "Gamma", "Registrar or Admin");
        await AssertDeniedAsync(() => ci.CreateRunAsync(new NewRun { Flow = _gamma }, Ct), "Gamma", "Registrar or Admin");
        // The project the server recorded for the flow counts, not the one the client claims.
        await AssertDeniedAsync(() => ci.CreateRunAsync(new NewRun { Flow = _gamma with { Project = "Alpha" } }, Ct), "Gamma", "Registrar or Admin");
        await AssertDeniedAsync(() => ci.RequestCancelAsync(_gammaRun.Id, Ct), "Gamma", "Registrar or Admin");
        await AssertDeniedAsync(() => ci.ArchiveFlowAsync(_gamma.VersionGroupId, Ct), "Gamma", "Registrar or Admin");

        Assert.Empty(await _admin.GetFlowsAsync(new FlowQuery { Project = "Gamma", Name = "loader" }, Ct));
        Assert.Single(await _admin.GetRunsAsync(new RunQuery { Project = "Gamma" }, Ct));
        Assert.False((await _admin.GetFlowsAsync(new FlowQuery { Id = _gamma.Id }, Ct)).Single().Archived);
        Assert.Equal(RunState.Scheduled, (await _admin.GetRunsAsync(new RunQuery { Id = _gammaRun.Id }, Ct)).Single().State);
    }

    [Fact]
    public async Task AnAgentOfOneProject_ClaimsOnlyItsRuns_AndMayNotTouchAnothersRun()
    {
        using var agent = await KeyAsync("agent-a", FlowRole.Agent, "Alpha");

        var claimed = await agent.ClaimRunAsync("agent-1", null, Ct); // Gamma's run is older, and not the agent's
        Assert.Equal(_alphaRun.Id, claimed?.Id);
        Assert.Null(await agent.ClaimRunAsync("agent-1", null, Ct));
        await AssertDeniedAsync(() => agent.ClaimRunAsync("agent-1", _gammaRun.Id, Ct), "Gamma", "Agent or Admin");
        Assert.Equal(RunState.Scheduled, (await _admin.GetRunsAsync(new RunQuery { Id = _gammaRun.Id }, Ct)).Single().State);

        var gammaClaimed = await _admin.ClaimRunAsync("agent-2", _gammaRun.Id, Ct);
        Assert.NotNull(gammaClaimed);
        await AssertDeniedAsync(() => agent.HeartbeatAsync(_gammaRun.Id, "agent-2", [], Ct), "Gamma", "Agent or Admin");
        await AssertDeniedAsync(() => agent.AppendLogAsync(_gammaRun.Id, [new RunLogEntry(DateTimeOffset.UtcNow, null, "Information", "not mine")], Ct),
            "Gamma", "Agent or Admin");
        await AssertDeniedAsync(() => agent.CompleteRunAsync(_gammaRun.Id, "agent-2", new RunCompletion { State = RunState.Success }, Ct),
            "Gamma", "Agent or Admin");
        Assert.Empty(await _admin.GetRunLogAsync(_gammaRun.Id, Ct));
        Assert.Equal(RunState.Running, (await _admin.GetRunsAsync(new RunQuery { Id = _gammaRun.Id }, Ct)).Single().State);

        Assert.False(await agent.HeartbeatAsync(_alphaRun.Id, "agent-1", [], Ct));
        await agent.AppendLogAsync(_alphaRun.Id, [new RunLogEntry(DateTimeOffset.UtcNow, null, "Information", "mine")], Ct);
        Assert.True(await agent.CompleteRunAsync(_alphaRun.Id, "agent-1", new RunCompletion { State = RunState.Success }, Ct));
        Assert.Empty(await agent.FailStaleRunsAsync(TimeSpan.FromHours(1), Ct));
    }

    [Fact]
    public async Task AKeyLimitedToProjects_MayNotManageWhatEveryProjectShares()
    {
        using var admin = await KeyAsync("admin-a", FlowRole.Admin, "Alpha");

        foreach (var call in new Func<Task>[]
        {
            () => admin.CreateProjectAsync("Delta", null, Ct),
            () => admin.PutSecretAsync("S", [1], Ct),
            () => admin.ListApiKeysAsync(Ct),
        })
        {
            var denied = await Assert.ThrowsAsync<FlowstoreException>(call);
            Assert.Equal(ErrorIds.AccessDenied, denied.ErrorId);
            Assert.Contains("is limited to project(s) Alpha", denied.Message, StringComparison.Ordinal);
        }
        Assert.Equal(["Alpha"], (await admin.GetProjectsAsync(null, Ct)).Select(p => p.Name));
    }
}
