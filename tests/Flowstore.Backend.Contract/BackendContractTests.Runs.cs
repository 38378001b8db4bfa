using Xunit;

namespace Flowstore.Backend.Contract;

// The run store (IRunStore) part of the contract: the queue, atomic claims, heartbeats, cancellation, stale runs,
// logs and history. No fact sleeps: staleness is tested with a zero timeout (every Running run is stale) and a
// large one (none is).
public abstract partial class BackendContractTests
{
    /// <summary>The error id of a run failed because its agent stopped heartbeating.</summary>
    protected const string RunAgentLost = "RunAgentLost";

    /// <summary>The error id of an operation on a run that does not exist.</summary>
    protected const string RunNotFound = "RunNotFound";

    // ---------------------------------------------------------------- create

    [Fact]
    public async Task CreateRun_IsScheduledWithFlowNameProjectAndVersion()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "etl", "k1"), Ct);
        var flow = (await Backend.RegisterFlowAsync(Request(project.Name, "etl", "k2"), Ct)).Flow;
        var pinnedFrom = Guid.NewGuid();

        var before = DateTimeOffset.UtcNow;
        var run = await Backend.CreateRunAsync(new NewRun
        {
            Flow = flow,
            ParametersJson = """{"n":3,"name":"ünïcödé"}""",
            PinnedStorageVersion = "2024-01-02T03:04:05Z/1234",
            PinnedFromRun = pinnedFrom,
        }, Ct);
        var after = DateTimeOffset.UtcNow;

        Assert.NotEqual(Guid.Empty, run.Id);
        Assert.Equal(RunState.Scheduled, run.State);
        Assert.Equal(flow.Id, run.FlowId);
        Assert.Equal("etl", run.FlowName);
        Assert.Equal(project.Name, run.Project);
        Assert.Equal(2, run.FlowVersion);
        Assert.Equal("""{"n":3,"name":"ünïcödé"}""", run.ParametersJson);
        AssertUtcBetween(run.Created, before, after);
        Assert.Null(run.Started);
        Assert.Null(run.Ended);
        Assert.Null(run.Duration);
        Assert.Null(run.Agent);
        Assert.Null(run.Heartbeat);
        Assert.Null(run.Error);
        Assert.Null(run.ErrorId);
        Assert.Null(run.ScriptSha256);
        Assert.Null(run.StorageVersion);
        Assert.False(run.CancelRequested);
        Assert.Equal("2024-01-02T03:04:05Z/1234", run.PinnedStorageVersion);
        Assert.Equal(pinnedFrom, run.PinnedFromRun);
        Assert.Empty(run.Tasks);

        AssertSameRun(run, await GetRunAsync(run.Id));
    }

    [Fact]
    public async Task CreateRun_Defaults_HaveEmptyParametersAndNoPin()
    {
        var flow = await NewFlowAsync();

        var run = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        Assert.Equal("{}", run.ParametersJson);
        Assert.Null(run.PinnedStorageVersion);
        Assert.Null(run.PinnedFromRun);
        AssertSameRun(run, await GetRunAsync(run.Id));
    }

    [Fact]
    public async Task CreateRun_OfAnArchivedVersion_IsAllowed()
    {
        var project = await NewProjectAsync();
        var first = (await Backend.RegisterFlowAsync(Request(project.Name, "etl", "k1"), Ct)).Flow;
        await Backend.RegisterFlowAsync(Request(project.Name, "etl", "k2"), Ct);

        var run = await Backend.CreateRunAsync(new NewRun { Flow = first }, Ct);

        Assert.Equal(1, run.FlowVersion);
        Assert.Equal(first.Id, run.FlowId);
    }

    [Fact]
    public async Task CreateRun_UnknownFlow_FailsWithFlowNotFound()
    {
        var flow = await NewFlowAsync();
        var unknown = flow with { Id = Guid.NewGuid() };

        var error = await Assert.ThrowsAsync<FlowstoreException>(
            () => Backend.CreateRunAsync(new NewRun { Flow = unknown }, Ct));

        Assert.Equal(ErrorIds.FlowNotFound, error.ErrorId);
        Assert.Equal(FlowErrorKind.ObjectNotFound, error.Kind);
        Assert.Empty(await Backend.GetRunsAsync(new RunQuery { Project = flow.Project }, Ct));
    }

    // ---------------------------------------------------------------- claim

    [Fact]
    public async Task ClaimRun_TakesTheOldestScheduledRunFirst()
    {
        await CancelScheduledRunsAsync();
        var flow = await NewFlowAsync();
        var first = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        var second = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        var third = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        var before = DateTimeOffset.UtcNow;
        var claimed = await Backend.ClaimRunAsync("agent-a", null, Ct);
        var after = DateTimeOffset.UtcNow;

        Assert.NotNull(claimed);
        Assert.Equal(first.Id, claimed.Id);
        Assert.Equal(RunState.Running, claimed.State);
        Assert.Equal("agent-a", claimed.Agent);
        Assert.NotNull(claimed.Started);
        AssertUtcBetween(claimed.Started.Value, before, after);
        Assert.Equal(claimed.Started, claimed.Heartbeat);
        Assert.Null(claimed.Ended);
        Assert.Equal(first.Created, claimed.Created);
        Assert.Equal(flow.Name, claimed.FlowName);
        Assert.Equal(flow.Project, claimed.Project);
        Assert.Equal(flow.Version, claimed.FlowVersion);
        AssertSameRun(claimed, await GetRunAsync(first.Id));

        Assert.Equal(second.Id, (await Backend.ClaimRunAsync("agent-b", null, Ct))?.Id);
        Assert.Equal(third.Id, (await Backend.ClaimRunAsync("agent-a", null, Ct))?.Id);
        Assert.Null(await Backend.ClaimRunAsync("agent-a", null, Ct));
        Assert.Equal("agent-b", (await GetRunAsync(second.Id)).Agent);
    }

    [Fact]
    public async Task ClaimRun_ById_TakesThatRunAndOnlyWhileItIsScheduled()
    {
        var flow = await NewFlowAsync();
        var older = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        var wanted = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        var claimed = await Backend.ClaimRunAsync("agent-a", wanted.Id, Ct);

        Assert.Equal(wanted.Id, claimed?.Id);
        Assert.Equal(RunState.Running, claimed?.State);
        Assert.Equal(RunState.Scheduled, (await GetRunAsync(older.Id)).State);

        Assert.Null(await Backend.ClaimRunAsync("agent-b", wanted.Id, Ct));   // Running already
        Assert.Equal("agent-a", (await GetRunAsync(wanted.Id)).Agent);        // still the first claimer's
        Assert.Null(await Backend.ClaimRunAsync("agent-b", Guid.NewGuid(), Ct)); // no such run

        Assert.True(await Backend.RequestCancelAsync(older.Id, Ct));
        Assert.Null(await Backend.ClaimRunAsync("agent-b", older.Id, Ct));    // Cancelled
    }

    [Fact]
    public async Task ClaimRun_EmptyQueue_ReturnsNull()
    {
        await CancelScheduledRunsAsync();

        Assert.Null(await Backend.ClaimRunAsync("agent-a", null, Ct));
    }

    [Fact]
    public async Task ClaimRun_Concurrently_ClaimsEachRunExactlyOnce()
    {
        const int runs = 20;
        const int claimers = 4;
        await CancelScheduledRunsAsync();
        var flow = await NewFlowAsync();
        var created = new List<Guid>();
        for (var i = 0; i < runs; i++)
        {
            created.Add((await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct)).Id);
        }

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, claimers).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            var mine = new List<FlowRunRecord>();
            while (await Backend.ClaimRunAsync($"agent-{i}", null, Ct) is { } run)
            {
                mine.Add(run);
            }
            return mine;
        })).ToList();
        gate.SetResult();
        var claims = (await Task.WhenAll(tasks)).SelectMany(c => c).ToList();

        Assert.Equal(runs, claims.Count);
        Assert.Equal(created.Order(), claims.Select(c => c.Id).Order());
        foreach (var claim in claims)
        {
            Assert.Equal(RunState.Running, claim.State);
            Assert.Equal(claim.Agent, (await GetRunAsync(claim.Id)).Agent); // the stored owner is the one told
        }
        Assert.Empty(await Backend.GetRunsAsync(new RunQuery { Project = flow.Project, State = RunState.Scheduled }, Ct));
    }

    // ---------------------------------------------------------------- heartbeat and cancel

    [Fact]
    public async Task Heartbeat_ReturnsTheCancelFlagAfterRequestCancel()
    {
        var run = await ClaimNewRunAsync("agent-a");

        Assert.False(await Backend.HeartbeatAsync(run.Id, "agent-a", [], Ct));
        var beaten = await GetRunAsync(run.Id);
        Assert.True(beaten.Heartbeat >= run.Heartbeat);

        Assert.True(await Backend.RequestCancelAsync(run.Id, Ct));

        var flagged = await GetRunAsync(run.Id);
        Assert.Equal(RunState.Running, flagged.State); // the agent stops it
        Assert.True(flagged.CancelRequested);
        Assert.Null(flagged.Ended);
        Assert.True(await Backend.HeartbeatAsync(run.Id, "agent-a", [], Ct));
        Assert.True(await Backend.RequestCancelAsync(run.Id, Ct)); // asking again is fine

        Assert.True(await Backend.CompleteRunAsync(run.Id, "agent-a",
            new RunCompletion { State = RunState.Cancelled, Error = "stopped by Stop-FlowRun" }, Ct));
        var ended = await GetRunAsync(run.Id);
        Assert.Equal(RunState.Cancelled, ended.State);
        Assert.Equal("stopped by Stop-FlowRun", ended.Error);
        Assert.False(await Backend.RequestCancelAsync(run.Id, Ct));
    }

    [Fact]
    public async Task Heartbeat_RecordsTaskStatesAndUpdatesThem()
    {
        var run = await ClaimNewRunAsync("agent-a");
        var t0 = Time(0);

        Assert.False(await Backend.HeartbeatAsync(run.Id, "agent-a",
        [
            new TaskRunRecord("Get data", "get_data", TaskRunState.Running, 1, t0, null, null),
            new TaskRunRecord("Load", "load", TaskRunState.Pending, 0, null, null, null),
        ], Ct));

        Assert.Equal(
        [
            new TaskRunRecord("Get data", "get_data", TaskRunState.Running, 1, t0, null, null),
            new TaskRunRecord("Load", "load", TaskRunState.Pending, 0, null, null, null),
        ], (await GetRunAsync(run.Id)).Tasks);

        Assert.False(await Backend.HeartbeatAsync(run.Id, "agent-a",
        [
            new TaskRunRecord("Get data", "get_data", TaskRunState.Success, 2, t0, Time(5), "first attempt: boom"),
        ], Ct));

        Assert.Equal(
        [
            new TaskRunRecord("Get data", "get_data", TaskRunState.Success, 2, t0, Time(5), "first attempt: boom"),
            new TaskRunRecord("Load", "load", TaskRunState.Pending, 0, null, null, null), // not sent: kept
        ], (await GetRunAsync(run.Id)).Tasks);
    }

    [Fact]
    public async Task Heartbeat_ByAnotherAgentOrForAnEndedRun_ReturnsTrueAndWritesNothing()
    {
        var run = await ClaimNewRunAsync("agent-a");
        var claimed = await GetRunAsync(run.Id);

        Assert.True(await Backend.HeartbeatAsync(run.Id, "agent-b",
            [new TaskRunRecord("t", "t", TaskRunState.Running, 1, Time(0), null, null)], Ct));

        var after = await GetRunAsync(run.Id);
        AssertSameRun(claimed, after);
        Assert.Empty(after.Tasks);

        Assert.True(await Backend.CompleteRunAsync(run.Id, "agent-a", new RunCompletion { State = RunState.Success }, Ct));
        Assert.True(await Backend.HeartbeatAsync(run.Id, "agent-a", [], Ct));
        Assert.True(await Backend.HeartbeatAsync(Guid.NewGuid(), "agent-a", [], Ct));
    }

    [Fact]
    public async Task RequestCancel_ScheduledRun_IsCancelledAtOnce()
    {
        var flow = await NewFlowAsync();
        var run = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        var before = DateTimeOffset.UtcNow;
        Assert.True(await Backend.RequestCancelAsync(run.Id, Ct));
        var after = DateTimeOffset.UtcNow;

        var cancelled = await GetRunAsync(run.Id);
        Assert.Equal(RunState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.Ended);
        AssertUtcBetween(cancelled.Ended.Value, before, after);
        Assert.Null(cancelled.Started);
        Assert.Null(cancelled.Agent);
        Assert.Equal("cancelled before it started", cancelled.Error);

        Assert.False(await Backend.RequestCancelAsync(run.Id, Ct)); // ended
        Assert.Null(await Backend.ClaimRunAsync("agent-a", run.Id, Ct));
    }

    [Fact]
    public async Task RequestCancel_EndedRun_ReturnsFalseAndChangesNothing()
    {
        var run = await ClaimNewRunAsync("agent-a");
        Assert.True(await Backend.CompleteRunAsync(run.Id, "agent-a", new RunCompletion { State = RunState.Success }, Ct));
        var ended = await GetRunAsync(run.Id);

        Assert.False(await Backend.RequestCancelAsync(run.Id, Ct));

        AssertSameRun(ended, await GetRunAsync(run.Id));
    }

    [Fact]
    public async Task RequestCancel_UnknownRun_FailsWithRunNotFound()
    {
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => Backend.RequestCancelAsync(Guid.NewGuid(), Ct));

        Assert.Equal(RunNotFound, error.ErrorId);
        Assert.Equal(FlowErrorKind.ObjectNotFound, error.Kind);
    }

    // ---------------------------------------------------------------- complete

    [Fact]
    public async Task CompleteRun_RecordsStateErrorProvenanceAndTasks()
    {
        var run = await ClaimNewRunAsync("agent-a");
        var sha = new string('a', 64);
        TaskRunRecord[] tasks =
        [
            new("Extract", "extract", TaskRunState.Success, 1, Time(1), Time(2), null),
            new("Transform", "transform", TaskRunState.Failed, 3, Time(2), Time(9), "InvalidOperationException: bad row 7"),
            new("Slow", "slow", TaskRunState.TimedOut, 1, Time(2), Time(8), "timed out after 00:00:06"),
            new("Load", "load", TaskRunState.UpstreamFailed, 0, null, null, null),
            new("Notify", "notify", TaskRunState.Cancelled, 0, null, null, null),
            new("Audit", "audit", TaskRunState.Pending, 0, null, null, null),
        ];

        var before = DateTimeOffset.UtcNow;
        Assert.True(await Backend.CompleteRunAsync(run.Id, "agent-a", new RunCompletion
        {
            State = RunState.Failed,
            Error = "task 'Transform' failed: InvalidOperationException: bad row 7",
            ErrorId = "TaskFailed",
            ScriptSha256 = sha,
            StorageVersion = "2024-05-06T07:08:09.0000000Z/4711",
            Tasks = tasks,
        }, Ct));
        var after = DateTimeOffset.UtcNow;

        var ended = await GetRunAsync(run.Id);
        Assert.Equal(RunState.Failed, ended.State);
        Assert.Equal("task 'Transform' failed: InvalidOperationException: bad row 7", ended.Error);
        Assert.Equal("TaskFailed", ended.ErrorId);
        Assert.Equal(sha, ended.ScriptSha256);
        Assert.Equal("2024-05-06T07:08:09.0000000Z/4711", ended.StorageVersion);
        Assert.NotNull(ended.Ended);
        AssertUtcBetween(ended.Ended.Value, before, after);
        Assert.Equal(run.Started, ended.Started);
        Assert.Equal(ended.Ended - ended.Started, ended.Duration);
        Assert.Equal("agent-a", ended.Agent);
        // Ordered by start time (tasks that never started last), then slug.
        Assert.Equal(
            [tasks[0], tasks[2], tasks[1], tasks[5], tasks[3], tasks[4]],
            ended.Tasks);
    }

    [Fact]
    public async Task CompleteRun_Success_RoundTripsProvenanceWithoutError()
    {
        var run = await ClaimNewRunAsync("agent-a");

        Assert.True(await Backend.CompleteRunAsync(run.Id, "agent-a", new RunCompletion
        {
            State = RunState.Success,
            ScriptSha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            StorageVersion = "3f2a9c1",
        }, Ct));

        var ended = await GetRunAsync(run.Id);
        Assert.Equal(RunState.Success, ended.State);
        Assert.Null(ended.Error);
        Assert.Null(ended.ErrorId);
        Assert.Equal("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ended.ScriptSha256);
        Assert.Equal("3f2a9c1", ended.StorageVersion);
    }

    [Fact]
    public async Task CompleteRun_ByAnotherAgent_ReturnsFalseAndChangesNothing()
    {
        var run = await ClaimNewRunAsync("agent-a");
        var claimed = await GetRunAsync(run.Id);

        Assert.False(await Backend.CompleteRunAsync(run.Id, "agent-b", new RunCompletion
        {
            State = RunState.Success,
            ScriptSha256 = "sha",
            Tasks = [new TaskRunRecord("t", "t", TaskRunState.Success, 1, Time(0), Time(1), null)],
        }, Ct));

        AssertSameRun(claimed, await GetRunAsync(run.Id));
        Assert.True(await Backend.CompleteRunAsync(run.Id, "agent-a", new RunCompletion { State = RunState.Success }, Ct));
        Assert.False(await Backend.CompleteRunAsync(run.Id, "agent-a", new RunCompletion { State = RunState.Failed }, Ct));
        Assert.Equal(RunState.Success, (await GetRunAsync(run.Id)).State);
    }

    [Fact]
    public async Task CompleteRun_NotClaimedOrUnknown_ReturnsFalse()
    {
        var flow = await NewFlowAsync();
        var scheduled = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        Assert.False(await Backend.CompleteRunAsync(scheduled.Id, "agent-a", new RunCompletion { State = RunState.Success }, Ct));
        Assert.False(await Backend.CompleteRunAsync(Guid.NewGuid(), "agent-a", new RunCompletion { State = RunState.Success }, Ct));

        AssertSameRun(scheduled, await GetRunAsync(scheduled.Id));
    }

    // ---------------------------------------------------------------- stale runs

    [Fact]
    public async Task FailStaleRuns_ZeroTimeout_FailsARunningRunWithRunAgentLost()
    {
        var agent = UniqueName("agent");
        var run = await ClaimNewRunAsync(agent);
        Assert.False(await Backend.HeartbeatAsync(run.Id, agent,
        [
            new TaskRunRecord("Done", "done", TaskRunState.Success, 1, Time(0), Time(1), null),
            new TaskRunRecord("Busy", "busy", TaskRunState.Running, 1, Time(1), null, null),
        ], Ct));
        var heartbeat = (await GetRunAsync(run.Id)).Heartbeat;
        var waiting = await Backend.CreateRunAsync(new NewRun { Flow = await NewFlowAsync("other") }, Ct);

        var before = DateTimeOffset.UtcNow;
        var failed = await Backend.FailStaleRunsAsync(TimeSpan.Zero, Ct);
        var after = DateTimeOffset.UtcNow;

        var mine = Assert.Single(failed, r => r.Id == run.Id);
        AssertSameRun(mine, await GetRunAsync(run.Id));
        Assert.Equal(RunState.Failed, mine.State);
        Assert.Equal(RunAgentLost, mine.ErrorId);
        Assert.NotNull(mine.Error);
        Assert.Contains($"agent '{agent}' stopped heartbeating", mine.Error, StringComparison.Ordinal);
        Assert.Contains("timeout 0s", mine.Error, StringComparison.Ordinal);
        Assert.Contains("marked failed", mine.Error, StringComparison.Ordinal);
        Assert.Contains(heartbeat!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
            mine.Error, StringComparison.Ordinal);
        Assert.NotNull(mine.Ended);
        AssertUtcBetween(mine.Ended.Value, before, after);
        Assert.Equal(agent, mine.Agent);
        Assert.Equal(TaskRunState.Success, mine.Tasks.Single(t => t.Slug == "done").State);
        var busy = mine.Tasks.Single(t => t.Slug == "busy");
        Assert.Equal(TaskRunState.Failed, busy.State); // no task is left Running in an ended run
        Assert.NotNull(busy.Ended);

        Assert.DoesNotContain(failed, r => r.Id == waiting.Id);
        Assert.Equal(RunState.Scheduled, (await GetRunAsync(waiting.Id)).State); // only Running runs go stale
        Assert.DoesNotContain(await Backend.FailStaleRunsAsync(TimeSpan.Zero, Ct), r => r.Id == run.Id); // once
    }

    [Fact]
    public async Task FailStaleRuns_LargeTimeout_LeavesFreshRunsAlone()
    {
        var run = await ClaimNewRunAsync("agent-a");

        var failed = await Backend.FailStaleRunsAsync(TimeSpan.FromHours(1), Ct);

        Assert.DoesNotContain(failed, r => r.Id == run.Id);
        var stored = await GetRunAsync(run.Id);
        Assert.Equal(RunState.Running, stored.State);
        Assert.Null(stored.Error);
        Assert.False(await Backend.HeartbeatAsync(run.Id, "agent-a", [], Ct));
    }

    [Fact]
    public async Task CompleteRun_AfterItWasFailedAsStale_ReturnsFalseAndTheAgentIsToldToStop()
    {
        var run = await ClaimNewRunAsync("agent-a");
        Assert.Contains(await Backend.FailStaleRunsAsync(TimeSpan.Zero, Ct), r => r.Id == run.Id);

        Assert.True(await Backend.HeartbeatAsync(run.Id, "agent-a", [], Ct)); // stop: the run is no longer yours
        Assert.False(await Backend.CompleteRunAsync(run.Id, "agent-a",
            new RunCompletion { State = RunState.Success, ScriptSha256 = "late" }, Ct));

        var stored = await GetRunAsync(run.Id);
        Assert.Equal(RunState.Failed, stored.State);
        Assert.Equal(RunAgentLost, stored.ErrorId);
        Assert.Null(stored.ScriptSha256);
    }

    // ---------------------------------------------------------------- logs

    [Fact]
    public async Task AppendLog_KeepsOrderAcrossCalls()
    {
        var run = await ClaimNewRunAsync("agent-a");
        var other = await ClaimNewRunAsync("agent-a", "other");
        RunLogEntry[] first =
        [
            new(Time(0), null, "Info", "run started"),
            new(Time(1), "extract", "Output", "ünïcödé line with \"quotes\" and\ttabs"),
        ];
        RunLogEntry[] second =
        [
            new(Time(2), "extract", "Warning", "slow source"),
            new(Time(1), "load", "Error", ""), // time order is not sequence order
            new(Time(3), null, "Info", "run ended"),
        ];

        await Backend.AppendLogAsync(run.Id, first, Ct);
        await Backend.AppendLogAsync(other.Id, [new RunLogEntry(Time(0), null, "Info", "other run")], Ct);
        await Backend.AppendLogAsync(run.Id, [], Ct);
        await Backend.AppendLogAsync(run.Id, second, Ct);

        Assert.Equal([.. first, .. second], await Backend.GetRunLogAsync(run.Id, Ct));
        Assert.Equal([new RunLogEntry(Time(0), null, "Info", "other run")], await Backend.GetRunLogAsync(other.Id, Ct));
        Assert.Empty(await Backend.GetRunLogAsync(Guid.NewGuid(), Ct));
    }

    [Fact]
    public async Task AppendLog_ConcurrentCallsLoseNothing()
    {
        var run = await ClaimNewRunAsync("agent-a");

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => Backend.AppendLogAsync(run.Id,
            [new RunLogEntry(Time(i), $"t{i}", "Output", $"{i}-a"), new RunLogEntry(Time(i), $"t{i}", "Output", $"{i}-b")],
            Ct))));

        var log = await Backend.GetRunLogAsync(run.Id, Ct);
        Assert.Equal(16, log.Count);
        for (var i = 0; i < 8; i++)
        {
            var lines = log.Where(e => e.Task == $"t{i}").Select(e => e.Message).ToList();
            Assert.Equal([$"{i}-a", $"{i}-b"], lines); // a call's lines stay in order
        }
    }

    [Fact]
    public async Task AppendLog_UnknownRun_FailsWithRunNotFound()
    {
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => Backend.AppendLogAsync(
            Guid.NewGuid(), [new RunLogEntry(Time(0), null, "Info", "x")], Ct));

        Assert.Equal(RunNotFound, error.ErrorId);
    }

    // ---------------------------------------------------------------- history

    [Fact]
    public async Task GetRuns_FiltersByIdProjectFlowAndStateNewestFirst()
    {
        var p1 = await NewProjectAsync("p1");
        var p2 = await NewProjectAsync("p2");
        var etl = (await Backend.RegisterFlowAsync(Request(p1.Name, "Etl", "k1"), Ct)).Flow;
        var report = (await Backend.RegisterFlowAsync(Request(p1.Name, "report", "k1"), Ct)).Flow;
        var otherEtl = (await Backend.RegisterFlowAsync(Request(p2.Name, "etl", "k1"), Ct)).Flow;

        var e1 = await Backend.CreateRunAsync(new NewRun { Flow = etl }, Ct);
        var r1 = await Backend.CreateRunAsync(new NewRun { Flow = report }, Ct);
        var e2 = await Backend.CreateRunAsync(new NewRun { Flow = etl }, Ct);
        var o1 = await Backend.CreateRunAsync(new NewRun { Flow = otherEtl }, Ct);
        var e3 = await Backend.CreateRunAsync(new NewRun { Flow = etl }, Ct);
        Assert.True(await Backend.RequestCancelAsync(e2.Id, Ct));

        async Task<Guid[]> Ids(RunQuery q) => (await Backend.GetRunsAsync(q, Ct)).Select(r => r.Id).ToArray();

        Assert.Equal([e3.Id, e2.Id, r1.Id, e1.Id], await Ids(new RunQuery { Project = p1.Name }));
        Assert.Equal([e3.Id, e2.Id, r1.Id, e1.Id], await Ids(new RunQuery { Project = p1.Name.ToUpperInvariant() }));
        Assert.Equal([e3.Id, e2.Id, e1.Id], await Ids(new RunQuery { Project = p1.Name, FlowName = "ETL" }));
        Assert.Equal([o1.Id], await Ids(new RunQuery { Project = p2.Name, FlowName = "etl" }));
        Assert.Equal([e3.Id, e1.Id], await Ids(new RunQuery { Project = p1.Name, FlowName = "etl", State = RunState.Scheduled }));
        Assert.Equal([e2.Id], await Ids(new RunQuery { Project = p1.Name, State = RunState.Cancelled }));
        Assert.Empty(await Ids(new RunQuery { Project = p1.Name, FlowName = "et" })); // exact, not a prefix
        Assert.Equal([r1.Id], await Ids(new RunQuery { Id = r1.Id }));
        Assert.Empty(await Ids(new RunQuery { Id = r1.Id, Project = p2.Name }));
        Assert.Empty(await Ids(new RunQuery { Id = Guid.NewGuid() }));
        Assert.Empty(await Ids(new RunQuery { Project = UniqueName("missing") }));

        var all = await Ids(new RunQuery());
        Assert.Equal([e3.Id, o1.Id, e2.Id, r1.Id, e1.Id], all.Where(id => id == e1.Id || id == r1.Id || id == e2.Id || id == o1.Id || id == e3.Id));
        var runs = await Backend.GetRunsAsync(new RunQuery { Project = p1.Name }, Ct);
        Assert.Equal(runs.Select(r => r.Created).OrderByDescending(c => c), runs.Select(r => r.Created));
    }

    [Fact]
    public async Task GetRuns_LastReturnsTheNewest()
    {
        var flow = await NewFlowAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct)).Id);
        }

        async Task<Guid[]> Ids(RunQuery q) => (await Backend.GetRunsAsync(q, Ct)).Select(r => r.Id).ToArray();

        Assert.Equal([ids[4], ids[3]], await Ids(new RunQuery { Project = flow.Project, Last = 2 }));
        Assert.Equal([ids[4]], await Ids(new RunQuery { Project = flow.Project, FlowName = flow.Name, Last = 1 }));
        Assert.Equal(Enumerable.Reverse(ids), await Ids(new RunQuery { Project = flow.Project, Last = 50 }));
        Assert.Equal(Enumerable.Reverse(ids), await Ids(new RunQuery { Project = flow.Project }));
        Assert.Empty(await Ids(new RunQuery { Project = flow.Project, Last = 0 }));
        Assert.Equal(2, (await Backend.GetRunsAsync(new RunQuery { Last = 2 }, Ct)).Count);
    }

    [Fact]
    public async Task GetRuns_IncludesEachRunsOwnTasks()
    {
        var a = await ClaimNewRunAsync("agent-a");
        var b = await ClaimNewRunAsync("agent-a", "b");
        await Backend.HeartbeatAsync(a.Id, "agent-a", [new TaskRunRecord("A", "a", TaskRunState.Running, 1, Time(0), null, null)], Ct);
        await Backend.HeartbeatAsync(b.Id, "agent-a", [new TaskRunRecord("B", "b", TaskRunState.Pending, 0, null, null, null)], Ct);

        var runs = await Backend.GetRunsAsync(new RunQuery { Project = a.Project }, Ct);
        Assert.Equal("a", Assert.Single(Assert.Single(runs).Tasks).Slug);
        var both = (await Backend.GetRunsAsync(new RunQuery(), Ct)).Where(r => r.Id == a.Id || r.Id == b.Id).ToList();
        Assert.Equal(["b", "a"], both.Select(r => Assert.Single(r.Tasks).Slug));
    }

    [Fact]
    public async Task RunOperations_CancelledToken_Throw()
    {
        var flow = await NewFlowAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Backend.CreateRunAsync(new NewRun { Flow = flow }, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Backend.ClaimRunAsync("agent-a", null, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Backend.GetRunsAsync(new RunQuery(), cancelled.Token));

        Assert.Empty(await Backend.GetRunsAsync(new RunQuery { Project = flow.Project }, Ct));
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A registered flow in a project of its own.</summary>
    protected async Task<FlowRecord> NewFlowAsync(string suffix = "runs")
    {
        var project = await NewProjectAsync(suffix);
        return (await Backend.RegisterFlowAsync(Request(project.Name, "my_flow"), Ct)).Flow;
    }

    /// <summary>Creates a run of a new flow and claims it by id for <paramref name="agent"/>.</summary>
    protected async Task<FlowRunRecord> ClaimNewRunAsync(string agent, string suffix = "claimed")
    {
        var run = await Backend.CreateRunAsync(new NewRun { Flow = await NewFlowAsync(suffix) }, Ct);
        var claimed = await Backend.ClaimRunAsync(agent, run.Id, Ct);
        Assert.NotNull(claimed);
        return claimed;
    }

    protected async Task<FlowRunRecord> GetRunAsync(Guid id)
        => Assert.Single(await Backend.GetRunsAsync(new RunQuery { Id = id }, Ct));

    /// <summary>Cancels every Scheduled run, so "the oldest" is one of the fact's own (see the class summary).</summary>
    protected async Task CancelScheduledRunsAsync()
    {
        foreach (var run in await Backend.GetRunsAsync(new RunQuery { State = RunState.Scheduled }, Ct))
        {
            await Backend.RequestCancelAsync(run.Id, Ct);
        }
    }

    /// <summary>A fixed UTC time (whole seconds, so every backend's precision keeps it exactly).</summary>
    protected static DateTimeOffset Time(int seconds)
        => new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddSeconds(seconds);

    private static readonly TaskRunRecord[] NoTasks = [];

    protected static void AssertSameRun(FlowRunRecord expected, FlowRunRecord actual)
    {
        Assert.Equal(expected with { Tasks = NoTasks }, actual with { Tasks = NoTasks });
        Assert.Equal(expected.Tasks, actual.Tasks);
    }
}
