using Xunit;

namespace Flowstore.Backend.Contract;

/// <summary>
/// The behaviour every <see cref="IFlowBackend"/> shares. A backend's test project subclasses this and supplies
/// <see cref="CreateBackend"/>; xunit runs each fact on a fresh instance (so a fresh backend). The facts never assume
/// an empty backend: each uses its own project names, so a backend that shares one server across tests works too.
/// The run facts (BackendContractTests.Runs.cs) are the exception where the queue is global: claiming "the oldest"
/// run and failing stale runs act on the whole backend, so those facts cancel leftover Scheduled runs first and
/// expect no live agent on the backend while they run.
/// </summary>
public abstract partial class BackendContractTests : IDisposable
{
    private readonly string _prefix = "contract-" + Guid.NewGuid().ToString("N")[..12];
    private IFlowBackend? _backend;
    private bool _disposed;

    /// <summary>A backend for the current test; called at most once per test (through <see cref="Backend"/>).</summary>
    protected abstract IFlowBackend CreateBackend();

    /// <summary>The current test's backend, created on first use and disposed with the test.</summary>
    protected IFlowBackend Backend => _backend ??= CreateBackend();

    /// <summary>Cancels a test that hangs (a lock that is never released, a server that never answers).</summary>
    protected CancellationToken Ct => _timeout.Token;

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    /// <summary>A project name no other test uses.</summary>
    protected string UniqueName(string suffix) => $"{_prefix}-{suffix}";

    protected async Task<ProjectInfo> NewProjectAsync(string suffix = "project", string? description = null)
        => await Backend.CreateProjectAsync(UniqueName(suffix), description, Ct);

    protected static FlowRegistrationRequest Request(string project, string name, string key = "key-1",
        bool force = false, IReadOnlyList<string>? labels = null) => new()
    {
        Project = project,
        Name = name,
        StructureJson = $$"""{"tasks":[{"name":"get_data","key":"{{key}}"}],"edges":[],"parameters":[]}""",
        StructureHash = "structure-" + key,
        RegistrationKey = key,
        StorageType = "Local",
        StorageJson = """{"type":"Local","path":"flows/my_flow.cs"}""",
        Labels = labels ?? Array.Empty<string>(),
        Description = $"{name} ({key})",
        ScriptPath = "flows/my_flow.cs",
        ScriptSha256 = "ab12" + key,
        Force = force,
    };

    // ---------------------------------------------------------------- projects

    [Fact]
    public async Task CreateProject_ThenGetProjects_ReturnsIt()
    {
        var before = DateTimeOffset.UtcNow;
        var created = await NewProjectAsync("alpha", "the alpha project");
        var after = DateTimeOffset.UtcNow;

        Assert.NotEqual(Guid.Empty, created.Id);
        Assert.Equal(UniqueName("alpha"), created.Name);
        Assert.Equal("the alpha project", created.Description);
        Assert.Equal(0, created.FlowCount);
        AssertUtcBetween(created.Created, before, after);

        var byName = Assert.Single(await Backend.GetProjectsAsync(UniqueName("alpha"), Ct));
        Assert.Equal(created, byName);

        var all = await Backend.GetProjectsAsync(null, Ct);
        Assert.Contains(created, all);
    }

    [Fact]
    public async Task GetProjects_ByName_IgnoresCase()
    {
        var created = await NewProjectAsync("MixedCase");

        var found = Assert.Single(await Backend.GetProjectsAsync(UniqueName("MixedCase").ToUpperInvariant(), Ct));
        Assert.Equal(created.Id, found.Id);
        Assert.Equal(UniqueName("MixedCase"), found.Name);
    }

    [Fact]
    public async Task GetProjects_UnknownName_ReturnsNothing()
    {
        Assert.Empty(await Backend.GetProjectsAsync(UniqueName("missing"), Ct));
    }

    [Fact]
    public async Task GetProjects_SortsByName()
    {
        await NewProjectAsync("b");
        await NewProjectAsync("C");
        await NewProjectAsync("a");

        var names = (await Backend.GetProjectsAsync(null, Ct))
            .Select(p => p.Name)
            .Where(n => n.StartsWith(UniqueName(""), StringComparison.Ordinal))
            .ToList();

        Assert.Equal([UniqueName("a"), UniqueName("b"), UniqueName("C")], names);
    }

    [Fact]
    public async Task CreateProject_WithoutDescription_HasNullDescription()
    {
        var created = await NewProjectAsync("plain");

        Assert.Null(created.Description);
        Assert.Null(Assert.Single(await Backend.GetProjectsAsync(created.Name, Ct)).Description);
    }

    [Fact]
    public async Task CreateProject_DuplicateNameIgnoringCase_FailsWithProjectExists()
    {
        var first = await NewProjectAsync("dup");

        var error = await Assert.ThrowsAsync<FlowstoreException>(
            () => Backend.CreateProjectAsync(first.Name.ToUpperInvariant(), null, Ct));

        Assert.Equal(ErrorIds.ProjectExists, error.ErrorId);
        Assert.Equal(FlowErrorKind.ResourceExists, error.Kind);
        Assert.Contains(first.Name, error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Single(await Backend.GetProjectsAsync(first.Name, Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task CreateProject_EmptyName_FailsWithInvalidName(string name)
    {
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => Backend.CreateProjectAsync(name, null, Ct));

        Assert.Equal(ErrorIds.InvalidName, error.ErrorId);
        Assert.Equal(FlowErrorKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public async Task CreateProject_ControlCharacters_FailWithInvalidName_ShownEscaped()
    {
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => Backend.CreateProjectAsync("team\u001b]0;pwned\u0007", null, Ct));

        Assert.Equal(ErrorIds.InvalidName, error.ErrorId);
        Assert.Contains("'team\\u001B]0;pwned\\u0007'", error.Message);
        Assert.DoesNotContain(error.Message + error.Target, c => char.IsControl(c));
        Assert.DoesNotContain(await Backend.GetProjectsAsync(null, Ct), p => p.Name.StartsWith("team", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProjectFlowCount_CountsFlowsWithAnUnarchivedVersion()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "one", "k1"), Ct);
        await Backend.RegisterFlowAsync(Request(project.Name, "one", "k2"), Ct); // second version, still one flow
        var two = await Backend.RegisterFlowAsync(Request(project.Name, "two", "k1"), Ct);
        await Backend.RegisterFlowAsync(Request(project.Name, "three", "k1"), Ct);

        Assert.Equal(3, Assert.Single(await Backend.GetProjectsAsync(project.Name, Ct)).FlowCount);

        await Backend.ArchiveFlowAsync(two.Flow.VersionGroupId, Ct);

        Assert.Equal(2, Assert.Single(await Backend.GetProjectsAsync(project.Name, Ct)).FlowCount);
    }

    // ---------------------------------------------------------------- registration

    [Fact]
    public async Task Register_FirstVersion_IsVersionOneAndRegistered()
    {
        var project = await NewProjectAsync();
        var request = Request(project.Name, "my_flow", labels: ["prod", "etl"]);

        var outcome = await Backend.RegisterFlowAsync(request, Ct);

        Assert.Equal(RegistrationStatus.Registered, outcome.Status);
        Assert.Null(outcome.Previous);
        var flow = outcome.Flow;
        Assert.NotEqual(Guid.Empty, flow.Id);
        Assert.NotEqual(Guid.Empty, flow.VersionGroupId);
        Assert.Equal(1, flow.Version);
        Assert.Equal("my_flow", flow.Name);
        Assert.Equal(project.Name, flow.Project);
        Assert.False(flow.Archived);
        Assert.Equal(request.StructureJson, flow.StructureJson);
        Assert.Equal(request.StructureHash, flow.StructureHash);
        Assert.Equal(request.RegistrationKey, flow.RegistrationKey);
        Assert.Equal(request.StorageType, flow.StorageType);
        Assert.Equal(request.StorageJson, flow.StorageJson);
        Assert.Equal(["prod", "etl"], flow.Labels);
        Assert.Equal(request.Description, flow.Description);
        Assert.Equal(request.ScriptPath, flow.ScriptPath);
        Assert.Equal(request.ScriptSha256, flow.ScriptSha256);

        AssertSameFlow(flow, Assert.Single(await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name }, Ct)));
    }

    [Fact]
    public async Task Register_SameKeyAgain_IsSkippedAndWritesNothing()
    {
        var project = await NewProjectAsync();
        var first = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow"), Ct);

        var again = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow"), Ct);

        Assert.Equal(RegistrationStatus.Skipped, again.Status);
        Assert.Null(again.Previous);
        AssertSameFlow(first.Flow, again.Flow);
        var all = await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name, IncludeArchived = true }, Ct);
        AssertSameFlow(first.Flow, Assert.Single(all));
    }

    [Fact]
    public async Task Register_ChangedKey_CreatesNextVersionAndArchivesThePrevious()
    {
        var project = await NewProjectAsync();
        var first = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k1"), Ct);

        var second = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k2"), Ct);

        Assert.Equal(RegistrationStatus.Registered, second.Status);
        Assert.Equal(2, second.Flow.Version);
        Assert.NotEqual(first.Flow.Id, second.Flow.Id);
        Assert.Equal(first.Flow.VersionGroupId, second.Flow.VersionGroupId);
        Assert.Equal("k2", second.Flow.RegistrationKey);
        Assert.False(second.Flow.Archived);

        Assert.NotNull(second.Previous);
        Assert.Equal(first.Flow.Id, second.Previous.Id);
        Assert.Equal(1, second.Previous.Version);
        Assert.True(second.Previous.Archived);

        var all = await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name, IncludeArchived = true }, Ct);
        Assert.Equal([2, 1], all.Select(f => f.Version));
        Assert.False(all[0].Archived);
        Assert.True(all[1].Archived);
        AssertSameFlow(second.Flow, all[0]);
        AssertSameFlow(second.Previous, all[1]);
    }

    [Fact]
    public async Task Register_SameKeyAsAnOlderVersion_IsANewVersion()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k1"), Ct);
        await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k2"), Ct);

        var back = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k1"), Ct);

        Assert.Equal(RegistrationStatus.Registered, back.Status);
        Assert.Equal(3, back.Flow.Version);
        Assert.Equal(2, back.Previous?.Version);
    }

    [Fact]
    public async Task Register_WithForce_CreatesANewVersionOfAnUnchangedFlow()
    {
        var project = await NewProjectAsync();
        var first = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow"), Ct);

        var forced = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", force: true), Ct);

        Assert.Equal(RegistrationStatus.Registered, forced.Status);
        Assert.Equal(2, forced.Flow.Version);
        Assert.NotEqual(first.Flow.Id, forced.Flow.Id);
        Assert.Equal(first.Flow.VersionGroupId, forced.Flow.VersionGroupId);
        Assert.Equal(first.Flow.Id, forced.Previous?.Id);
        Assert.True(forced.Previous?.Archived);

        var current = Assert.Single(await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name }, Ct));
        Assert.Equal(forced.Flow.Id, current.Id);
    }

    [Fact]
    public async Task Register_FirstVersionWithForce_IsVersionOne()
    {
        var project = await NewProjectAsync();

        var outcome = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", force: true), Ct);

        Assert.Equal(RegistrationStatus.Registered, outcome.Status);
        Assert.Equal(1, outcome.Flow.Version);
        Assert.Null(outcome.Previous);
    }

    [Fact]
    public async Task Register_MissingProject_FailsWithProjectNotFound()
    {
        var missing = UniqueName("missing");

        var error = await Assert.ThrowsAsync<FlowstoreException>(
            () => Backend.RegisterFlowAsync(Request(missing, "my_flow"), Ct));

        Assert.Equal(ErrorIds.ProjectNotFound, error.ErrorId);
        Assert.Equal(FlowErrorKind.ObjectNotFound, error.Kind);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Equal(FlowHint.CreateProject(missing), error.Hint);
        Assert.DoesNotContain("New-FlowProject", error.Message, StringComparison.Ordinal);
        Assert.Empty(await Backend.GetProjectsAsync(missing, Ct));
    }

    [Fact]
    public async Task Register_ProjectAndFlowNamesIgnoreCase()
    {
        var project = await NewProjectAsync("Cased");
        var first = await Backend.RegisterFlowAsync(Request(project.Name, "My_Flow", "k1"), Ct);

        var again = await Backend.RegisterFlowAsync(Request(project.Name.ToUpperInvariant(), "MY_FLOW", "k1"), Ct);
        Assert.Equal(RegistrationStatus.Skipped, again.Status);
        Assert.Equal(first.Flow.Id, again.Flow.Id);

        var changed = await Backend.RegisterFlowAsync(Request(project.Name.ToLowerInvariant(), "my_flow", "k2"), Ct);
        Assert.Equal(RegistrationStatus.Registered, changed.Status);
        Assert.Equal(2, changed.Flow.Version);
        Assert.Equal(first.Flow.VersionGroupId, changed.Flow.VersionGroupId);
        Assert.Equal(project.Name, changed.Flow.Project); // the project's own spelling
    }

    [Fact]
    public async Task Register_SameFlowNameInTwoProjects_AreSeparateFlows()
    {
        var a = await NewProjectAsync("a");
        var b = await NewProjectAsync("b");

        var inA = await Backend.RegisterFlowAsync(Request(a.Name, "my_flow"), Ct);
        var inB = await Backend.RegisterFlowAsync(Request(b.Name, "my_flow"), Ct);

        Assert.Equal(RegistrationStatus.Registered, inB.Status);
        Assert.Equal(1, inB.Flow.Version);
        Assert.NotEqual(inA.Flow.VersionGroupId, inB.Flow.VersionGroupId);
    }

    [Fact]
    public async Task Register_EmptyFlowName_FailsWithInvalidName()
    {
        var project = await NewProjectAsync();

        var error = await Assert.ThrowsAsync<FlowstoreException>(
            () => Backend.RegisterFlowAsync(Request(project.Name, " "), Ct));

        Assert.Equal(ErrorIds.InvalidName, error.ErrorId);
    }

    [Fact]
    public async Task Register_ConcurrentlyWithForce_GivesContiguousVersions()
    {
        const int count = 8;
        var project = await NewProjectAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await Backend.RegisterFlowAsync(Request(project.Name, "raced", $"k{i}", force: true), Ct);
        })).ToList();
        gate.SetResult();

        var outcomes = await Task.WhenAll(tasks);

        Assert.All(outcomes, o => Assert.Equal(RegistrationStatus.Registered, o.Status));
        Assert.Equal(Enumerable.Range(1, count), outcomes.Select(o => o.Flow.Version).Order());
        Assert.Single(outcomes.Select(o => o.Flow.VersionGroupId).Distinct());
        var stored = await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name, IncludeArchived = true }, Ct);
        Assert.Equal(Enumerable.Range(1, count).Reverse(), stored.Select(f => f.Version));
        Assert.Equal(count, Assert.Single(stored, f => !f.Archived).Version);
    }

    // ---------------------------------------------------------------- queries

    [Fact]
    public async Task GetFlows_FiltersByProjectNameIdVersionAndArchived()
    {
        var p1 = await NewProjectAsync("p1");
        var p2 = await NewProjectAsync("p2");
        var etl1 = await Backend.RegisterFlowAsync(Request(p1.Name, "etl", "k1"), Ct);
        var etl2 = await Backend.RegisterFlowAsync(Request(p1.Name, "etl", "k2"), Ct);
        var report = await Backend.RegisterFlowAsync(Request(p1.Name, "report", "k1"), Ct);
        var other = await Backend.RegisterFlowAsync(Request(p2.Name, "etl", "k1"), Ct);

        async Task<Guid[]> Ids(FlowQuery q) => (await Backend.GetFlowsAsync(q, Ct)).Select(f => f.Id).ToArray();

        Assert.Equal([etl2.Flow.Id, report.Flow.Id], await Ids(new FlowQuery { Project = p1.Name }));
        Assert.Equal([etl2.Flow.Id, report.Flow.Id], await Ids(new FlowQuery { Project = p1.Name.ToUpperInvariant() }));
        Assert.Equal([etl2.Flow.Id, etl1.Flow.Id, report.Flow.Id],
            await Ids(new FlowQuery { Project = p1.Name, IncludeArchived = true }));
        Assert.Equal([etl2.Flow.Id], await Ids(new FlowQuery { Project = p1.Name, Name = "ETL" }));
        Assert.Equal([etl2.Flow.Id, etl1.Flow.Id],
            await Ids(new FlowQuery { Project = p1.Name, Name = "Etl", IncludeArchived = true }));
        Assert.Equal([other.Flow.Id], await Ids(new FlowQuery { Project = p2.Name, Name = "etl" }));
        Assert.Empty(await Ids(new FlowQuery { Project = p1.Name, Name = "et" })); // exact, not a prefix

        Assert.Equal([report.Flow.Id], await Ids(new FlowQuery { Id = report.Flow.Id }));
        Assert.Empty(await Ids(new FlowQuery { Id = etl1.Flow.Id }));              // archived: hidden by default
        Assert.Equal([etl1.Flow.Id], await Ids(new FlowQuery { Id = etl1.Flow.Id, IncludeArchived = true }));
        Assert.Empty(await Ids(new FlowQuery { Id = Guid.NewGuid(), IncludeArchived = true }));

        Assert.Equal([etl1.Flow.Id],
            await Ids(new FlowQuery { Project = p1.Name, Name = "etl", Version = 1, IncludeArchived = true }));
        Assert.Empty(await Ids(new FlowQuery { Project = p1.Name, Name = "etl", Version = 1 }));
        Assert.Equal([etl2.Flow.Id], await Ids(new FlowQuery { Project = p1.Name, Version = 2 }));

        Assert.Empty(await Ids(new FlowQuery { Project = UniqueName("missing"), IncludeArchived = true }));
    }

    [Fact]
    public async Task GetFlows_SortsByProjectThenNameThenVersionDescending()
    {
        var b = await NewProjectAsync("b");
        var a = await NewProjectAsync("a");
        await Backend.RegisterFlowAsync(Request(b.Name, "zeta", "k1"), Ct);
        await Backend.RegisterFlowAsync(Request(a.Name, "Beta", "k1"), Ct);
        await Backend.RegisterFlowAsync(Request(a.Name, "alpha", "k1"), Ct);
        await Backend.RegisterFlowAsync(Request(a.Name, "alpha", "k2"), Ct);
        await Backend.RegisterFlowAsync(Request(a.Name, "alpha", "k3"), Ct);

        var all = (await Backend.GetFlowsAsync(new FlowQuery { IncludeArchived = true }, Ct))
            .Where(f => f.Project == a.Name || f.Project == b.Name)
            .Select(f => $"{f.Project}/{f.Name}/{f.Version}")
            .ToList();

        Assert.Equal(
        [
            $"{a.Name}/alpha/3", $"{a.Name}/alpha/2", $"{a.Name}/alpha/1", $"{a.Name}/Beta/1",
            $"{b.Name}/zeta/1",
        ], all);
    }

    // ---------------------------------------------------------------- archiving

    [Fact]
    public async Task ArchiveFlow_HidesEveryVersionAndCountsThem()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k1"), Ct);
        var latest = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k2"), Ct);
        var kept = await Backend.RegisterFlowAsync(Request(project.Name, "kept", "k1"), Ct);

        var changed = await Backend.ArchiveFlowAsync(latest.Flow.VersionGroupId, Ct);

        Assert.Equal(1, changed); // version 1 was archived already
        var visible = await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name }, Ct);
        Assert.Equal(kept.Flow.Id, Assert.Single(visible).Id);
        Assert.Empty(await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name, Name = "my_flow" }, Ct));
        var archived = await Backend.GetFlowsAsync(
            new FlowQuery { Project = project.Name, Name = "my_flow", IncludeArchived = true }, Ct);
        Assert.Equal([2, 1], archived.Select(f => f.Version));
        Assert.All(archived, f => Assert.True(f.Archived));

        Assert.Equal(0, await Backend.ArchiveFlowAsync(latest.Flow.VersionGroupId, Ct));
        Assert.Equal(0, await Backend.ArchiveFlowAsync(Guid.NewGuid(), Ct));
    }

    [Fact]
    public async Task Register_AfterArchive_CreatesTheNextVersionInTheSameGroup()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k1"), Ct);
        var second = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k2"), Ct);
        await Backend.ArchiveFlowAsync(second.Flow.VersionGroupId, Ct);

        var again = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k2"), Ct); // same key

        Assert.Equal(RegistrationStatus.Registered, again.Status);
        Assert.Equal(3, again.Flow.Version);
        Assert.Equal(second.Flow.VersionGroupId, again.Flow.VersionGroupId);
        Assert.NotEqual(second.Flow.Id, again.Flow.Id);
        Assert.Equal(second.Flow.Id, again.Previous?.Id);
        Assert.True(again.Previous?.Archived);
        var visible = Assert.Single(await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name }, Ct));
        Assert.Equal(again.Flow.Id, visible.Id);

        var skipped = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k2"), Ct);
        Assert.Equal(RegistrationStatus.Skipped, skipped.Status);
        Assert.Equal(again.Flow.Id, skipped.Flow.Id);
    }

    // ---------------------------------------------------------------- round trips

    [Fact]
    public async Task Labels_RoundTripInOrder()
    {
        var project = await NewProjectAsync();
        string[] labels = ["zeta", "alpha", "with space", "ünïcödé", "quote\"and\\slash", ""];

        var withLabels = await Backend.RegisterFlowAsync(Request(project.Name, "labelled", labels: labels), Ct);
        var without = await Backend.RegisterFlowAsync(Request(project.Name, "plain"), Ct);

        Assert.Equal(labels, withLabels.Flow.Labels);
        Assert.Empty(without.Flow.Labels);
        var stored = await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name }, Ct);
        Assert.Equal(labels, stored.Single(f => f.Name == "labelled").Labels);
        Assert.Empty(stored.Single(f => f.Name == "plain").Labels);
    }

    [Fact]
    public async Task Timestamps_AreUtcAndRoundTrip()
    {
        var project = await NewProjectAsync();
        var before = DateTimeOffset.UtcNow;
        var outcome = await Backend.RegisterFlowAsync(Request(project.Name, "timed"), Ct);
        var after = DateTimeOffset.UtcNow;

        AssertUtcBetween(outcome.Flow.Registered, before, after);
        var stored = Assert.Single(await Backend.GetFlowsAsync(new FlowQuery { Id = outcome.Flow.Id }, Ct));
        Assert.Equal(TimeSpan.Zero, stored.Registered.Offset);
        Assert.Equal(outcome.Flow.Registered.UtcTicks, stored.Registered.UtcTicks);

        var storedProject = Assert.Single(await Backend.GetProjectsAsync(project.Name, Ct));
        Assert.Equal(TimeSpan.Zero, storedProject.Created.Offset);
        Assert.Equal(project.Created.UtcTicks, storedProject.Created.UtcTicks);
    }

    [Fact]
    public async Task Timestamps_OfLaterVersionsDoNotGoBackwards()
    {
        var project = await NewProjectAsync();
        var first = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k1"), Ct);
        var second = await Backend.RegisterFlowAsync(Request(project.Name, "my_flow", "k2"), Ct);

        Assert.True(second.Flow.Registered >= first.Flow.Registered);
    }

    [Fact]
    public async Task NullOptionalFields_RoundTripAsNull()
    {
        var project = await NewProjectAsync();
        var request = Request(project.Name, "bare") with { Description = null, ScriptPath = null, ScriptSha256 = null };

        var outcome = await Backend.RegisterFlowAsync(request, Ct);

        var stored = Assert.Single(await Backend.GetFlowsAsync(new FlowQuery { Id = outcome.Flow.Id }, Ct));
        Assert.Null(stored.Description);
        Assert.Null(stored.ScriptPath);
        Assert.Null(stored.ScriptSha256);
    }

    // ---------------------------------------------------------------- cancellation

    [Fact]
    public async Task CancelledToken_Throws()
    {
        var project = await NewProjectAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Backend.RegisterFlowAsync(Request(project.Name, "my_flow"), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Backend.GetFlowsAsync(new FlowQuery { Project = project.Name }, cancelled.Token));

        Assert.Empty(await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name, IncludeArchived = true }, Ct));
    }

    // ---------------------------------------------------------------- helpers

    private static readonly string[] NoLabels = [];

    protected static void AssertSameFlow(FlowRecord expected, FlowRecord actual)
    {
        Assert.Equal(expected with { Labels = NoLabels }, actual with { Labels = NoLabels });
        Assert.Equal(expected.Labels, actual.Labels);
    }

    /// <summary>UTC, and within the interval (a millisecond of slack for backends that store coarser time).</summary>
    protected static void AssertUtcBetween(DateTimeOffset value, DateTimeOffset before, DateTimeOffset after)
    {
        Assert.Equal(TimeSpan.Zero, value.Offset);
        Assert.InRange(value, before.AddMilliseconds(-1), after.AddMilliseconds(1));
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the backend; a subclass cleans up after calling this (e.g. deletes the database file).</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (disposing)
        {
            _backend?.Dispose();
            _timeout.Dispose();
        }
    }
}
