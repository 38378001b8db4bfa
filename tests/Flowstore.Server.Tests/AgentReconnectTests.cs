using System.Collections.Concurrent;
using Flowstore.Engine;

namespace Flowstore.Server.Tests;

/// <summary>
/// An agent (the engine's RunAgentAsync, what Start-FlowAgent runs) executing a run through the real server process
/// while that server is stopped and started again on the same port and home: the agent keeps trying with a bounded
/// backoff and says so, the run goes on, and once the server answers again the log lines and task states of the
/// outage are sent and the run ends Success, never left Running.
/// </summary>
public sealed class AgentReconnectTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);
    private readonly TempDirectory _temp = new("flowstore-agent-reconnect-tests");

    public void Dispose() => _temp.Dispose();

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Still waiting after {Deadline.TotalSeconds:0} s for {what}.");
            }
            await Task.Delay(20);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerGoneMidRun_TheAgentReconnects_AndTheRunEndsSuccessWithWhatItDidMeanwhile(bool killed)
    {
        var started = _temp.File("started");
        var go = _temp.File("go");
        var script = _temp.Write("flows/outage.cs", $$"""
            using Flowstore;

            var flow = new Flow("outage");
            var before = flow.Task("before", () => { Console.WriteLine("before the outage"); System.IO.File.WriteAllText(@"{{started}}", "x"); return 1; });
            var during = flow.Task("during", (int x) =>
            {
                while (!System.IO.File.Exists(@"{{go}}")) { System.Threading.Thread.Sleep(20); }
                Console.WriteLine("during the outage");
                return x + 1;
            }, before);
            flow.Task("after", (int x) => Console.WriteLine("after the outage " + x), during);
            """);
        await using var server = await ServerProcess.StartAsync(_temp.File("server"));
        using var backend = server.Client();
        using var client = new FlowClient(new FlowClientOptions { Home = _temp.File("agent"), Backend = backend })
        {
            Timing = new RunTiming
            {
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
                HeartbeatInterval = TimeSpan.FromMilliseconds(200),
                LogFlushInterval = TimeSpan.FromMilliseconds(100),
                PollInterval = TimeSpan.FromMilliseconds(100),
            },
        };
        await client.EnsureProjectAsync("P", create: true);
        foreach (var plan in await client.PlanAsync(script, new RegisterOptions { Project = "P" }))
        {
            await client.ApplyAsync(plan, new RegisterOptions { Project = "P" });
        }
        var queued = await client.QueueRunAsync(await client.GetFlowAsync("outage", "P"), null);

        var warnings = new ConcurrentQueue<string>();
        var ended = new ConcurrentQueue<FlowRunRecord>();
        using var stopAgent = new CancellationTokenSource();
        var agent = Task.Run(() => client.RunAgentAsync("survivor", once: false, ended: ended.Enqueue, cancellationToken: stopAgent.Token,
            warning: warnings.Enqueue));

        await WaitUntilAsync(() => File.Exists(started) || agent.IsCompleted, "the run's first task");
        if (killed)
        {
            await server.KillAsync();
        }
        else
        {
            await server.StopAsync();
        }
        File.WriteAllText(go, "go"); // the run goes on and ends while the server is away
        await WaitUntilAsync(() => warnings.Any(w => w.Contains("trying again", StringComparison.Ordinal)) || agent.IsCompleted,
            "the agent to warn that it keeps trying to record the run");
        Assert.Empty(ended);

        await server.StartAgainAsync();
        await WaitUntilAsync(() => !ended.IsEmpty || agent.IsCompleted, "the run to end");
        stopAgent.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => agent);

        var run = Assert.Single(await backend.GetRunsAsync(new RunQuery { Id = queued.Id }, CancellationToken.None));
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(run.Id, Assert.Single(ended).Id);
        Assert.Equal(["after", "before", "during"], run.Tasks.Select(t => t.Name).Order());
        Assert.All(run.Tasks, t => Assert.Equal(TaskRunState.Success, t.State));
        var log = (await backend.GetRunLogAsync(run.Id, CancellationToken.None)).Select(l => l.Message).ToList();
        Assert.Contains("before the outage", log);
        Assert.Contains("during the outage", log);
        Assert.Contains("after the outage 2", log);
        Assert.Single(log, l => l == "during the outage"); // sent once
        Assert.Contains(log, l => l.Contains("could not be reached for a while", StringComparison.Ordinal));

        var said = string.Join(Environment.NewLine, warnings);
        Assert.Contains(server.Url.ToString(), said, StringComparison.Ordinal);
        Assert.Contains("ServerUnreachable", said, StringComparison.Ordinal);
        Assert.Contains("answers again", said, StringComparison.Ordinal);
    }
}
