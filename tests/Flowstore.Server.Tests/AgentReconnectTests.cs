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

    /// <summary>
    /// Waits for <paramref name="condition"/>; an agent that ended meanwhile (it should not) is awaited so that its
    /// error is the test's failure, and a deadline ends the wait with what the agent said so far.
    /// </summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string what, Task agent, ConcurrentQueue<string> warnings)
    {
        var deadline = DateTimeOffset.UtcNow + Deadline;
        while (!condition())
        {
            if (agent.IsCompleted)
            {
                await agent;
                throw new InvalidOperationException($"The agent ended while waiting for {what}. It said: {Said(warnings)}");
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Still waiting after {Deadline.TotalSeconds:0} s for {what}. The agent said: {Said(warnings)}");
            }
            await Task.Delay(20);
        }
    }

    private static string Said(ConcurrentQueue<string> warnings) => warnings.IsEmpty ? "nothing" : Environment.NewLine + string.Join(Environment.NewLine, warnings);

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
        using var backend = server.Client(); // quick retries, and each request answered within its timeout
        using var client = new FlowClient(new FlowClientOptions { Home = _temp.File("agent"), Backend = backend })
        {
            Timing = new RunTiming
            {
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
                ReconnectTimeout = Deadline, // an agent that cannot get through gives up while the test still waits
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

        await WaitUntilAsync(() => File.Exists(started), "the run's first task", agent, warnings);
        if (killed)
        {
            await server.KillAsync();
        }
        else
        {
            await server.StopAsync();
        }
        File.WriteAllText(go, "go"); // the run goes on and ends while the server is away
        await WaitUntilAsync(() => warnings.Any(w => w.Contains("trying again", StringComparison.Ordinal)),
            "the agent to warn that it keeps trying to record the run", agent, warnings);
        Assert.Empty(ended);

        await server.StartAgainAsync();
        await WaitUntilAsync(() => !ended.IsEmpty, "the run to end", agent, warnings);
        stopAgent.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => agent.WaitAsync(Deadline));

        var run = Assert.Single(await backend.GetRunsAsync(new RunQuery { Id = queued.Id }, CancellationToken.None));
        var log = (await backend.GetRunLogAsync(run.Id, CancellationToken.None)).Select(l => l.Message).ToList();
        var said = string.Join(Environment.NewLine, warnings);
        // What a failure shows: the run as recorded, its log and what the agent said (CI's machine is slower than ours).
        var context = $"Run {run.State} ({run.ErrorId}: {run.Error}); tasks: {string.Join(", ", run.Tasks.Select(t => $"{t.Name} {t.State}"))}" +
            $"{Environment.NewLine}Log:{Environment.NewLine}{string.Join(Environment.NewLine, log)}{Environment.NewLine}The agent said: {Said(warnings)}";
        Assert.True(run.State == RunState.Success, context);
        Assert.Equal(run.Id, Assert.Single(ended).Id);
        Assert.True(run.Tasks.Select(t => t.Name).Order().SequenceEqual(["after", "before", "during"]), context);
        Assert.True(run.Tasks.All(t => t.State == TaskRunState.Success), context);
        Assert.True(log.Contains("before the outage"), context);
        Assert.True(log.Contains("after the outage 2"), context);
        Assert.True(log.Count(l => l == "during the outage") == 1, "sent once: " + context);
        Assert.True(log.Any(l => l.Contains("could not be reached for a while", StringComparison.Ordinal)), context);

        Assert.True(said.Contains(server.Url.ToString(), StringComparison.Ordinal), context);
        Assert.True(said.Contains("ServerUnreachable", StringComparison.Ordinal), context);
        Assert.True(said.Contains("answers again", StringComparison.Ordinal), context);
    }
}
