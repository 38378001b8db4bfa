using System.Diagnostics;
using System.Text.Json;
using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>
/// A flow cannot take its agent down: an agent executes each run in a worker process of its own (the default), so a
/// flow that ends its process, overflows its stack or exhausts memory fails that run only (RunProcessCrashed) and the
/// agent goes on; a run stuck in a loop that ignores its token is ended by killing its worker after the grace period;
/// InProcess keeps runs in the agent; a limit runs several at once. Nothing sleeps: conditions are awaited with
/// generous deadlines (CI is slower than a desk).
/// </summary>
public sealed class RunIsolationTests : EngineTestBase
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);

    protected override RunTiming ClientTiming => new()
    {
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        HeartbeatTimeout = TimeSpan.FromMinutes(10),
        PollInterval = TimeSpan.FromMilliseconds(50),
        StopGracePeriod = TimeSpan.FromSeconds(3),
        WorkerMemoryLimitMB = 384,
    };

    private const string Good = """
        using Flowstore;

        var flow = new Flow("good");
        flow.Task("hello", () => Console.WriteLine("hello from " + Environment.ProcessId));
        """;

    public static TheoryData<string, string, string> Crashes => new()
    {
        {
            "exit", """
            using Flowstore;

            var flow = new Flow("exit");
            flow.Task("quit", () => { Environment.Exit(3); return 0; });
            """, "exit code 3"
        },
        {
            "stack", """
            using Flowstore;

            static int Down(int n) => Down(n + 1) + 1;
            var flow = new Flow("stack");
            flow.Task("recurse", () => Down(0));
            """, "signal SIGABRT"
        },
        {
            "memory", """
            using Flowstore;

            var flow = new Flow("memory");
            flow.Task("hoard", () =>
            {
                var kept = new List<byte[]>();
                for (var i = 0; i < int.MaxValue; i++)
                {
                    kept.Add(new byte[1 << 20]);
                }
                return kept.Count;
            });
            """, "ran out of memory: a run's worker process may use 384 MB"
        },
    };

    private async Task<FlowRecord> RegisterFlowAsync(string file, string text)
    {
        var registration = await RegisterOneAsync(WriteScript(file, text));
        Assert.Equal(RegistrationStatus.Registered, registration.Status);
        return await Client.GetFlowAsync(registration.Name, Project);
    }

    [Theory]
    [MemberData(nameof(Crashes))]
    public async Task A_flow_that_ends_its_process_fails_its_run_only_with_RunProcessCrashed_and_the_agent_runs_the_next(string name, string script, string why)
    {
        var bad = await RegisterFlowAsync(name + ".cs", script);
        var good = await RegisterFlowAsync("good.cs", Good);
        var crashing = await Client.QueueRunAsync(bad, null);
        var next = await Client.QueueRunAsync(good, null);

        var done = await Client.RunAgentAsync("survivor", once: true).WaitAsync(Guard);

        Assert.Equal(new[] { crashing.Id, next.Id }, done.Select(r => r.Id));
        var failed = await Client.GetRunAsync(crashing.Id);
        Assert.Equal((RunState.Failed, ErrorIds.RunProcessCrashed), (failed.State, failed.ErrorId));
        Assert.Contains($"run {crashing.Id} of flow '{name}' version 1", failed.Error);
        Assert.Contains(why, failed.Error);
        Assert.NotNull(failed.ScriptSha256); // fetched before it crashed: provenance kept
        Assert.All(failed.Tasks, t => Assert.NotEqual(TaskRunState.Running, t.State));
        Assert.Contains(await Client.GetRunLogAsync(crashing.Id), l => l.Level == "Error" && l.Message == failed.Error);
        Assert.Equal(RunState.Success, (await Client.GetRunAsync(next.Id)).State);
        Assert.Empty(await Client.GetRunsAsync(new RunQuery { State = RunState.Running }));
    }

    [Fact]
    public async Task Runs_execute_in_a_worker_process_by_default_and_in_the_agent_itself_InProcess()
    {
        var good = await RegisterFlowAsync("good.cs", Good);
        var isolated = await Client.QueueRunAsync(good, null);
        Assert.Single(await Client.RunAgentAsync("isolated", once: true).WaitAsync(Guard));
        var inProcess = await Client.QueueRunAsync(good, null);
        Assert.Single(await Client.RunAgentAsync("in-process", once: true, isolation: RunIsolation.InProcess).WaitAsync(Guard));

        async Task<int> ProcessOf(Guid run)
        {
            var line = Assert.Single(await Client.GetRunLogAsync(run), l => l.Level == "Output" && l.Message.StartsWith("hello from ", StringComparison.Ordinal));
            return int.Parse(line.Message["hello from ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.NotEqual(Environment.ProcessId, await ProcessOf(isolated.Id));
        Assert.Equal(Environment.ProcessId, await ProcessOf(inProcess.Id));
        Assert.All(await Client.GetRunsAsync(new RunQuery()), r => Assert.Equal(RunState.Success, r.State));
    }

    [Fact]
    public async Task A_worker_executes_runs_one_after_the_other_until_it_is_due_to_be_replaced()
    {
        var good = await RegisterFlowAsync("good.cs", Good);
        var queued = new List<FlowRunRecord>();
        for (var i = 0; i < 3; i++)
        {
            queued.Add(await Client.QueueRunAsync(good, null));
        }
        var recycling = NewClient(new RunTiming { PollInterval = TimeSpan.FromMilliseconds(50), WorkerMaxRuns = 2 });

        var done = await recycling.RunAgentAsync("recycler", once: true).WaitAsync(Guard);

        Assert.Equal(queued.Select(r => r.Id), done.Select(r => r.Id));
        Assert.All(done, r => Assert.Equal(RunState.Success, r.State));
        var workers = new List<int>();
        foreach (var run in queued)
        {
            var line = Assert.Single(await Client.GetRunLogAsync(run.Id), l => l.Level == "Output" && l.Message.StartsWith("hello from ", StringComparison.Ordinal));
            workers.Add(int.Parse(line.Message["hello from ".Length..], System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.DoesNotContain(Environment.ProcessId, workers);
        Assert.Equal(workers[0], workers[1]); // the warm worker, used again
        Assert.NotEqual(workers[1], workers[2]); // replaced after 2 runs
    }

    [Fact]
    public async Task Stopping_a_run_stuck_in_a_loop_that_ignores_its_token_kills_its_worker_after_the_grace_period()
    {
        var pidFile = Temp.File("spinner.pid");
        var spinner = await RegisterFlowAsync("spinner.cs", $$"""
            using Flowstore;

            var flow = new Flow("spinner");
            flow.Task("spin", () =>
            {
                File.WriteAllText({{JsonSerializer.Serialize(pidFile)}}, Environment.ProcessId.ToString());
                Log.Info("spinning");
                var turns = 0L;
                while (turns >= 0)
                {
                    turns++;
                }
                return turns;
            });
            """);
        var good = await RegisterFlowAsync("good.cs", Good);
        var stuck = await Client.QueueRunAsync(spinner, null);
        var signal = new LogSignal("spin", "spinning");
        using var stopAgent = new CancellationTokenSource();
        var ended = new List<FlowRunRecord>();
        var endedStuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var agent = Task.Run(() => Client.RunAgentAsync("stopper", once: false, observer: signal, cancellationToken: stopAgent.Token, ended: r =>
        {
            ended.Add(r);
            if (r.Id == stuck.Id)
            {
                endedStuck.TrySetResult();
            }
        }));
        await signal.Seen.WaitAsync(Guard);
        var worker = int.Parse(await File.ReadAllTextAsync(pidFile), System.Globalization.CultureInfo.InvariantCulture);

        await NewClient().StopRunAsync(stuck.Id);
        await endedStuck.Task.WaitAsync(Guard);

        var stopped = await Client.GetRunAsync(stuck.Id);
        Assert.Equal((RunState.Cancelled, RunErrors.Cancelled), (stopped.State, stopped.ErrorId));
        Assert.Contains("did not stop within the grace period of 3 s, so its worker process was killed", stopped.Error);
        Assert.Equal(TaskRunState.Cancelled, Assert.Single(stopped.Tasks).State);
        Assert.False(IsRunning(worker), $"the worker process {worker} of the stopped run is still running");

        // The agent goes on serving.
        var next = await Client.QueueRunAsync(good, null);
        var nextDone = await Client.WaitRunAsync(next.Id, Guard);
        Assert.Equal(RunState.Success, nextDone.State);
        await stopAgent.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => agent.WaitAsync(Guard));
    }

    [Fact]
    public async Task A_task_that_ignores_its_timeout_in_a_loop_is_ended_by_killing_its_worker_after_the_grace_period()
    {
        var pidFile = Temp.File("late.pid");
        var late = await RegisterFlowAsync("late.cs", $$"""
            using Flowstore;

            var flow = new Flow("late");
            flow.Task("spin", () =>
            {
                File.WriteAllText({{JsonSerializer.Serialize(pidFile)}}, Environment.ProcessId.ToString());
                var turns = 0L;
                while (turns >= 0)
                {
                    turns++;
                }
                return turns;
            }, new TaskOptions { Timeout = TimeSpan.FromSeconds(1) });
            """);
        var good = await RegisterFlowAsync("good.cs", Good);
        var stuck = await Client.QueueRunAsync(late, null);
        var next = await Client.QueueRunAsync(good, null);

        var done = await Client.RunAgentAsync("timekeeper", once: true).WaitAsync(Guard);

        Assert.Equal(new[] { stuck.Id, next.Id }, done.Select(r => r.Id));
        var failed = await Client.GetRunAsync(stuck.Id);
        Assert.Equal((RunState.Failed, RunErrors.Failed), (failed.State, failed.ErrorId));
        Assert.Contains("Task 'spin' timed out", failed.Error);
        Assert.Equal(TaskRunState.TimedOut, Assert.Single(failed.Tasks).State);
        Assert.False(IsRunning(int.Parse(await File.ReadAllTextAsync(pidFile), System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(RunState.Success, (await Client.GetRunAsync(next.Id)).State);
    }

    [Fact]
    public async Task An_agent_with_a_limit_of_two_runs_two_runs_at_once()
    {
        var dir = Temp.File("pair");
        Directory.CreateDirectory(dir);
        // Each run marks that it started, then waits until both did: with one run at a time, the first waits alone and
        // fails after its own deadline. The deadline is only a bound for a failing test; a passing one never meets it.
        var pair = await RegisterFlowAsync("pair.cs", $$"""
            using Flowstore;

            var flow = new Flow("pair");
            var n = flow.Parameter<int>("n");
            flow.Task("meet", async (int i, CancellationToken ct) =>
            {
                var dir = {{JsonSerializer.Serialize(dir)}};
                File.WriteAllText(Path.Combine(dir, i + ".started"), "");
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (Directory.GetFiles(dir, "*.started").Length < 2)
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException("run " + i + " waited alone");
                    }
                    await Task.Delay(20, ct);
                }
                return i;
            }, n);
            """);
        var first = await Client.QueueRunAsync(pair, new Dictionary<string, object?> { ["n"] = 1 });
        var second = await Client.QueueRunAsync(pair, new Dictionary<string, object?> { ["n"] = 2 });

        var done = await Client.RunAgentAsync("pair", once: true, limit: 2).WaitAsync(Guard);

        Assert.Equal(new[] { first.Id, second.Id }.Order(), done.Select(r => r.Id).Order());
        Assert.All(done, r => Assert.Equal(RunState.Success, r.State));
    }

    [Fact]
    public async Task A_limit_below_one_is_refused()
    {
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => Client.RunAgentAsync("none", once: true, limit: 0));
        Assert.Equal(ErrorIds.ParameterInvalid, error.ErrorId);
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private sealed class LogSignal(string task, string message) : IRunObserver
    {
        private readonly TaskCompletionSource _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Seen => _seen.Task;

        public void TaskStateChanged(TaskRunResult task, int done, int total)
        {
        }

        public void LogWritten(RunLogEntry entry)
        {
            if (entry.Task == task && entry.Message == message)
            {
                _seen.TrySetResult();
            }
        }
    }
}
