using Xunit;

namespace Flowstore.Backend.Contract;

// The agents a backend has seen (IAgentStore): reports, listing, current runs and the last sign of life.
public abstract partial class BackendContractTests
{
    private AgentRecord AgentNamed(IReadOnlyList<AgentRecord> agents, string name) => Assert.Single(agents, a => a.Name == name);

    [Fact]
    public async Task ReportAgent_ThenGetAgents_ListsItsHostLabelsVersionAndTimes()
    {
        var name = UniqueName("agent");
        var before = DateTimeOffset.UtcNow;
        await Backend.ReportAgentAsync(new AgentReport { Name = name, Host = "home-a", Labels = ["linux", "gpu", "home-a"], Version = "1.2.3" }, Ct);
        var after = DateTimeOffset.UtcNow;

        var agent = AgentNamed(await Backend.GetAgentsAsync(Ct), name);
        Assert.Equal("home-a", agent.Host);
        Assert.Equal(["gpu", "home-a", "linux"], agent.Labels);
        Assert.Equal("1.2.3", agent.Version);
        AssertUtcBetween(agent.FirstSeen, before, after);
        Assert.Equal(agent.FirstSeen, agent.LastSeen);
        Assert.Equal(0, agent.CurrentRuns);
        Assert.True(agent.Covers(["gpu", "linux"]));
        Assert.True(agent.Covers([]));
        Assert.False(agent.Covers(["gpu", "windows"]));
    }

    [Fact]
    public async Task ReportAgent_Again_ReplacesLabelsAndVersion_KeepsFirstSeen_MovesLastSeen()
    {
        var name = UniqueName("agent");
        await Backend.ReportAgentAsync(new AgentReport { Name = name, Host = "home-a", Labels = ["old"], Version = "1.0" }, Ct);
        var first = AgentNamed(await Backend.GetAgentsAsync(Ct), name);

        await Backend.ReportAgentAsync(new AgentReport { Name = name, Host = "home-b", Labels = ["new", "home-b"] }, Ct);

        var again = AgentNamed(await Backend.GetAgentsAsync(Ct), name);
        Assert.Equal("home-b", again.Host);
        Assert.Equal(["home-b", "new"], again.Labels);
        Assert.Null(again.Version);
        Assert.Equal(first.FirstSeen, again.FirstSeen);
        Assert.True(again.LastSeen >= first.LastSeen);
    }

    [Fact]
    public async Task GetAgents_SortsByName()
    {
        foreach (var suffix in new[] { "agent-b", "agent-C", "agent-a" })
        {
            await Backend.ReportAgentAsync(new AgentReport { Name = UniqueName(suffix), Host = "h" }, Ct);
        }

        var names = (await Backend.GetAgentsAsync(Ct)).Select(a => a.Name).Where(n => n.StartsWith(UniqueName(""), StringComparison.Ordinal)).ToList();

        Assert.Equal([UniqueName("agent-C"), UniqueName("agent-a"), UniqueName("agent-b")], names);
    }

    [Fact]
    public async Task GetAgents_CountsTheAgentsRunningRuns_AndTheirHeartbeatIsASignOfLife()
    {
        var name = UniqueName("busy");
        await Backend.ReportAgentAsync(new AgentReport { Name = name, Host = "h", Labels = ["h"] }, Ct);
        var reported = AgentNamed(await Backend.GetAgentsAsync(Ct), name);
        var flow = await NewFlowAsync();
        var running = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        var ended = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        Assert.NotNull(await Backend.ClaimRunAsync(name, running.Id, ["h"], Ct));
        Assert.NotNull(await Backend.ClaimRunAsync(name, ended.Id, ["h"], Ct));
        Assert.True(await Backend.CompleteRunAsync(ended.Id, name, new RunCompletion { State = RunState.Success }, Ct));
        Assert.False(await Backend.HeartbeatAsync(running.Id, name, [], Ct));
        var beat = (await GetRunAsync(running.Id)).Heartbeat!.Value;

        var busy = AgentNamed(await Backend.GetAgentsAsync(Ct), name);

        Assert.Equal(1, busy.CurrentRuns);
        Assert.Equal(reported.FirstSeen, busy.FirstSeen);
        Assert.Equal(beat > reported.LastSeen ? beat : reported.LastSeen, busy.LastSeen);
    }

    [Fact]
    public async Task ReportAgent_WithAControlCharacterInALabel_IsRefusedAndRecordsNothing()
    {
        var name = UniqueName("bad");

        await Assert.ThrowsAnyAsync<Exception>(
            () => Backend.ReportAgentAsync(new AgentReport { Name = name, Host = "h", Labels = ["ok", "a\u001b[31m"] }, Ct));

        Assert.DoesNotContain(await Backend.GetAgentsAsync(Ct), a => a.Name == name);
    }

    // Reports an agent again until its last report is later than the given time (timestamps have a resolution).
    private async Task<AgentRecord> ReportLaterThanAsync(AgentReport report, DateTimeOffset than)
    {
        while (true)
        {
            await Backend.ReportAgentAsync(report, Ct);
            var agent = AgentNamed(await Backend.GetAgentsAsync(Ct), report.Name);
            if (agent.LastSeen > than)
            {
                return agent;
            }
        }
    }

    [Fact]
    public async Task RemoveAgents_ForgetsTheAgentsLastSeenBeforeTheTime_AndKeepsTheOthers()
    {
        var gone = UniqueName("gone");
        var alive = UniqueName("alive");
        await Backend.ReportAgentAsync(new AgentReport { Name = gone, Host = "h" }, Ct);
        var goneSeen = AgentNamed(await Backend.GetAgentsAsync(Ct), gone).LastSeen;
        var aliveSeen = (await ReportLaterThanAsync(new AgentReport { Name = alive, Host = "h" }, goneSeen)).LastSeen;

        var removed = await Backend.RemoveAgentsAsync(aliveSeen, Ct);

        Assert.Contains(gone, removed);
        Assert.DoesNotContain(alive, removed);
        var agents = await Backend.GetAgentsAsync(Ct);
        Assert.DoesNotContain(agents, a => a.Name == gone);
        Assert.Equal(aliveSeen, AgentNamed(agents, alive).LastSeen);
        Assert.Empty(await Backend.RemoveAgentsAsync(aliveSeen, Ct));

        // Reporting again records it afresh.
        await Backend.ReportAgentAsync(new AgentReport { Name = gone, Host = "h2", Labels = ["h2"] }, Ct);
        var back = AgentNamed(await Backend.GetAgentsAsync(Ct), gone);
        Assert.Equal("h2", back.Host);
        Assert.True(back.FirstSeen > goneSeen);
    }

    [Fact]
    public async Task RemoveAgents_KeepsAnAgentWhoseRunningRunHeartbeatsSinceTheTime_AndForgetsItOnceTheRunEnded()
    {
        var name = UniqueName("long-run");
        await Backend.ReportAgentAsync(new AgentReport { Name = name, Host = "h", Labels = ["h"] }, Ct);
        var reported = AgentNamed(await Backend.GetAgentsAsync(Ct), name).LastSeen;
        var flow = await NewFlowAsync();
        var run = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        Assert.NotNull(await Backend.ClaimRunAsync(name, run.Id, ["h"], Ct));
        DateTimeOffset beat;
        do
        {
            Assert.False(await Backend.HeartbeatAsync(run.Id, name, [], Ct));
            beat = (await GetRunAsync(run.Id)).Heartbeat!.Value;
        }
        while (beat <= reported);

        Assert.DoesNotContain(name, await Backend.RemoveAgentsAsync(beat, Ct));
        Assert.Equal(1, AgentNamed(await Backend.GetAgentsAsync(Ct), name).CurrentRuns);

        Assert.True(await Backend.CompleteRunAsync(run.Id, name, new RunCompletion { State = RunState.Success }, Ct));
        Assert.Contains(name, await Backend.RemoveAgentsAsync(beat, Ct));
        Assert.DoesNotContain(await Backend.GetAgentsAsync(Ct), a => a.Name == name);
    }
}
