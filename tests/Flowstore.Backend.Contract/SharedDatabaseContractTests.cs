using Xunit;
using static Flowstore.Backend.Contract.MinimalRequests;

namespace Flowstore.Backend.Contract;

/// <summary>
/// What a database backend promises when several instances of it (agents, shells, servers: each a process with
/// connections of its own) work on one database at the same instant: registrations numbered without gap or duplicate,
/// an unchanged registration recorded once, one winner per project name and per claimed run, every run claimed once,
/// and the idempotent answers a server keeps shared by the servers over the database. A backend's test project
/// subclasses this and supplies <see cref="OpenBackend"/>. The facts use their own project names; the one that claims
/// "the oldest" runs cancels leftover Scheduled runs first, so the facts of one class must not run alongside an agent.
/// </summary>
public abstract class SharedDatabaseContractTests : IDisposable
{
    private const int Racers = Race.Racers;

    private readonly string _prefix = "shared-" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<IFlowBackend> _backends = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    /// <summary>A new instance of the backend over the test's database (with connections of its own); called many times per fact.</summary>
    protected abstract IFlowBackend OpenBackend();

    protected CancellationToken Ct => _timeout.Token;

    /// <summary>A new instance, disposed with the fact.</summary>
    protected IFlowBackend Open()
    {
        var backend = OpenBackend();
        lock (_backends)
        {
            _backends.Add(backend);
        }
        return backend;
    }

    /// <summary><see cref="Racers"/> new instances.</summary>
    protected IFlowBackend[] OpenRacers() => Enumerable.Range(0, Racers).Select(_ => Open()).ToArray();

    /// <summary>A project name no other fact uses.</summary>
    protected string UniqueName(string suffix) => $"{_prefix}-{suffix}";

    // ---------------------------------------------------------------- registration

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Register_EightBackendsRegisteringChangesOfOneFlowAtOnce_GetVersionsWithoutGapOrDuplicate(bool force)
    {
        var backends = OpenRacers();
        var project = UniqueName("race");
        await backends[0].CreateProjectAsync(project, null, Ct);

        for (var round = 0; round < 3; round++)
        {
            var outcomes = await Race.TogetherAsync(
                i => backends[i].RegisterFlowAsync(Request(project, "my_flow", $"key-{round}-{i}", force), Ct));

            Assert.All(outcomes, o => Assert.Equal(RegistrationStatus.Registered, o.Status));
            Assert.Equal(Enumerable.Range(round * Racers + 1, Racers), outcomes.Select(o => o.Flow.Version).Order());
            Assert.Single(outcomes.Select(o => o.Flow.VersionGroupId).Distinct());
            Assert.Equal(Racers, outcomes.Select(o => o.Flow.Id).Distinct().Count());
            // Each registration saw the one before it: the previous versions form one chain.
            Assert.Equal(Enumerable.Range(round * Racers, Racers).Where(v => v > 0),
                outcomes.Where(o => o.Previous is not null).Select(o => o.Previous!.Version).Order());
        }

        var all = await backends[0].GetFlowsAsync(new FlowQuery { Project = project, IncludeArchived = true }, Ct);
        Assert.Equal(Enumerable.Range(1, 3 * Racers).Reverse(), all.Select(f => f.Version));
        var current = Assert.Single(await backends[0].GetFlowsAsync(new FlowQuery { Project = project }, Ct));
        Assert.Equal(3 * Racers, current.Version);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Register_EightBackendsRegisteringTheSameChangeAtOnce_RecordOneVersionAndSkipTheRest(bool earlierVersion)
    {
        var setup = Open();
        var project = UniqueName("same");
        await setup.CreateProjectAsync(project, null, Ct);
        var first = earlierVersion ? (await setup.RegisterFlowAsync(Request(project, "my_flow", "old"), Ct)).Flow : null;
        var backends = OpenRacers();

        var outcomes = await Race.TogetherAsync(i => backends[i].RegisterFlowAsync(Request(project, "my_flow", "new"), Ct));

        var registered = Assert.Single(outcomes, o => o.Status == RegistrationStatus.Registered);
        Assert.Equal(earlierVersion ? 2 : 1, registered.Flow.Version);
        Assert.Equal(first?.Id, registered.Previous?.Id);
        var skipped = outcomes.Where(o => o.Status == RegistrationStatus.Skipped).ToList();
        Assert.Equal(Racers - 1, skipped.Count);
        Assert.All(skipped, o => Assert.Equal(registered.Flow.Id, o.Flow.Id));
        Assert.All(skipped, o => Assert.Null(o.Previous));

        var stored = await setup.GetFlowsAsync(new FlowQuery { Project = project, IncludeArchived = true }, Ct);
        Assert.Equal(earlierVersion ? new[] { 2, 1 } : new[] { 1 }, stored.Select(f => f.Version));
    }

    [Fact]
    public async Task CreateProject_EightBackendsCreatingOneNameInDifferentCaseAtOnce_OneWinsTheOthersGetProjectExists()
    {
        var backends = OpenRacers();
        var name = UniqueName("Shared");

        var results = await Race.TogetherAsync(async i =>
        {
            try
            {
                return (await backends[i].CreateProjectAsync(i % 2 == 0 ? name : name.ToUpperInvariant(), null, Ct)).Name;
            }
            catch (FlowstoreException e) when (e.ErrorId == ErrorIds.ProjectExists)
            {
                return null;
            }
        });

        Assert.Single(results, r => r is not null);
        Assert.Single(await backends[0].GetProjectsAsync(name.ToLowerInvariant(), Ct));
    }

    // ---------------------------------------------------------------- claims

    [Fact]
    public async Task ClaimRun_ManyClaimersOnEightBackends_ClaimEachRunExactlyOnce()
    {
        var setup = Open();
        foreach (var leftover in await setup.GetRunsAsync(new RunQuery { State = RunState.Scheduled }, Ct))
        {
            await setup.RequestCancelAsync(leftover.Id, Ct);
        }
        var project = UniqueName("claims");
        await setup.CreateProjectAsync(project, null, Ct);
        var flow = (await setup.RegisterFlowAsync(Request(project, "my_flow", "k"), Ct)).Flow;
        const int runs = 60;
        var created = new HashSet<Guid>();
        for (var i = 0; i < runs; i++)
        {
            created.Add((await setup.CreateRunAsync(new NewRun { Flow = flow }, Ct)).Id);
        }
        var backends = OpenRacers();

        // Two claimers per backend, each claiming until the queue is empty.
        var claims = await Task.WhenAll(Enumerable.Range(0, 2 * Racers).Select(c => Task.Run(async () =>
        {
            var mine = new List<FlowRunRecord>();
            while (await backends[c % Racers].ClaimRunAsync($"agent-{c}", null, Ct) is { } run)
            {
                mine.Add(run);
            }
            return mine;
        })));

        var claimed = claims.SelectMany(c => c).ToList();
        Assert.Equal(runs, claimed.Count);
        Assert.Equal(created, claimed.Select(r => r.Id).ToHashSet());
        Assert.All(claimed, r => Assert.Equal(RunState.Running, r.State));
        var stored = (await setup.GetRunsAsync(new RunQuery { Project = project }, Ct)).ToDictionary(r => r.Id);
        for (var c = 0; c < claims.Length; c++)
        {
            // The one told is the owner, in the answer and in the database.
            Assert.All(claims[c], r => Assert.Equal($"agent-{c}", r.Agent));
            Assert.All(claims[c], r => Assert.Equal($"agent-{c}", stored[r.Id].Agent));
        }
        Assert.All(stored.Values, r => Assert.Equal(RunState.Running, r.State));
    }

    [Fact]
    public async Task ClaimById_EightBackendsAtOnce_HasOneWinner()
    {
        var setup = Open();
        var project = UniqueName("by-id");
        await setup.CreateProjectAsync(project, null, Ct);
        var flow = (await setup.RegisterFlowAsync(Request(project, "my_flow", "k"), Ct)).Flow;
        var run = await setup.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        var backends = OpenRacers();

        var claims = await Race.TogetherAsync(i => backends[i].ClaimRunAsync($"agent-{i}", run.Id, Ct));

        var winner = Assert.Single(claims, c => c is not null)!;
        Assert.Equal(run.Id, winner.Id);
        Assert.Equal(winner.Agent, Assert.Single(await setup.GetRunsAsync(new RunQuery { Id = run.Id }, Ct)).Agent);
    }

    // ---------------------------------------------------------------- idempotent answers (a server's, kept across restarts)

    [Fact]
    public async Task IdempotentAnswers_AreKeptUntilTheyExpire_TheFirstKeptStays_AndExpiredOnesArePurged()
    {
        var backend = Assert.IsAssignableFrom<IIdempotentAnswerStore>(Open());
        var other = Assert.IsAssignableFrom<IIdempotentAnswerStore>(Open()); // a second server over the same database
        var now = DateTimeOffset.UtcNow;
        var scope = "scope-" + Guid.NewGuid().ToString("N");
        Assert.Null(await backend.GetIdempotentAnswerAsync(scope, Ct));

        var first = new IdempotentAnswer(201, "application/json", "{\"id\":1}"u8.ToArray(), now, now.AddHours(1));
        Assert.Equal(first.Body, (await backend.SaveIdempotentAnswerAsync(scope, first, Ct)).Body);
        var kept = await other.SaveIdempotentAnswerAsync(scope, first with { Body = "{\"id\":2}"u8.ToArray() }, Ct);
        Assert.Equal(first.Body, kept.Body);
        var read = await other.GetIdempotentAnswerAsync(scope, Ct);
        Assert.NotNull(read);
        Assert.Equal(201, read.Status);
        Assert.Equal("application/json", read.ContentType);
        Assert.Equal(first.Body, read.Body);

        // An expired answer is not given, is replaced by a new one, and is purged.
        var stale = "stale-" + Guid.NewGuid().ToString("N");
        await backend.SaveIdempotentAnswerAsync(stale, first with { Created = now.AddDays(-2), Expires = now.AddMinutes(-1) }, Ct);
        Assert.Null(await backend.GetIdempotentAnswerAsync(stale, Ct));
        var replaced = "replaced-" + Guid.NewGuid().ToString("N");
        await backend.SaveIdempotentAnswerAsync(replaced, first with { Expires = now.AddMinutes(-1) }, Ct);
        Assert.Equal(204, (await backend.SaveIdempotentAnswerAsync(replaced, new IdempotentAnswer(204, null, [], now, now.AddHours(1)), Ct)).Status);
        Assert.Null((await backend.GetIdempotentAnswerAsync(replaced, Ct))!.ContentType);

        Assert.True(await backend.PurgeIdempotentAnswersAsync(DateTimeOffset.UtcNow, Ct) >= 1);
        Assert.Null(await backend.GetIdempotentAnswerAsync(stale, Ct));
        Assert.NotNull(await backend.GetIdempotentAnswerAsync(scope, Ct));
        Assert.NotNull(await backend.GetIdempotentAnswerAsync(replaced, Ct));
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Disposes every instance the fact opened, then calls <see cref="DeleteDatabase"/>.</summary>
    public void Dispose()
    {
        _backends.ForEach(b => b.Dispose());
        _timeout.Dispose();
        DeleteDatabase();
        GC.SuppressFinalize(this);
    }

    /// <summary>After the fact: a subclass whose database is the fact's own deletes it here.</summary>
    protected virtual void DeleteDatabase()
    {
    }
}
