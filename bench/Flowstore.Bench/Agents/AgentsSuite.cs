using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Flowstore.Backend.Http;
using Flowstore.Bench.Harness;
using Flowstore.Bench.Team;
using Flowstore.Engine;

namespace Flowstore.Bench.Agents;

/// <summary>
/// Remote agents (issue 16, Bench): the real Flowstore.Server as a process (PostgreSQL by default) and agents as
/// processes of their own (this harness in agent mode, each with its own home and HTTP client).
/// (a) A queue of N no-op runs drained by A agents (and by one, the baseline): runs/s, claim latency, and a check
/// that no run was executed twice. (b) The shape peers publish (Windmill's comparison): a chain of 40 lightweight
/// tasks and a chain of 10 long ones (recursive Fibonacci, ~10 ms and a few hundred ms each) submitted through the
/// server to an idle remote agent: total time, the task bodies' own time, and the orchestration share.
/// </summary>
public sealed class AgentsSuite : BenchSuite
{
    internal const string Project = "BenchAgents";
    internal const string DrainFlow = "bench-drain";
    internal const string DrainLabel = "drain";
    internal const string PeersLabel = "peers";
    internal const string ClaimDetail = "claim (ms)";

    private readonly BenchOptions _options;
    private readonly string _root;
    private readonly Dictionary<string, object> _facts = new();
    private readonly List<AgentProcess> _drainAgents = new();
    private AgentProcess? _peersAgent;
    private int _nextN;

    public AgentsSuite(BenchOptions options)
    {
        _options = options;
        _root = Path.Combine(Path.GetTempPath(), "flowstore-bench-agents-" + Guid.NewGuid().ToString("N")[..12]);
        Cases =
        [
            new DrainCase(this, agents: 1),
            new DrainCase(this, agents: options.Agents),
            new PeersCase(this, light: true),
            new PeersCase(this, light: false),
        ];
        var drainA = $"drain-{options.Agents}";
        Comparisons =
        [
            new ThroughputComparison($"(a) runs/s, {options.Agents} agents", drainA),
            new ThroughputComparison("(a) runs/s, 1 agent", "drain-1"),
            new RatioComparison($"(a) drain time, {options.Agents} agents/1 agent", drainA, "drain-1"),
            new PercentileComparison($"(a) claim p50, {options.Agents} agents", drainA, ClaimDetail, 0.50),
            new PercentileComparison($"(a) claim p99, {options.Agents} agents", drainA, ClaimDetail, 0.99),
            new CountComparison("(a) runs executed twice (the harness fails on any)", () => ExecutedTwice),
            new DetailMedianComparison("(b) 40 light tasks: orchestration share", "peers-light", PeersCase.ShareDetail, "%"),
            new DetailMedianComparison("(b) 10 long tasks: orchestration share", "peers-long", PeersCase.ShareDetail, "%", 1.0),
        ];
    }

    public override string Name => "agents";

    public override string Description =>
        $"Flowstore.Server ({Backend}) with agents as processes (runs isolated: {_options.Isolation}): {_options.DrainRuns} no-op runs drained by {_options.Agents} agents and by 1; " +
        "chains of 40 light and 10 long Fibonacci tasks on a remote agent";

    public override IReadOnlyList<BenchCase> Cases { get; }

    public override IReadOnlyList<Comparison> Comparisons { get; }

    public override IReadOnlyDictionary<string, object> Parameters => _facts;

    internal BenchOptions Options => _options;

    /// <summary>The server's backend: PostgreSQL unless --server-backend Sqlite was given.</summary>
    private string Backend => _options.ServerBackendGiven ? _options.ServerBackend : "Postgres";

    /// <summary>False when the suite would need PostgreSQL and no connection string was given.</summary>
    public static bool CanRun(BenchOptions options)
        => (options.ServerBackendGiven && options.ServerBackend == "Sqlite") || options.PostgresConnectionString is not null
           || Environment.GetEnvironmentVariable("FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING") is not null;

    internal ServerProcess Server { get; private set; } = null!;

    internal FlowClient Client { get; private set; } = null!;

    internal FlowRecord Drain { get; private set; } = null!;

    internal FlowRecord PeersLight { get; private set; } = null!;

    internal FlowRecord PeersLong { get; private set; } = null!;

    internal IReadOnlyList<AgentProcess> DrainAgents => _drainAgents;

    internal string ExecutedFolder => Path.Combine(_root, "executed");

    internal int ExecutedTwice;

    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        var connection = Backend == "Postgres"
            ? _options.PostgresConnectionString ?? Environment.GetEnvironmentVariable("FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING")
              ?? throw new InvalidOperationException("The agents suite runs the server on PostgreSQL: give --postgres CONNECTION or set FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING " +
                                                     "(tests/servers/Start-Postgres.ps1), or --server-backend Sqlite.")
            : null;
        if (connection is not null)
        {
            // A database of its own, so that the queue holds only this suite's runs.
            connection = await CreateDatabaseAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        var started = Stopwatch.StartNew();
        Server = await ServerProcess.StartAsync(Path.Combine(_root, "server-home"), Backend, connection, cancellationToken).ConfigureAwait(false);
        _facts["server"] = $"Flowstore.Server pid {Server.ProcessId} at {Server.Url} over {Backend} (started and healthy in {started.ElapsedMilliseconds} ms)";
        Client = new FlowClient(new FlowClientOptions { Home = Path.Combine(_root, "client-home"), Backend = new HttpFlowBackend(Server.Url, null) })
        {
            Timing = new RunTiming { PollInterval = TimeSpan.FromMilliseconds(20) },
        };
        await Client.CreateProjectAsync(Project, "Flowstore.Bench agents", cancellationToken).ConfigureAwait(false);

        Directory.CreateDirectory(ExecutedFolder);
        var (light, lightMs) = _options.FibLight is { } l ? (l, FibMs(l)) : Calibrate(TimeSpan.FromMilliseconds(10));
        var (heavy, heavyMs) = _options.FibLong is { } h ? (h, FibMs(h)) : Calibrate(TimeSpan.FromMilliseconds(300));
        _facts["fibonacci"] = $"light task fib({light}) ≈ {lightMs:0.#} ms, long task fib({heavy}) ≈ {heavyMs:0.#} ms (measured in the harness at setup)";
        Drain = await RegisterAsync("drain.cs", DrainScript(ExecutedFolder), DrainFlow, cancellationToken).ConfigureAwait(false);
        PeersLight = await RegisterAsync("peers-light.cs", PeersScript("peers-light", 40, light), "peers-light", cancellationToken).ConfigureAwait(false);
        PeersLong = await RegisterAsync("peers-long.cs", PeersScript("peers-long", 10, heavy), "peers-long", cancellationToken).ConfigureAwait(false);

        // The agents: processes of their own, each with a home of its own. Each drain agent runs one run untimed first
        // (its compile cache then holds the drain script, as on an agent that has run the flow before).
        var poll = _options.AgentPoll.ToString("0.###", CultureInfo.InvariantCulture);
        for (var i = 0; i < _options.Agents; i++)
        {
            var agent = await AgentProcess.StartAsync(Server.Url, $"drain-{i + 1}", Path.Combine(_root, $"agent-{i + 1}"), [DrainLabel], _options.Isolation,
                new Dictionary<string, string>(), cancellationToken).ConfigureAwait(false);
            _drainAgents.Add(agent);
            await QueueDrainRunsAsync(1, cancellationToken).ConfigureAwait(false);
            await agent.SendAsync("drain").ConfigureAwait(false);
            var answer = await agent.ReadAnswerAsync(TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
            if (answer.GetProperty("runs").GetArrayLength() != 1)
            {
                throw new InvalidOperationException($"Agent {agent.Name} ran {answer.GetProperty("runs").GetArrayLength()} runs of a queue of 1.");
            }
        }
        _peersAgent = await AgentProcess.StartAsync(Server.Url, "peers", Path.Combine(_root, "agent-peers"), [PeersLabel], _options.Isolation,
            new Dictionary<string, string> { ["FLOWSTORE_POLL_INTERVAL"] = poll }, cancellationToken).ConfigureAwait(false);
        await _peersAgent.SendAsync("serve").ConfigureAwait(false);
        await _peersAgent.ReadAnswerAsync(TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        _facts["agents"] = $"{_options.Agents} drain agents (label {DrainLabel}, pids {string.Join(", ", _drainAgents.Select(a => a.ProcessId))}), " +
                           $"each told to drain the queue (RunAgentAsync once) when a repetition's runs are queued; one peers agent " +
                           $"(label {PeersLabel}, pid {_peersAgent.ProcessId}) serving all along, polling every {poll} s when idle";
        _facts["isolation"] = _options.Isolation == "Process"
            ? "Process: each agent executes each run in a worker process (one kept warm), as Start-FlowAgent does by default"
            : "InProcess: each agent executes the runs in its own process (Start-FlowAgent -Isolation InProcess)";
    }

    private async Task<FlowRecord> RegisterAsync(string file, string text, string flowName, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_root, "scripts", file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, text, cancellationToken).ConfigureAwait(false);
        var options = new RegisterOptions { Project = Project, NoHostLabel = true };
        foreach (var plan in await Client.PlanAsync(path, options, null, cancellationToken).ConfigureAwait(false))
        {
            await Client.ApplyAsync(plan, options, null, cancellationToken).ConfigureAwait(false);
        }
        return await Client.GetFlowAsync(flowName, Project, null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> CreateDatabaseAsync(string connection, CancellationToken cancellationToken)
    {
        var name = "flowstore_bench_" + Guid.NewGuid().ToString("N")[..12];
        await using var source = Npgsql.NpgsqlDataSource.Create(connection);
        await using var command = source.CreateCommand($"CREATE DATABASE {name};");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return new Npgsql.NpgsqlConnectionStringBuilder(connection) { Database = name }.ConnectionString;
    }

    /// <summary>Queues <paramref name="count"/> runs of the drain flow (8 at a time), each with its own n; returns (run id, n).</summary>
    internal async Task<IReadOnlyDictionary<Guid, int>> QueueDrainRunsAsync(int count, CancellationToken cancellationToken)
    {
        var first = Interlocked.Add(ref _nextN, count) - count;
        var queued = new System.Collections.Concurrent.ConcurrentDictionary<Guid, int>();
        await Parallel.ForEachAsync(Enumerable.Range(first, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (n, ct) =>
            {
                var run = await Client.QueueRunAsync(Drain, new Dictionary<string, object?> { ["n"] = n }, null, ct).ConfigureAwait(false);
                queued[run.Id] = n;
            }).ConfigureAwait(false);
        return queued;
    }

    /// <summary>How often each n was executed, from the lines the runs appended (one file per agent process).</summary>
    internal Dictionary<int, int> ExecutedCounts()
    {
        var counts = new Dictionary<int, int>();
        foreach (var file in Directory.EnumerateFiles(ExecutedFolder))
        {
            foreach (var line in File.ReadLines(file))
            {
                if (int.TryParse(line, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                {
                    counts[n] = counts.GetValueOrDefault(n) + 1;
                }
            }
        }
        return counts;
    }

    /// <summary>The drain flow: one task that appends its run's n to a file of the agent process (no-op otherwise).</summary>
    internal static string DrainScript(string folder) => $$"""
        // Flowstore.Bench, suite `agents`: a no-op run; its one task notes that it ran (n), to catch a run executed twice.
        using Flowstore;

        var flow = new Flow("{{DrainFlow}}");
        flow.Labels.Add("{{DrainLabel}}");
        var n = flow.Parameter<int>("n");
        flow.Task("noop", (int i) => File.AppendAllText(Path.Combine({{Quote(folder)}}, "executed-" + Environment.ProcessId + ".txt"), i + "\n"), n);
        """;

    /// <summary>
    /// A chain of <paramref name="tasks"/> tasks, each computing fib(<paramref name="fib"/>) recursively and timing its own
    /// body; each passes the running sum of the bodies' time on, and the last logs it ("bodies X ms").
    /// </summary>
    internal static string PeersScript(string name, int tasks, int fib)
    {
        var text = new StringBuilder($$"""
            // Flowstore.Bench, suite `agents`: the peers' shape, {{tasks}} tasks in a chain, each fib({{fib}}).
            using System.Diagnostics;
            using System.Globalization;
            using Flowstore;

            var flow = new Flow("{{name}}");
            flow.Labels.Add("{{PeersLabel}}");
            var t = flow.Task("t01", () => Body(0));

            """);
        for (var i = 2; i < tasks; i++)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"t = flow.Task(\"t{i:D2}\", (double before) => Body(before), t);");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $$"""
            flow.Task("t{{tasks:D2}}", (double before) =>
            {
                var bodies = Body(before);
                Log.Info("bodies " + bodies.ToString("R", CultureInfo.InvariantCulture) + " ms");
                return bodies;
            }, t);

            static long Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);

            static double Body(double before)
            {
                var started = Stopwatch.GetTimestamp();
                var f = Fib({{fib}});
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (f < 0)
                {
                    throw new InvalidOperationException("overflow");
                }
                return before + ms;
            }
            """);
        return text.ToString();
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);

    /// <summary>The fastest of 3 timings of fib(n) (ms), compiled fully optimized as the script's task bodies are.</summary>
    private static double FibMs(int n)
    {
        var best = double.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            var started = Stopwatch.GetTimestamp();
            GC.KeepAlive(Fib(n));
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return best;
    }

    /// <summary>The n whose fib(n) takes closest to the target on this machine now.</summary>
    private static (int N, double Ms) Calibrate(TimeSpan target)
    {
        var (n, ms) = (20, FibMs(20));
        while (ms < target.TotalMilliseconds && n < 45)
        {
            var next = FibMs(n + 1);
            if (Math.Abs(next - target.TotalMilliseconds) > Math.Abs(ms - target.TotalMilliseconds) && next > target.TotalMilliseconds)
            {
                break;
            }
            (n, ms) = (n + 1, next);
        }
        return (n, ms);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_peersAgent is not null)
        {
            await _peersAgent.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var agent in _drainAgents)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }
        Client?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync().ConfigureAwait(false);
        }
        if (!_options.KeepTemp && Directory.Exists(_root))
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"agents: could not delete {_root}: {e.Message}");
            }
        }
    }
}

/// <summary>
/// (a) N no-op runs queued (untimed, through the server), then drained by A agent processes at once: timed from telling
/// the agents to drain until the last one answers that the queue has nothing left for it. Every queued run must have
/// been executed once, by one agent, and ended Success; each claim that returned a run is a detail.
/// </summary>
internal sealed class DrainCase(AgentsSuite suite, int agents) : BenchCase
{
    public override string Id => $"drain-{agents}";

    public override string Title => $"{suite.Options.DrainRuns} queued no-op runs drained by {agents} agent process{(agents == 1 ? "" : "es")} through the server";

    public override string OperationName => "run";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var count = warmup ? 20 : suite.Options.DrainRuns;
        var queued = await suite.QueueDrainRunsAsync(count, cancellationToken).ConfigureAwait(false);
        var drainers = suite.DrainAgents.Take(agents).ToArray();
        var meter = Meter.Start();
        foreach (var agent in drainers)
        {
            await agent.SendAsync("drain").ConfigureAwait(false);
        }
        var answers = await Task.WhenAll(drainers.Select(a => a.ReadAnswerAsync(TimeSpan.FromMinutes(30), cancellationToken))).ConfigureAwait(false);
        var sample = meter.Stop(count);

        var ran = answers.SelectMany(a => a.GetProperty("runs").EnumerateArray())
            .Select(r => (Id: r.GetProperty("Id").GetGuid(), State: r.GetProperty("State").GetString(), Error: r.GetProperty("Error").GetString())).ToArray();
        var failed = ran.Where(r => r.State != "Success").ToArray();
        if (failed.Length > 0)
        {
            throw new InvalidOperationException($"{failed.Length} drain runs did not succeed, e.g. {failed[0].Id}: {failed[0].State} {failed[0].Error}");
        }
        var twice = ran.GroupBy(r => r.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        var executed = suite.ExecutedCounts();
        var ns = queued.Values.ToHashSet();
        var executedTwice = executed.Where(e => ns.Contains(e.Key) && e.Value > 1).Select(e => e.Key).ToArray();
        if (twice.Length > 0 || executedTwice.Length > 0)
        {
            Interlocked.Add(ref suite.ExecutedTwice, Math.Max(twice.Length, executedTwice.Length));
            throw new InvalidOperationException($"RUNS EXECUTED TWICE: {twice.Length} run ids answered by two agents ({string.Join(", ", twice.Take(5))}), " +
                                                $"{executedTwice.Length} runs whose task ran twice (n = {string.Join(", ", executedTwice.Take(5))}).");
        }
        var missing = queued.Keys.Except(ran.Select(r => r.Id)).ToArray();
        var notExecuted = ns.Where(n => executed.GetValueOrDefault(n) != 1).ToArray();
        if (missing.Length > 0 || notExecuted.Length > 0 || ran.Length != count)
        {
            throw new InvalidOperationException($"Of {count} queued runs the agents executed {ran.Length}; {missing.Length} queued runs were not among them, " +
                                                $"{notExecuted.Length} runs' tasks did not run.");
        }
        var claims = answers.SelectMany(a => a.GetProperty("claims").EnumerateArray().Select(c => c.GetDouble())).ToArray();
        return sample with { Details = new Dictionary<string, IReadOnlyList<double>> { [AgentsSuite.ClaimDetail] = claims } };
    }
}

/// <summary>
/// (b) One run of a peers-shaped flow submitted through the server to the idle, polling peers agent: total = from the
/// submission to the run's end as the server recorded it; the bodies' own time is what the tasks measured (logged by
/// the last one); assignment = submission to claim (includes the agent's idle poll); transitions = the rest of the run
/// (loading the cached script, the executor, heartbeats, log and state sends, the completion).
/// </summary>
internal sealed class PeersCase(AgentsSuite suite, bool light) : BenchCase
{
    public const string ShareDetail = "orchestration (%)";

    public override string Id => light ? "peers-light" : "peers-long";

    public override string Title => light
        ? "a chain of 40 light Fibonacci tasks through the server on a remote agent (submission -> end)"
        : "a chain of 10 long Fibonacci tasks through the server on a remote agent (submission -> end)";

    public override string OperationName => "task";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var flow = light ? suite.PeersLight : suite.PeersLong;
        var client = suite.Client;
        var meter = Meter.Start();
        var submitted = DateTimeOffset.UtcNow;
        var run = await client.QueueRunAsync(flow, null, null, cancellationToken).ConfigureAwait(false);
        run = await client.WaitRunAsync(run.Id, TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
        var sample = meter.Stop(light ? 40 : 10);
        if (run.State != RunState.Success)
        {
            throw new InvalidOperationException($"The {flow.Name} run {run.Id} ended {run.State}: {run.Error}");
        }
        var log = await client.GetRunLogAsync(run.Id, cancellationToken).ConfigureAwait(false);
        var line = log.Select(e => e.Message).LastOrDefault(m => m.StartsWith("bodies ", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException($"The {flow.Name} run {run.Id} logged no 'bodies' line.");
        var bodies = double.Parse(line["bodies ".Length..^" ms".Length], CultureInfo.InvariantCulture);
        var total = (run.Ended!.Value - submitted).TotalMilliseconds;
        var assignment = (run.Started!.Value - submitted).TotalMilliseconds;
        var transitions = total - assignment - bodies;
        return sample with
        {
            // The figure: the total as the server recorded it (the wait's last poll is not in it).
            ElapsedMs = total,
            Details = new Dictionary<string, IReadOnlyList<double>>
            {
                ["total (ms)"] = [total],
                ["bodies (ms)"] = [bodies],
                ["assignment (ms)"] = [assignment],
                ["transitions (ms)"] = [transitions],
                [ShareDetail] = [(total - bodies) * 100 / total],
            },
        };
    }
}

/// <summary>The median over every operation of every repetition of one detail figure of a case.</summary>
public sealed record DetailMedianComparison(string Label, string Case, string Detail, string DetailUnit, double? TargetValue = null)
    : Comparison(Label, TargetValue)
{
    public override string Unit => DetailUnit;

    public override double Compute(IReadOnlyDictionary<string, CaseResult> results)
        => Stats.Median(results[Case].Samples.Where(s => s.Details is not null).SelectMany(s => s.Details![Detail]).ToArray());
}
