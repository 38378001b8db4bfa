using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>
/// Runs recorded in the run store: the queue, runs here and now, provenance, the log, agents, stopping,
/// stale runs, waiting and pinned re-runs. Heartbeats and polling are fast, so nothing waits for seconds;
/// nothing sleeps either: a test that needs a task to be running is told so by the task's own log line.
/// </summary>
public sealed class RecordedRunTests : EngineTestBase
{
    /// <summary>Long enough for a hung test to be a failure rather than a hang; never reached by a passing test.</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    protected override RunTiming ClientTiming => new()
    {
        HeartbeatInterval = TimeSpan.FromMilliseconds(50),
        HeartbeatTimeout = TimeSpan.FromMinutes(10),
        PollInterval = TimeSpan.FromMilliseconds(20),
    };

    private static string Greeter(string greeting, bool extraTask = false) => $$"""
        using Flowstore;

        var flow = new Flow("greeter");
        var name = flow.Parameter("name", "world");
        var greet = flow.Task("greet", (string who) =>
        {
            Console.WriteLine("{{greeting}}, " + who);
            return "{{greeting}}, " + who;
        }, name);
        flow.Task("shout", (string text) => Console.WriteLine(text.ToUpperInvariant() + "!"), greet);
        {{(extraTask ? "flow.Task(\"whisper\", () => Console.WriteLine(\"psst\"));" : "")}}
        """;

    private const string Calc = """
        using Flowstore;

        var flow = new Flow("calc");
        var count = flow.Parameter<int>("count");
        var factor = flow.Parameter("factor", 2);
        var numbers = flow.Task("numbers", (int n) => Enumerable.Range(1, n).ToArray(), count);
        flow.Task("total", (int[] values, int f) => Console.WriteLine(values.Sum() * f), numbers, factor);
        """;

    /// <summary>A flow whose one task appends its parameter n as a line to {dir}/{n}.txt and to {dir}/all.txt.</summary>
    private static string Counter(string dir) => $$"""
        using Flowstore;

        var flow = new Flow("counter");
        var n = flow.Parameter<int>("n");
        flow.Task("count", (int i) =>
        {
            var dir = {{JsonSerializer.Serialize(dir)}};
            File.AppendAllText(Path.Combine(dir, i + ".txt"), i + "\n");
            File.AppendAllText(Path.Combine(dir, "all.txt"), i + "\n");
        }, n);
        """;

    private const string Sleeper = """
        using Flowstore;

        var flow = new Flow("sleeper");
        flow.Task("wait", async (CancellationToken ct) =>
        {
            Log.Info("waiting");
            await Task.Delay(Timeout.Infinite, ct);
        });
        """;

    private async Task<FlowRecord> RegisterFlowAsync(string file, string text, RegisterOptions? options = null)
    {
        var registration = await RegisterOneAsync(WriteScript(file, text), options);
        Assert.Equal(RegistrationStatus.Registered, registration.Status);
        return await Client.GetFlowAsync(registration.Name, Project);
    }

    private static Dictionary<string, object?> Args(params (string Name, object? Value)[] values)
        => values.ToDictionary(v => v.Name, v => v.Value);

    private static string LocalVersion(string path)
    {
        var info = new FileInfo(path);
        return $"{info.LastWriteTimeUtc.ToString("O", CultureInfo.InvariantCulture)}/{info.Length}";
    }

    /// <summary>Completes when a task writes the given log line (so the task's body is running).</summary>
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

    // ---------------------------------------------------------------- the queue

    [Fact]
    public async Task QueueRun_records_a_Scheduled_run_with_its_parameters_as_given()
    {
        var flow = await RegisterFlowAsync("calc.cs", Calc);

        var run = await Client.QueueRunAsync(flow, Args(("count", 3), ("factor", "10")));

        Assert.Equal(RunState.Scheduled, run.State);
        Assert.Equal(flow.Id, run.FlowId);
        Assert.Equal("calc", run.FlowName);
        Assert.Equal(Project, run.Project);
        Assert.Equal(1, run.FlowVersion);
        Assert.Null(run.Started);
        Assert.Null(run.Agent);
        Assert.Null(run.ScriptSha256);
        Assert.Empty(run.Tasks);
        // Values are stored as given: they are converted to the declared types only when the run starts.
        using (var json = JsonDocument.Parse(run.ParametersJson))
        {
            Assert.Equal(3, json.RootElement.GetProperty("count").GetInt32());
            Assert.Equal("10", json.RootElement.GetProperty("factor").GetString());
        }
        Assert.Equal(3L, run.Parameters["count"]);
        var stored = Assert.Single(await Client.GetRunsAsync(new RunQuery { State = RunState.Scheduled }));
        Assert.Equal(run.Id, stored.Id);
        Assert.Equal(run.ParametersJson, stored.ParametersJson);
    }

    [Fact]
    public async Task A_queued_run_passes_integers_on_exactly_even_beyond_the_precision_of_a_double()
    {
        const long Big = 9_007_199_254_740_993; // 2^53 + 1: a double would make it ...992
        var flow = await RegisterFlowAsync("big.cs", """
            using Flowstore;

            var flow = new Flow("big");
            var big = flow.Parameter<long>("big");
            var items = flow.Parameter("items", new long[] { 0 });
            flow.Task("show", (long b, long[] i) => Console.WriteLine(b + " " + string.Join(",", i)), big, items);
            """);

        var queued = await Client.QueueRunAsync(flow, Args(("big", Big), ("items", new object[] { Big, 1 })));
        var run = Assert.Single(await Client.RunAgentAsync("exact", once: true).WaitAsync(Guard));

        Assert.Equal(queued.Id, run.Id);
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal($"{Big} {Big},1", Assert.Single(await Client.GetRunLogAsync(run.Id), l => l.Task == "show" && l.Level == "Output").Message);
        Assert.IsType<long>(run.Parameters["big"]);
        Assert.Equal(Big, run.Parameters["big"]);
    }

    [Fact]
    public async Task Unknown_and_missing_parameters_are_rejected_at_queue_time_and_nothing_is_queued()
    {
        var flow = await RegisterFlowAsync("calc.cs", Calc);

        var unknown = await Assert.ThrowsAsync<FlowstoreException>(() => Client.QueueRunAsync(flow, Args(("count", 1), ("bogus", 1))));
        var missing = await Assert.ThrowsAsync<FlowstoreException>(() => Client.QueueRunAsync(flow, Args(("factor", 3))));
        var missingNow = await Assert.ThrowsAsync<FlowstoreException>(() => Client.RunNowAsync(flow, null, null));

        Assert.Equal(ErrorIds.ParameterUnknown, unknown.ErrorId);
        Assert.Contains("'bogus'", unknown.Message);
        Assert.Contains("count, factor", unknown.Message);
        Assert.Equal(ErrorIds.ParameterMissing, missing.ErrorId);
        Assert.Contains("'count'", missing.Message);
        Assert.Equal(ErrorIds.ParameterMissing, missingNow.ErrorId);
        Assert.Empty(await Client.GetRunsAsync(new RunQuery()));
    }

    // ---------------------------------------------------------------- runs here and now

    [Fact]
    public async Task RunNow_asks_the_backend_only_to_queue_and_claim_before_the_first_task_and_sweeps_lost_runs_after()
    {
        // Through a server each backend call is a round trip: the sweep of other agents' lost runs is not on the start path.
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hi"));
        var calls = new List<string>();
        var backend = Own(RecordingBackend.Wrap(new Flowstore.Backend.Sqlite.SqliteFlowBackend(Path.Combine(Home, Flowstore.Backend.Sqlite.SqliteFlowBackend.DefaultFileName)),
            (method, _) => calls.Add(method)));
        var client = Own(new FlowClient(new FlowClientOptions { Home = Home, Backend = backend }) { Timing = ClientTiming });

        var run = await client.RunNowAsync(flow, null, null);

        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(new[] { nameof(IFlowBackend.CreateRunAsync), nameof(IFlowBackend.ClaimRunAsync) }, calls.Take(2));
        Assert.Contains(nameof(IFlowBackend.FailStaleRunsAsync), calls);
        Assert.True(calls.IndexOf(nameof(IFlowBackend.FailStaleRunsAsync)) > calls.IndexOf(nameof(IFlowBackend.CompleteRunAsync)),
            string.Join(", ", calls));
    }

    [Fact]
    public async Task RunNow_whose_run_an_agent_takes_first_waits_for_that_agent_and_returns_the_ended_run()
    {
        // Start-FlowRun -Wait while an agent serves the same backend: the agent may claim the run before this call does.
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hi"));
        var agentHome = Own(new FlowClient(new FlowClientOptions { Home = Home }) { Timing = ClientTiming });
        var taken = new List<FlowRunRecord>();
        var backend = Own(RecordingBackend.Wrap(new Flowstore.Backend.Sqlite.SqliteFlowBackend(Path.Combine(Home, Flowstore.Backend.Sqlite.SqliteFlowBackend.DefaultFileName)),
            (method, _) =>
            {
                if (method == nameof(IFlowBackend.ClaimRunAsync) && taken.Count == 0)
                {
                    taken.AddRange(Task.Run(() => agentHome.Runs.RunAgentAsync("agent-elsewhere", once: true)).GetAwaiter().GetResult());
                }
            }));
        var client = Own(new FlowClient(new FlowClientOptions { Home = Home, Backend = backend }) { Timing = ClientTiming });

        var run = await client.RunNowAsync(flow, null, null).WaitAsync(Guard);

        var byAgent = Assert.Single(taken);
        Assert.Equal(byAgent.Id, run.Id);
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal("agent-elsewhere", run.Agent);
    }

    [Fact]
    public async Task Searching_one_flow_by_name_asks_the_backend_for_that_name_only()
    {
        // Get-Flow -Name x -Project p through a server: the answer holds x's versions, not every flow of the project.
        await RegisterFlowAsync("greeter.cs", Greeter("Hi"));
        await RegisterFlowAsync("calc.cs", Calc);
        var queries = new List<FlowQuery>();
        var backend = Own(RecordingBackend.Wrap(new Flowstore.Backend.Sqlite.SqliteFlowBackend(Path.Combine(Home, Flowstore.Backend.Sqlite.SqliteFlowBackend.DefaultFileName)),
            (method, args) =>
            {
                if (method == nameof(IFlowBackend.GetFlowsAsync))
                {
                    queries.Add((FlowQuery)args![0]!);
                }
            }));
        var client = Own(new FlowClient(new FlowClientOptions { Home = Home, Backend = backend }));

        var found = await client.Catalog.SearchAsync(new FlowSearch { Names = ["GREETER"], Project = Project });
        var patterns = await client.Catalog.SearchAsync(new FlowSearch { Names = ["gr*"], Project = Project });
        var missing = await client.Catalog.SearchAsync(new FlowSearch { Names = ["nope"], Project = Project });

        Assert.Equal("greeter", Assert.Single(found.Flows).Name);
        Assert.Empty(found.Missing);
        Assert.Equal("greeter", Assert.Single(patterns.Flows).Name);
        Assert.Empty(missing.Flows);
        Assert.Equal(ErrorIds.FlowNotFound, Assert.Single(missing.Missing).ErrorId);
        Assert.Equal(new string?[] { "GREETER", null, "nope" }, queries.Select(q => q.Name));
    }

    [Fact]
    public async Task RunNow_records_tasks_provenance_and_a_log_attributed_per_task()
    {
        // Non-ASCII text: the recorded SHA-256 must be that of the file's bytes.
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Grüezi"));
        var path = Temp.File("greeter.cs");

        var run = await Client.RunNowAsync(flow, Args(("name", "Ada")), null);

        Assert.Equal(RunState.Success, run.State);
        Assert.Null(run.Error);
        Assert.Null(run.ErrorId);
        Assert.Equal(FlowClient.LocalAgent, run.Agent);
        Assert.NotNull(run.Started);
        Assert.True(run.Ended >= run.Started);
        Assert.Equal("Ada", run.Parameters["name"]);
        Assert.Equal(new[] { "greet", "shout" }, run.Tasks.Select(t => t.Name).Order());
        Assert.All(run.Tasks, t =>
        {
            Assert.Equal(TaskRunState.Success, t.State);
            Assert.Equal(1, t.Attempts);
        });

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), run.ScriptSha256);
        Assert.Equal(LocalVersion(path), run.StorageVersion);

        var log = await Client.GetRunLogAsync(run.Id);
        var greet = Assert.Single(log, l => l.Task == "greet" && l.Level == "Output");
        var shout = Assert.Single(log, l => l.Task == "shout" && l.Level == "Output");
        Assert.Equal("Grüezi, Ada", greet.Message);
        Assert.Equal("GRÜEZI, ADA!", shout.Message);
        Assert.Contains(log, l => l.Task is null && l.Message.Contains("finished Success"));
        var stored = await Client.GetRunAsync(run.Id);
        Assert.Equal((run.State, run.ScriptSha256, run.StorageVersion, run.Tasks.Count), (stored.State, stored.ScriptSha256, stored.StorageVersion, stored.Tasks.Count));
    }

    [Fact]
    public async Task A_failing_task_fails_the_run_with_FlowRunFailed_and_marks_downstream_tasks()
    {
        var flow = await RegisterFlowAsync("fail.cs", """
            using Flowstore;

            var flow = new Flow("fail");
            var a = flow.Task("a", () => { throw new InvalidOperationException("boom"); return 1; });
            flow.Task("b", (int v) => Console.WriteLine(v), a);
            flow.Task("c", () => Console.WriteLine("independent"));
            """);

        var run = await Client.RunNowAsync(flow, null, null);

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal("FlowRunFailed", run.ErrorId);
        Assert.Contains("boom", run.Error);
        Assert.Equal(TaskRunState.Failed, run.Tasks.Single(t => t.Name == "a").State);
        Assert.Equal(TaskRunState.UpstreamFailed, run.Tasks.Single(t => t.Name == "b").State);
        Assert.Equal(TaskRunState.Success, run.Tasks.Single(t => t.Name == "c").State);
        var log = await Client.GetRunLogAsync(run.Id);
        Assert.Contains(log, l => l.Task == "a" && l.Level == "Error" && l.Message.Contains("boom"));
        // b did not run: its only lines are its state.
        Assert.Contains(log, l => l.Task == "b" && l.Level == "State" && l.Message.Contains("UpstreamFailed"));
        Assert.DoesNotContain(log, l => l.Task == "b" && l.Level != "State");
        // A run that fails in its tasks still records what it ran.
        Assert.NotNull(run.ScriptSha256);
        Assert.NotNull(run.StorageVersion);
    }

    [Fact]
    public async Task A_parameter_value_that_does_not_convert_fails_the_run_with_ParameterInvalid_before_any_task()
    {
        // A type only the script declares (an enum) is converted when the run starts, not when it is created.
        var flow = await RegisterFlowAsync("modes.cs", """
            using Flowstore;

            var flow = new Flow("modes");
            var mode = flow.Parameter("mode", Mode.Fast);
            flow.Task("show", (Mode m) => Console.WriteLine(m), mode);

            enum Mode { Fast, Careful }
            """);

        var run = await Client.RunNowAsync(flow, Args(("mode", "Sloppy")), null);

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.ParameterInvalid, run.ErrorId);
        Assert.Contains("mode", run.Error);
        Assert.Empty(run.Tasks);
        var log = await Client.GetRunLogAsync(run.Id);
        Assert.DoesNotContain(log, l => l.Task is not null);
        Assert.Contains(log, l => l.Level == "Error" && l.Message == run.Error);
    }

    [Fact]
    public async Task A_changed_structure_fails_the_run_with_StructureChanged_naming_the_added_task()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var path = Temp.File("greeter.cs");
        File.WriteAllText(path, Greeter("Hello", extraTask: true));

        var run = await Client.RunNowAsync(flow, null, null);

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.StructureChanged, run.ErrorId);
        Assert.Contains("tasks added: whisper", run.Error);
        Assert.Contains("Register a new version", run.Error);
        Assert.Empty(run.Tasks);
        Assert.Contains(await Client.GetRunLogAsync(run.Id), l => l.Level == "Error" && l.Message.Contains("whisper"));
    }

    // ---------------------------------------------------------------- agents

    [Fact]
    public async Task An_agent_with_once_executes_the_queued_runs_in_order_and_returns()
    {
        var dir = Temp.File("counts");
        Directory.CreateDirectory(dir);
        var flow = await RegisterFlowAsync("counter.cs", Counter(dir));
        var queued = new List<FlowRunRecord>();
        foreach (var n in new[] { 3, 1, 2 })
        {
            queued.Add(await Client.QueueRunAsync(flow, Args(("n", n))));
        }
        var started = new List<Guid>();

        var done = await Client.RunAgentAsync("solo", once: true, started: r => started.Add(r.Id)).WaitAsync(Guard);

        Assert.Equal(queued.Select(r => r.Id), started);
        Assert.Equal(queued.Select(r => r.Id), done.Select(r => r.Id));
        Assert.All(done, r =>
        {
            Assert.Equal(RunState.Success, r.State);
            Assert.Equal("solo", r.Agent);
        });
        Assert.Equal("3\n1\n2\n", File.ReadAllText(Path.Combine(dir, "all.txt")));
        Assert.Empty(await Client.GetRunsAsync(new RunQuery { State = RunState.Scheduled }));
        // Nothing left: a second pass returns at once with nothing done.
        Assert.Empty(await Client.RunAgentAsync("solo", once: true).WaitAsync(Guard));
    }

    [Fact]
    public async Task An_agent_runs_only_flows_whose_labels_are_among_its_own_and_its_host_name()
    {
        var gpu = await RegisterFlowAsync("greeter.cs", Greeter("Hello"), new RegisterOptions { Project = Project, Labels = ["gpu"] });
        var here = await RegisterFlowAsync("calc.cs", Calc, new RegisterOptions { Project = Project, Labels = [FlowHost.Label] });
        var gpuRun = await Client.QueueRunAsync(gpu, null);
        var hereRun = await Client.QueueRunAsync(here, Args(("count", 2)));

        // No labels given: the agent still has its host name, so it runs the flow labelled with it, and leaves the gpu one.
        var plain = await Client.RunAgentAsync("plain", once: true).WaitAsync(Guard);
        Assert.Equal([hereRun.Id], plain.Select(r => r.Id));
        Assert.Equal(RunState.Scheduled, (await Client.GetRunAsync(gpuRun.Id)).State);

        var withGpu = await Client.RunAgentAsync("gpu-box", once: true, labels: ["gpu"]).WaitAsync(Guard);
        Assert.Equal([gpuRun.Id], withGpu.Select(r => r.Id));
        Assert.Equal(RunState.Success, withGpu[0].State);
        Assert.Equal("gpu-box", withGpu[0].Agent);
    }

    [Fact]
    public async Task Agents_report_themselves_and_a_run_that_no_agent_seen_may_take_says_why()
    {
        var gpu = await RegisterFlowAsync("greeter.cs", Greeter("Hello"), new RegisterOptions { Project = Project, Labels = ["gpu", "linux"] });
        var plain = await RegisterFlowAsync("calc.cs", Calc);
        var waiting = await Client.QueueRunAsync(gpu, null);

        // No agent at all yet: even an unlabelled flow's run says so.
        Assert.Equal("no agent with labels gpu, linux has been seen in the last 5 minutes", (await Client.GetRunAsync(waiting.Id)).WaitReason);
        var plainRun = await Client.QueueRunAsync(plain, Args(("count", 1)));
        Assert.Equal("no agent has been seen in the last 5 minutes", (await Client.GetRunAsync(plainRun.Id)).WaitReason);

        var ran = await Client.RunAgentAsync("linux-box", once: true, labels: ["linux"]).WaitAsync(Guard);
        Assert.Equal([plainRun.Id], ran.Select(r => r.Id));

        var agent = Assert.Single(await Client.GetAgentsAsync());
        Assert.Equal("linux-box", agent.Name);
        Assert.Equal(FlowHost.Label, agent.Host);
        Assert.Equal(new[] { FlowHost.Label, "linux" }.Order(StringComparer.Ordinal), agent.Labels);
        Assert.Equal(FlowHost.Version, agent.Version);
        Assert.Equal(0, agent.CurrentRuns);
        Assert.False(string.IsNullOrEmpty(agent.Version));

        // The agent seen lacks "gpu": Get-FlowRun (one run or a list) says why the run waits.
        var listed = Assert.Single(await Client.GetRunsAsync(new RunQuery { State = RunState.Scheduled }));
        Assert.Equal(waiting.Id, listed.Id);
        Assert.Equal("no agent with labels gpu, linux has been seen in the last 5 minutes", listed.WaitReason);
        var timedOut = await Assert.ThrowsAsync<FlowstoreException>(() => Client.WaitRunAsync(waiting.Id, TimeSpan.FromMilliseconds(100)));
        Assert.EndsWith("no agent with labels gpu, linux has been seen in the last 5 minutes.", timedOut.Message);

        // An agent that covers the labels has been seen (it reports before it claims): no reason any more, and it runs it.
        var gpuBox = await Client.RunAgentAsync("gpu-box", once: true, labels: ["gpu", "linux"]).WaitAsync(Guard);
        Assert.Equal([waiting.Id], gpuBox.Select(r => r.Id));
        Assert.Null((await Client.GetRunAsync(waiting.Id)).WaitReason);
        Assert.Equal(["gpu-box", "linux-box"], (await Client.GetAgentsAsync()).Select(a => a.Name));
    }

    /// <summary>Moves an agent's first and last report back in time, as if it had last polled <paramref name="ago"/> ago.</summary>
    private void LastSeenAgo(string agent, TimeSpan ago)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Home, "flowstore.db")}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE agents SET first_seen = $at, last_seen = $at WHERE name = $name;";
        command.Parameters.AddWithValue("$at", (DateTimeOffset.UtcNow - ago).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$name", agent);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    [Fact]
    public async Task Agents_not_seen_for_a_day_are_listed_only_on_request_and_the_agents_sweep_forgets_those_gone_for_a_week()
    {
        foreach (var name in new[] { "gone-box", "idle-box", "busy-box" })
        {
            Assert.Empty(await Client.RunAgentAsync(name, once: true).WaitAsync(Guard));
        }
        LastSeenAgo("gone-box", TimeSpan.FromDays(8));
        LastSeenAgo("idle-box", TimeSpan.FromDays(2));

        // By default only the agents seen in the last day; all of them on request.
        Assert.Equal(["busy-box"], (await Client.GetAgentsAsync()).Select(a => a.Name));
        Assert.Equal(["busy-box", "gone-box", "idle-box"], (await Client.GetAgentsAsync(all: true)).Select(a => a.Name));

        // This client's agent swept when it started: not again before the sweep interval.
        Assert.Empty(await Client.RunAgentAsync("busy-box", once: true).WaitAsync(Guard));
        Assert.Equal(["busy-box", "gone-box", "idle-box"], (await Client.GetAgentsAsync(all: true)).Select(a => a.Name));

        // A new agent (Start-FlowAgent in another session) sweeps at once: the agent gone for 8 days (more than the
        // 7 days kept) is forgotten, the one gone for 2 days is kept.
        Assert.Empty(await NewClient().RunAgentAsync("new-box", once: true).WaitAsync(Guard));
        Assert.Equal(["busy-box", "idle-box", "new-box"], (await Client.GetAgentsAsync(all: true)).Select(a => a.Name));
        Assert.Equal(["busy-box", "new-box"], (await Client.GetAgentsAsync()).Select(a => a.Name));

        // The windows are settings (FLOWSTORE_AGENT_LIST_WINDOW, FLOWSTORE_AGENT_RETENTION).
        var shortLists = NewClient(new RunTiming
        {
            HeartbeatInterval = ClientTiming.HeartbeatInterval, PollInterval = ClientTiming.PollInterval,
            AgentListWindow = TimeSpan.FromDays(3), AgentRetention = TimeSpan.FromDays(1),
        });
        Assert.Equal(["busy-box", "idle-box", "new-box"], (await shortLists.GetAgentsAsync()).Select(a => a.Name));
        Assert.Empty(await shortLists.RunAgentAsync("new-box", once: true).WaitAsync(Guard));
        Assert.Equal(["busy-box", "new-box"], (await Client.GetAgentsAsync(all: true)).Select(a => a.Name));
    }

    [Fact]
    public async Task Following_a_run_log_streams_its_lines_while_it_runs_and_returns_when_it_ended()
    {
        var gate = Temp.File("gate");
        var flow = await RegisterFlowAsync("gated.cs", $$"""
            using Flowstore;

            var flow = new Flow("gated");
            flow.Task("wait", async (CancellationToken ct) =>
            {
                Log.Info("waiting for the gate");
                while (!File.Exists({{JsonSerializer.Serialize(gate)}}))
                {
                    await Task.Delay(10, ct);
                }
                Log.Info("through the gate");
            });
            """);
        var run = await Client.QueueRunAsync(flow, null);
        var followed = new List<RunLogEntry>();

        // The task goes on only once the follower has handed on its first line: a follower that handed lines on only
        // at the end would never open the gate (and the guard would fail the test).
        var follow = NewClient().FollowRunLogAsync(run.Id, entry =>
        {
            lock (followed)
            {
                followed.Add(entry);
            }
            if (entry.Message == "waiting for the gate")
            {
                File.WriteAllText(gate, "open");
            }
        });
        var agent = Client.RunAgentAsync("follow-me", once: true);

        var ended = await follow.WaitAsync(Guard);
        await agent.WaitAsync(Guard);

        Assert.Equal(RunState.Success, ended.State);
        var log = await Client.GetRunLogAsync(run.Id);
        Assert.Equal(log.Select(e => e.Message), followed.Select(e => e.Message));
        Assert.Contains("through the gate", followed.Select(e => e.Message));
        await Assert.ThrowsAsync<FlowstoreException>(() => Client.FollowRunLogAsync(Guid.NewGuid(), _ => { }));
    }

    [Theory]
    [InlineData(new string[0], 300, "no agent has been seen in the last 5 minutes")]
    [InlineData(new[] { "gpu" }, 60, "no agent with label gpu has been seen in the last minute")]
    [InlineData(new[] { "a", "b" }, 90, "no agent with labels a, b has been seen in the last 90 seconds")]
    public void The_wait_reason_names_the_labels_and_the_window(string[] labels, int seconds, string expected)
        => Assert.Equal(expected, FlowRuns.NoAgentReason(labels, TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task Two_agents_on_one_home_execute_each_of_twenty_runs_exactly_once()
    {
        const int Runs = 20;
        var dir = Temp.File("counts");
        Directory.CreateDirectory(dir);
        var flow = await RegisterFlowAsync("counter.cs", Counter(dir));
        var queued = new List<FlowRunRecord>();
        for (var n = 1; n <= Runs; n++)
        {
            queued.Add(await Client.QueueRunAsync(flow, Args(("n", n))));
        }
        var first = NewClient();
        var second = NewClient();

        var agents = await Task.WhenAll(
            Task.Run(() => first.RunAgentAsync("agent-1", once: true)),
            Task.Run(() => second.RunAgentAsync("agent-2", once: true))).WaitAsync(Guard);

        var executed = agents.SelectMany(a => a).ToArray();
        Assert.Equal(queued.Select(r => r.Id).Order(), executed.Select(r => r.Id).Order());
        Assert.All(agents[0], r => Assert.Equal("agent-1", r.Agent));
        Assert.All(agents[1], r => Assert.Equal("agent-2", r.Agent));
        for (var n = 1; n <= Runs; n++)
        {
            Assert.Equal($"{n}\n", File.ReadAllText(Path.Combine(dir, $"{n}.txt")));
        }
        var runs = await Client.GetRunsAsync(new RunQuery { FlowName = "counter" });
        Assert.Equal(Runs, runs.Count);
        Assert.All(runs, r => Assert.Equal(RunState.Success, r.State));
    }

    // ---------------------------------------------------------------- stopping, stale runs, waiting

    [Fact]
    public async Task StopRun_cancels_a_running_run_through_its_heartbeat()
    {
        var flow = await RegisterFlowAsync("sleeper.cs", Sleeper);
        var queued = await Client.QueueRunAsync(flow, null);
        var signal = new LogSignal("wait", "waiting");
        // The agent's own token is never cancelled: only the cancel flag read by the heartbeat can end the run.
        var agent = Task.Run(() => Client.RunAgentAsync("stopper", once: true, observer: signal));
        await signal.Seen.WaitAsync(Guard);

        var running = await Client.GetRunAsync(queued.Id);
        var requested = await NewClient().StopRunAsync(queued.Id);
        var done = Assert.Single(await agent.WaitAsync(Guard));

        Assert.Equal(RunState.Running, running.State);
        Assert.False(running.CancelRequested);
        Assert.True(requested.CancelRequested);
        Assert.Equal(queued.Id, done.Id);
        Assert.Equal(RunState.Cancelled, done.State);
        Assert.Equal("FlowRunCancelled", done.ErrorId);
        Assert.NotNull(done.Ended);
        Assert.Equal(TaskRunState.Cancelled, Assert.Single(done.Tasks).State);
        Assert.Equal(RunState.Cancelled, (await Client.GetRunAsync(queued.Id)).State);
    }

    [Fact]
    public async Task StopRun_cancels_a_queued_run_at_once_and_no_agent_runs_it()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var queued = await Client.QueueRunAsync(flow, null);

        var stopped = await Client.StopRunAsync(queued.Id);

        Assert.Equal(RunState.Cancelled, stopped.State);
        Assert.Empty(await Client.RunAgentAsync("idle", once: true).WaitAsync(Guard));
        Assert.Empty(await Client.GetRunLogAsync(queued.Id));
    }

    [Fact]
    public async Task StopRun_of_an_ended_run_fails_with_RunAlreadyEnded_and_of_an_unknown_run_with_RunNotFound()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var run = await Client.RunNowAsync(flow, null, null);

        var ended = await Assert.ThrowsAsync<FlowstoreException>(() => Client.StopRunAsync(run.Id));
        var unknown = await Assert.ThrowsAsync<FlowstoreException>(() => Client.StopRunAsync(Guid.NewGuid()));

        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(ErrorIds.RunAlreadyEnded, ended.ErrorId);
        Assert.Contains("Success", ended.Message);
        Assert.Equal(ErrorIds.RunNotFound, unknown.ErrorId);
        Assert.Equal(RunState.Success, (await Client.GetRunAsync(run.Id)).State);
    }

    [Fact]
    public async Task A_run_whose_agent_stopped_heartbeating_is_failed_with_RunAgentLost_by_the_next_waiter()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var queued = await Client.QueueRunAsync(flow, null);
        var claimed = await Client.Backend.ClaimRunAsync("ghost", queued.Id, CancellationToken.None);
        Assert.Equal(RunState.Running, claimed!.State);

        // Within the heartbeat timeout the run is left alone...
        var patient = await Assert.ThrowsAsync<FlowstoreException>(() => Client.WaitRunAsync(queued.Id, TimeSpan.FromMilliseconds(100)).WaitAsync(Guard));
        // ...past it, whoever waits for it next fails it.
        var impatient = NewClient(new RunTiming { HeartbeatTimeout = TimeSpan.FromTicks(1), PollInterval = TimeSpan.FromMilliseconds(20) });
        var lost = await impatient.WaitRunAsync(queued.Id, null).WaitAsync(Guard);

        Assert.Equal(ErrorIds.RunWaitTimedOut, patient.ErrorId);
        Assert.Equal(RunState.Failed, lost.State);
        Assert.Equal("RunAgentLost", lost.ErrorId);
        Assert.Contains("ghost", lost.Error);
        Assert.NotNull(lost.Ended);
        Assert.Equal(RunState.Failed, Assert.Single(await Client.GetRunsAsync(new RunQuery { FlowName = "greeter" })).State);
        // The ghost, should it come back, is told to stop and cannot record a result.
        Assert.True(await Client.Backend.HeartbeatAsync(queued.Id, "ghost", Array.Empty<TaskRunRecord>(), CancellationToken.None));
        Assert.False(await Client.Backend.CompleteRunAsync(queued.Id, "ghost", new RunCompletion { State = RunState.Success }, CancellationToken.None));
        Assert.Equal(RunState.Failed, (await Client.GetRunAsync(queued.Id)).State);
    }

    [Fact]
    public async Task Looking_at_runs_writes_nothing_a_lost_run_stays_Running_until_an_agent_sweeps()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var queued = await Client.QueueRunAsync(flow, null);
        await Client.Backend.ClaimRunAsync("ghost", queued.Id, CancellationToken.None);
        var impatient = NewClient(new RunTiming { HeartbeatTimeout = TimeSpan.FromTicks(1), PollInterval = TimeSpan.FromMilliseconds(20) });

        var looked = Assert.Single(await impatient.GetRunsAsync(new RunQuery { FlowName = "greeter" }));
        var lookedById = await impatient.GetRunAsync(queued.Id);
        var ran = await impatient.RunAgentAsync("sweeper", once: true).WaitAsync(Guard);
        var swept = await impatient.GetRunAsync(queued.Id);

        Assert.Equal(RunState.Running, looked.State);
        Assert.Equal(RunState.Running, lookedById.State);
        Assert.Empty(ran);
        Assert.Equal(RunState.Failed, swept.State);
        Assert.Equal("RunAgentLost", swept.ErrorId);
    }

    [Fact]
    public async Task The_sweeper_fails_only_runs_older_than_the_heartbeat_timeout_and_returns_them()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var queued = await Client.QueueRunAsync(flow, null);
        await Client.Backend.ClaimRunAsync("ghost", queued.Id, CancellationToken.None);
        var impatient = NewClient(new RunTiming { HeartbeatTimeout = TimeSpan.FromTicks(1), PollInterval = TimeSpan.FromMilliseconds(20) });

        var patient = await Client.Sweeper.SweepAsync();
        var failed = await impatient.Sweeper.SweepAsync();

        Assert.Empty(patient);
        Assert.Equal(queued.Id, Assert.Single(failed).Id);
        Assert.Equal("RunAgentLost", Assert.Single(failed).ErrorId);
        Assert.Empty(await impatient.Sweeper.SweepAsync());
    }

    [Fact]
    public async Task WaitRun_times_out_with_RunWaitTimedOut_while_no_agent_runs_the_run()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var queued = await Client.QueueRunAsync(flow, null);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.WaitRunAsync(queued.Id, TimeSpan.FromMilliseconds(100)).WaitAsync(Guard));

        Assert.Equal(ErrorIds.RunWaitTimedOut, e.ErrorId);
        Assert.Contains("Scheduled", e.Message);
        Assert.Equal(RunState.Scheduled, (await Client.GetRunAsync(queued.Id)).State);
    }

    [Fact]
    public async Task WaitRun_returns_the_run_once_an_agent_ended_it()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var queued = await Client.QueueRunAsync(flow, Args(("name", "Ada")));

        var waiting = Client.WaitRunAsync(queued.Id, null);
        var agent = NewClient().RunAgentAsync("worker", once: true);
        var waited = await waiting.WaitAsync(Guard);
        await agent.WaitAsync(Guard);

        Assert.Equal(RunState.Success, waited.State);
        Assert.Equal("worker", waited.Agent);
        Assert.Contains(await Client.GetRunLogAsync(queued.Id), l => l.Task == "greet" && l.Message == "Hello, Ada");
        var unknown = await Assert.ThrowsAsync<FlowstoreException>(() => Client.WaitRunAsync(Guid.NewGuid(), null).WaitAsync(Guard));
        Assert.Equal(ErrorIds.RunNotFound, unknown.ErrorId);
    }

    // ---------------------------------------------------------------- pinned re-runs

    [Fact]
    public async Task A_pinned_run_of_a_frozen_flow_runs_the_copy_an_earlier_run_executed()
    {
        var path = WriteScript("greeter.cs", Greeter("Hello"));
        var frozen = new RegisterOptions { Project = Project, Storage = new LocalStorage(storedAsScript: false) };
        await RegisterOneAsync(path, frozen);
        var first = await Client.RunNowAsync(await Client.GetFlowAsync("greeter", Project), null, null);

        File.WriteAllText(path, Greeter("Goodbye"));
        Assert.Equal(2, (await RegisterOneAsync(path, frozen)).Version);
        var v2 = await Client.GetFlowAsync("greeter", Project);
        var current = await Client.RunNowAsync(v2, null, null);
        var pinned = await Client.RunNowAsync(v2, null, first.Id);
        var queuedPinned = await Client.QueueRunAsync(v2, Args(("name", "Ada")), first.Id);
        var agentPinned = Assert.Single(await Client.RunAgentAsync("pinned", once: true).WaitAsync(Guard));

        Assert.Equal(2, Directory.GetFiles(Path.Combine(Home, "flows", "greeter"), "*.dll").Length);
        Assert.Equal(RunState.Success, first.State);
        Assert.Equal(RunState.Success, current.State);
        Assert.Contains(await Client.GetRunLogAsync(current.Id), l => l.Task == "greet" && l.Message == "Goodbye, world");
        Assert.NotEqual(first.ScriptSha256, current.ScriptSha256);

        Assert.Equal(RunState.Success, pinned.State);
        Assert.Equal(2, pinned.FlowVersion);
        Assert.Equal(first.Id, pinned.PinnedFromRun);
        Assert.Equal(first.StorageVersion, pinned.PinnedStorageVersion);
        Assert.Equal(first.ScriptSha256, pinned.ScriptSha256);
        Assert.Equal(first.StorageVersion, pinned.StorageVersion);
        var pinnedLog = await Client.GetRunLogAsync(pinned.Id);
        Assert.Contains(pinnedLog, l => l.Task == "greet" && l.Message == "Hello, world");
        Assert.DoesNotContain(pinnedLog, l => l.Message.Contains("Goodbye"));

        Assert.Equal(first.Id, queuedPinned.PinnedFromRun);
        Assert.Equal(first.StorageVersion, queuedPinned.PinnedStorageVersion);
        Assert.Equal(queuedPinned.Id, agentPinned.Id);
        Assert.Equal(RunState.Success, agentPinned.State);
        Assert.Contains(await Client.GetRunLogAsync(agentPinned.Id), l => l.Task == "greet" && l.Message == "Hello, Ada");
    }

    [Fact]
    public async Task A_pinned_run_of_a_local_script_fails_with_PinnedVersionUnavailable_once_the_file_changed()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var path = Temp.File("greeter.cs");
        var first = await Client.RunNowAsync(flow, null, null);
        // Unchanged, the file is still the version the first run executed.
        var same = await Client.RunNowAsync(flow, null, first.Id);

        File.WriteAllText(path, Greeter("Goodbye"));
        var pinned = await Client.RunNowAsync(flow, null, first.Id);

        Assert.Equal(RunState.Success, same.State);
        Assert.Equal(first.StorageVersion, same.StorageVersion);
        Assert.Equal(RunState.Failed, pinned.State);
        Assert.Equal(ErrorIds.PinnedVersionUnavailable, pinned.ErrorId);
        Assert.Contains(path, pinned.Error);
        Assert.Contains(first.StorageVersion!, pinned.Error);
        Assert.Empty(pinned.Tasks);
        Assert.DoesNotContain(await Client.GetRunLogAsync(pinned.Id), l => l.Task is not null);
    }

    [Fact]
    public async Task Pinning_to_an_unknown_run_fails_with_RunNotFound_and_queues_nothing()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var nowhere = Guid.NewGuid();

        var queued = await Assert.ThrowsAsync<FlowstoreException>(() => Client.QueueRunAsync(flow, null, nowhere));
        var now = await Assert.ThrowsAsync<FlowstoreException>(() => Client.RunNowAsync(flow, null, nowhere));

        Assert.Equal(ErrorIds.RunNotFound, queued.ErrorId);
        Assert.Contains(nowhere.ToString(), queued.Message);
        Assert.Equal(ErrorIds.RunNotFound, now.ErrorId);
        Assert.Empty(await Client.GetRunsAsync(new RunQuery()));
    }

    // ---------------------------------------------------------------- a flow that cannot be loaded

    public static TheoryData<string> BrokenCompiledFlows => new() { "corrupt", "truncated", "empty" };

    [Theory]
    [MemberData(nameof(BrokenCompiledFlows))]
    public async Task A_broken_compiled_flow_fails_its_run_with_FlowLoadFailed_and_the_agent_goes_on_with_the_next_run(string damage)
    {
        var frozenDir = Temp.File("frozen");
        var broken = await RegisterFlowAsync("greeter.cs", Greeter("Hello"), new RegisterOptions
        {
            Project = Project, Storage = new LocalStorage(storedAsScript: false, directory: frozenDir),
        });
        var good = await RegisterFlowAsync("calc.cs", Calc);
        var artifact = Assert.Single(Directory.GetFiles(frozenDir, "*.dll", SearchOption.AllDirectories));
        var bytes = File.ReadAllBytes(artifact);
        File.WriteAllBytes(artifact, damage switch
        {
            // Another client replaced the object: same length, other bytes after the DOS header.
            "corrupt" => bytes.Take(128).Concat(Enumerable.Repeat((byte)0x5A, bytes.Length - 128)).ToArray(),
            "truncated" => bytes.Take(bytes.Length / 3).ToArray(),
            _ => Array.Empty<byte>(),
        });
        var first = await Client.QueueRunAsync(broken, null);
        var second = await Client.QueueRunAsync(good, Args(("count", 3)));

        var done = await Client.RunAgentAsync("survivor", once: true).WaitAsync(Guard);

        Assert.Equal(new[] { first.Id, second.Id }, done.Select(r => r.Id));
        var failed = await Client.GetRunAsync(first.Id);
        Assert.Equal(RunState.Failed, failed.State);
        Assert.Equal(ErrorIds.FlowLoadFailed, failed.ErrorId);
        Assert.Contains("'greeter' version 1", failed.Error);
        Assert.Contains("Local frozen", failed.Error);
        Assert.Contains(failed.StorageVersion!, failed.Error);
        Assert.Contains(failed.ScriptSha256!, failed.Error);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(artifact))), failed.ScriptSha256);
        Assert.NotNull(failed.Ended);
        Assert.Contains(await Client.GetRunLogAsync(first.Id), l => l.Level == "Error" && l.Message == failed.Error);
        Assert.Equal(RunState.Success, (await Client.GetRunAsync(second.Id)).State);
        Assert.Empty(await Client.GetRunsAsync(new RunQuery { State = RunState.Running }));

        // Run here and now, the same: a Failed run with the id, not an exception.
        var now = await Client.RunNowAsync(broken, null, null);
        Assert.Equal((RunState.Failed, ErrorIds.FlowLoadFailed), (now.State, now.ErrorId));
        Assert.Equal(FlowHintKind.RegisterFlow, RunErrors.Of(now, broken)!.Hint?.Kind);
    }

    // ---------------------------------------------------------------- where the script came from

    [Fact]
    public async Task Every_run_log_starts_with_the_storage_location_requested_ref_resolved_version_and_SHA256()
    {
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"));
        var path = Temp.File("greeter.cs");
        var seen = new List<RunLogEntry>();

        var run = await Client.RunNowAsync(flow, null, null, new Collect(seen));
        var queued = await Client.QueueRunAsync(flow, null);
        var byAgent = Assert.Single(await Client.RunAgentAsync("a", once: true).WaitAsync(Guard));

        foreach (var id in new[] { run.Id, byAgent.Id })
        {
            var recorded = await Client.GetRunAsync(id);
            var log = await Client.GetRunLogAsync(id);
            Assert.Equal(
                $"Downloading flow 'greeter' version 1 from Local storage - Local script {path}; requested: the current script.",
                log[0].Message);
            Assert.Equal(
                $"Flow successfully downloaded from {path}. Using version: {recorded.StorageVersion}; script SHA-256: {recorded.ScriptSha256}.",
                log[1].Message);
            Assert.All(log.Take(2), l => Assert.Equal(("Info", (string?)null), (l.Level, l.Task)));
        }
        // A caller watching a run here and now (Start-FlowRun -Wait shows Info lines as verbose) gets the same lines first.
        Assert.StartsWith("Downloading flow 'greeter'", seen[0].Message);
        Assert.StartsWith("Flow successfully downloaded", seen[1].Message);

        // A pinned run names the version it asked for; a failed fetch still says where it looked.
        var pinned = await Client.RunNowAsync(flow, null, run.Id);
        Assert.EndsWith($"requested: pinned version {run.StorageVersion}.", (await Client.GetRunLogAsync(pinned.Id))[0].Message);
        File.Delete(path);
        var missing = await Client.RunNowAsync(flow, null, null);
        var missingLog = await Client.GetRunLogAsync(missing.Id);
        Assert.StartsWith("Downloading flow 'greeter' version 1 from Local storage", missingLog[0].Message);
        Assert.Equal("Error", missingLog[1].Level);
    }

    [Fact]
    public async Task A_frozen_run_names_the_compiled_flow_it_loaded()
    {
        var frozenDir = Temp.File("frozen");
        var flow = await RegisterFlowAsync("greeter.cs", Greeter("Hello"), new RegisterOptions
        {
            Project = Project, Storage = new LocalStorage(storedAsScript: false, directory: frozenDir),
        });
        var artifact = Assert.Single(Directory.GetFiles(frozenDir, "*.dll", SearchOption.AllDirectories));

        var run = await Client.RunNowAsync(flow, null, null);

        var log = await Client.GetRunLogAsync(run.Id);
        Assert.Equal($"Downloading flow 'greeter' version 1 from Local storage - Local frozen {artifact}; requested: the current compiled flow.", log[0].Message);
        Assert.Equal($"Flow successfully downloaded from {artifact}. Using version: {run.StorageVersion}; compiled flow SHA-256: {run.ScriptSha256}.", log[1].Message);
    }

    // ---------------------------------------------------------------- what a run did survives its agent

    [Fact]
    public async Task Task_states_and_log_lines_are_written_while_the_run_goes_not_only_when_it_ends()
    {
        var flow = await RegisterFlowAsync("stepper.cs", """
            using Flowstore;

            var flow = new Flow("stepper");
            var first = flow.Task("first", () => { Console.WriteLine("first ran"); return 1; });
            flow.Task("hold", async (int x, CancellationToken ct) =>
            {
                Log.Info("holding");
                await Task.Delay(Timeout.Infinite, ct);
            }, first);
            """);
        // Heartbeats far apart: only the batched writes can put the lines in the store while the run goes.
        var runner = NewClient(new RunTiming
        {
            HeartbeatInterval = TimeSpan.FromMinutes(10),
            HeartbeatTimeout = TimeSpan.FromMinutes(20),
            LogFlushInterval = TimeSpan.FromMilliseconds(50),
            PollInterval = TimeSpan.FromMilliseconds(20),
        });
        var queued = await Client.QueueRunAsync(flow, null);
        using var stopAgent = new CancellationTokenSource();
        var agent = Task.Run(() => runner.RunAgentAsync("writer", once: false, cancellationToken: stopAgent.Token));

        // Another client (another process would do the same) sees the lines and task states of the running run.
        var reader = NewClient();
        IReadOnlyList<RunLogEntry> log = Array.Empty<RunLogEntry>();
        var deadline = DateTime.UtcNow + Guard;
        while (!log.Any(l => l.Task == "hold" && l.Message == "holding"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the running run's log lines never reached the store");
            Assert.False(agent.IsCompleted, "the agent ended before the run wrote its lines");
            await Task.Delay(20);
            log = await reader.GetRunLogAsync(queued.Id);
        }
        var running = await reader.GetRunAsync(queued.Id);
        stopAgent.Cancel();
        var ended = Assert.Single(await agent.WaitAsync(Guard));

        Assert.Equal(RunState.Running, running.State);
        Assert.Contains(log, l => l.Task == "first" && l.Level == "Output" && l.Message == "first ran");
        Assert.StartsWith("Downloading flow 'stepper'", log[0].Message);
        Assert.Equal(TaskRunState.Success, running.Tasks.Single(t => t.Name == "first").State);
        Assert.Equal(TaskRunState.Running, running.Tasks.Single(t => t.Name == "hold").State);
        Assert.Equal(RunState.Cancelled, ended.State);
    }

    private sealed class Collect(List<RunLogEntry> lines) : IRunObserver
    {
        public void TaskStateChanged(TaskRunResult task, int done, int total)
        {
        }

        public void LogWritten(RunLogEntry entry)
        {
            lock (lines)
            {
                lines.Add(entry);
            }
        }
    }
}
