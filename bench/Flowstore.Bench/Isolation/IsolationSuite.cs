using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Flowstore.Bench.Harness;
using Flowstore.Engine;

namespace Flowstore.Bench.Isolation;

/// <summary>
/// Isolation (issue 16, section 2): how long a claimed run takes to start its first task when the agent executes it in a
/// worker process (kept warm by the agent, or started for the run) compared with in the agent's own process, and the
/// agent's memory over many runs in a row. Each case has an agent (RunAgentAsync) of its own on a home of its own, on
/// the embedded backend, with the start flow registered and its script compiled (cached) beforehand. A repetition
/// queues M runs one after the other and reports the median time from the claim (the agent's <c>started</c> callback,
/// right after the claim returned) to the first task's body (a Stopwatch timestamp the task prints into the run log:
/// Stopwatch is the system's monotonic clock, the same in every process of the machine).
/// </summary>
public sealed class IsolationSuite : BenchSuite
{
    private const string ProjectName = "BenchIsolation";
    private const string FlowName = "bench-isolated";
    private const string Marker = "first-task-started ";

    private const string Script = """
        // Flowstore.Bench, suite `isolation`: its one task prints when its body started (Stopwatch, machine-wide monotonic).
        using Flowstore;

        var flow = new Flow("bench-isolated");
        flow.Task("first", () => Console.WriteLine("first-task-started " + System.Diagnostics.Stopwatch.GetTimestamp()));
        """;

    private readonly BenchOptions _options;
    private readonly string _root;
    private readonly Dictionary<string, object> _facts = new();
    private readonly List<Agent> _agents = new();

    public IsolationSuite(BenchOptions options)
    {
        _options = options;
        _root = Path.Combine(Path.GetTempPath(), "flowstore-bench-isolation-" + Guid.NewGuid().ToString("N")[..12]);
        Cases = new BenchCase[]
        {
            new AgentStartCase(this, "in-process", RunIsolation.InProcess, "claim -> first task, run in the agent's process (baseline)"),
            new AgentStartCase(this, "worker-warm", RunIsolation.Process, "claim -> first task, run in the agent's warm worker process"),
            new ColdWorkerCase(this),
        };
        Comparisons = new Comparison[]
        {
            new AbsoluteComparison("start in a warm worker (claim -> first task)", "worker-warm", 100),
            new RatioComparison("warm worker / in process", "worker-warm", "in-process"),
            new RatioComparison("worker started for the run / in process", "worker-cold", "in-process"),
        };
    }

    public override string Name => "isolation";

    public override string Description => "claim -> first task body: a run in a worker process (warm; started for the run) vs in the agent's process; agent RSS over runs in a row";

    public override IReadOnlyList<BenchCase> Cases { get; }

    public override IReadOnlyList<Comparison> Comparisons { get; }

    public override IReadOnlyDictionary<string, object> Parameters
    {
        get
        {
            var p = new Dictionary<string, object>
            {
                ["runs per repetition (median reported)"] = _options.StartRuns,
                ["flow"] = "one task printing a Stopwatch timestamp; Local script storage, compiled (cached) before timing",
                ["backend"] = "embedded SQLite, poll interval 10 ms, heartbeat 5 s",
                ["memory-runs"] = _options.MemoryRuns,
            };
            foreach (var (k, v) in _facts)
            {
                p[k] = v;
            }
            return p;
        }
    }

    internal int Runs => _options.StartRuns;

    private readonly List<FlowClient> _owned = new();

    /// <summary>Disposes <paramref name="client"/> with the suite.</summary>
    internal void Own(FlowClient client) => _owned.Add(client);

    private static RunTiming Timing => new() { PollInterval = TimeSpan.FromMilliseconds(10) };

    /// <summary>A client on a new home with the flow registered and run once in process (the script compiled and cached).</summary>
    internal async Task<(FlowClient Client, FlowRecord Flow)> NewHomeAsync(string name, CancellationToken cancellationToken)
    {
        var home = Path.Combine(_root, name);
        var script = Path.Combine(home, "scripts", "bench-isolated.cs");
        Directory.CreateDirectory(Path.GetDirectoryName(script)!);
        await File.WriteAllTextAsync(script, Script, cancellationToken).ConfigureAwait(false);
        var client = new FlowClient(new FlowClientOptions { Home = Path.Combine(home, "home") }) { Timing = Timing };
        await client.CreateProjectAsync(ProjectName, "Flowstore.Bench isolation", cancellationToken).ConfigureAwait(false);
        var options = new RegisterOptions { Project = ProjectName };
        foreach (var plan in await client.PlanAsync(script, options, null, cancellationToken).ConfigureAwait(false))
        {
            await client.ApplyAsync(plan, options, null, cancellationToken).ConfigureAwait(false);
        }
        var flow = await client.GetFlowAsync(FlowName, ProjectName, null, cancellationToken).ConfigureAwait(false);
        var warm = await client.RunNowAsync(flow, null, null, null, cancellationToken).ConfigureAwait(false);
        if (warm.State != RunState.Success)
        {
            throw new InvalidOperationException($"The isolation flow's first run ended {warm.State}: {warm.Error}");
        }
        return (client, flow);
    }

    internal async Task<Agent> StartAgentAsync(string name, RunIsolation isolation, CancellationToken cancellationToken)
    {
        var (client, flow) = await NewHomeAsync(name, cancellationToken).ConfigureAwait(false);
        var agent = new Agent(client, flow, isolation);
        _agents.Add(agent);
        return agent;
    }

    /// <summary>The first task's start as the run's log says (a Stopwatch timestamp).</summary>
    internal static async Task<long> FirstTaskStartedAsync(FlowClient client, Guid run, CancellationToken cancellationToken)
    {
        var line = (await client.GetRunLogAsync(run, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(l => l.Message.StartsWith(Marker, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Run {run} logged no start of its first task.");
        return long.Parse(line.Message[Marker.Length..], CultureInfo.InvariantCulture);
    }

    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_root);
        if (_options.MemoryRuns > 0)
        {
            foreach (var isolation in new[] { RunIsolation.Process, RunIsolation.InProcess })
            {
                _facts[$"agent RSS over {_options.MemoryRuns} runs, {isolation}"] = await MemoryProfileAsync(isolation, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Runs <see cref="BenchOptions.MemoryRuns"/> queued runs in a row through one agent and reads this process's RSS
    /// (working set, after a full GC) and GC heap at run 10, 100, 1000, ... and the last.
    /// </summary>
    private async Task<string> MemoryProfileAsync(RunIsolation isolation, CancellationToken cancellationToken)
    {
        var (client, flow) = await NewHomeAsync("memory-" + isolation, cancellationToken).ConfigureAwait(false);
        using var _ = client;
        var n = _options.MemoryRuns;
        for (var i = 0; i < n; i++)
        {
            await client.QueueRunAsync(flow, null, null, cancellationToken).ConfigureAwait(false);
        }
        var marks = new SortedSet<int>(new[] { 10, 100, 1000, 10_000, n }.Where(m => m <= n));
        var readings = new List<string>();
        var ended = 0;
        var failed = 0;
        var watch = Stopwatch.StartNew();
        GC.Collect();
        var before = Environment.WorkingSet;
        await client.RunAgentAsync("bench-memory", once: true, ended: r =>
        {
            ended++;
            if (r.State != RunState.Success)
            {
                failed++;
            }
            if (marks.Contains(ended))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                readings.Add($"run {ended}: {Environment.WorkingSet / (1024 * 1024)} MB RSS, {GC.GetTotalMemory(false) / (1024 * 1024)} MB GC heap");
            }
        }, cancellationToken: cancellationToken, isolation: isolation).ConfigureAwait(false);
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} of {n} runs of the memory profile ({isolation}) did not succeed.");
        }
        var text = $"before: {before / (1024 * 1024)} MB RSS; {string.Join("; ", readings)}; {watch.Elapsed.TotalSeconds:F1} s in all";
        Console.WriteLine($"isolation: agent memory, {isolation}: {text}");
        return text;
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var client in _owned)
        {
            client.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_options.KeepTemp && Directory.Exists(_root))
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"isolation: could not delete {_root}: {e.Message}");
            }
        }
    }

    /// <summary>An agent running in the background for the whole suite; each run's claim time is kept.</summary>
    internal sealed class Agent : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<Guid, long> _claimed = new();
        private readonly ConcurrentDictionary<Guid, TaskCompletionSource<FlowRunRecord>> _ended = new();
        private readonly Task _loop;

        public Agent(FlowClient client, FlowRecord flow, RunIsolation isolation)
        {
            Client = client;
            Flow = flow;
            _loop = Task.Run(() => client.RunAgentAsync("bench-" + isolation, once: false,
                started: r => _claimed[r.Id] = Stopwatch.GetTimestamp(),
                ended: r => Ended(r.Id).TrySetResult(r),
                cancellationToken: _stop.Token, isolation: isolation));
        }

        public FlowClient Client { get; }
        public FlowRecord Flow { get; }

        private TaskCompletionSource<FlowRunRecord> Ended(Guid id) => _ended.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

        /// <summary>Queues one run and waits for its end: ms from its claim to its first task's body.</summary>
        public async Task<double> RunOnceAsync(CancellationToken cancellationToken)
        {
            var run = await Client.QueueRunAsync(Flow, null, null, cancellationToken).ConfigureAwait(false);
            var done = await Ended(run.Id).Task.WaitAsync(TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
            if (_loop.IsFaulted)
            {
                await _loop.ConfigureAwait(false);
            }
            if (done.State != RunState.Success)
            {
                throw new InvalidOperationException($"Run {run.Id} ended {done.State}: {done.Error}");
            }
            var first = await FirstTaskStartedAsync(Client, run.Id, cancellationToken).ConfigureAwait(false);
            return Stopwatch.GetElapsedTime(_claimed[run.Id], first).TotalMilliseconds;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            Client.Dispose();
            _stop.Dispose();
        }
    }
}

/// <summary>An agent of the given isolation, started once; a repetition times M runs one after the other.</summary>
internal sealed class AgentStartCase(IsolationSuite suite, string id, RunIsolation isolation, string title) : BenchCase
{
    private IsolationSuite.Agent? _agent;

    public override string Id => id;
    public override string Title => title;
    public override string OperationName => "run";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        _agent ??= await suite.StartAgentAsync(id, isolation, cancellationToken).ConfigureAwait(false);
        var m = warmup ? 2 : suite.Runs;
        var latencies = new List<double>(m);
        var cpu = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < m; i++)
        {
            latencies.Add(await _agent.RunOnceAsync(cancellationToken).ConfigureAwait(false));
        }
        var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / m;
        return new Sample(Stats.Median(latencies), cpuMs, 1, null, new Dictionary<string, IReadOnlyList<double>> { ["claim -> first task (ms)"] = latencies });
    }
}

/// <summary>
/// A worker process started for each run (no warm worker): the run claimed here and executed with
/// FlowClient.ExecuteClaimedAsync(isolation: Process), whose worker is started after the claim: the worker-process start
/// overhead.
/// </summary>
internal sealed class ColdWorkerCase(IsolationSuite suite) : BenchCase
{
    private (FlowClient Client, FlowRecord Flow)? _home;

    public override string Id => "worker-cold";
    public override string Title => "claim -> first task, run in a worker process started for it";
    public override string OperationName => "run";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        if (_home is null)
        {
            _home = await suite.NewHomeAsync("cold", cancellationToken).ConfigureAwait(false);
            suite.Own(_home.Value.Client);
        }
        var (client, flow) = _home.Value;
        var m = warmup ? 1 : suite.Runs;
        var latencies = new List<double>(m);
        var cpu = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < m; i++)
        {
            var queued = await client.QueueRunAsync(flow, null, null, cancellationToken).ConfigureAwait(false);
            var claimed = await client.Backend.ClaimRunAsync("bench-cold", queued.Id, null, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Run {queued.Id} could not be claimed.");
            var at = Stopwatch.GetTimestamp();
            var done = await client.ExecuteClaimedAsync(claimed, "bench-cold", null, cancellationToken, RunIsolation.Process).ConfigureAwait(false);
            if (done.State != RunState.Success)
            {
                throw new InvalidOperationException($"Run {queued.Id} ended {done.State}: {done.Error}");
            }
            latencies.Add(Stopwatch.GetElapsedTime(at, await IsolationSuite.FirstTaskStartedAsync(client, queued.Id, cancellationToken).ConfigureAwait(false)).TotalMilliseconds);
        }
        var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / m;
        return new Sample(Stats.Median(latencies), cpuMs, 1, null, new Dictionary<string, IReadOnlyList<double>> { ["claim -> first task (ms)"] = latencies });
    }
}
