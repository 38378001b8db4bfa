using System.Diagnostics;
using Flowstore.Bench.Harness;
using Flowstore.Engine;

namespace Flowstore.Bench.Runs;

/// <summary>
/// Runs (issue 3, item 6). Per-task overhead: FlowExecutor.RunAsync on an already built flow of N no-op tasks (a chain,
/// and a fan-out/fan-in) against calling the same delegates directly. Start latency with a cached script on the
/// embedded backend: from the run-start call to the moment the first task's body starts, at the engine level
/// (FlowClient.RunNowAsync) and at the PowerShell level (Start-FlowRun -Wait in a hosted runspace with the module
/// loaded; a child process, see <see cref="PowerShellStartCase"/>).
/// </summary>
public sealed class RunsSuite : BenchSuite
{
    public const string ProjectName = "BenchRuns";
    public const string StartFlowName = "bench-start";

    /// <summary>The AppContext key the start flow's first task stores its Stopwatch timestamp under (process-wide).</summary>
    public const string SignalKey = "Flowstore.Bench.FirstTaskStarted";

    /// <summary>
    /// The start flow: one task whose body first takes a Stopwatch timestamp, then stores it where the harness can read
    /// it from any load context of the process (AppContext data lives in CoreLib, shared by the script's collectible
    /// context, the module's engine context and the default one). Stopwatch timestamps are one monotonic clock.
    /// </summary>
    public const string StartScript = """
        // Flowstore.Bench, suite `runs`: the start-latency flow. Its first task records when its body started.
        using Flowstore;

        var flow = new Flow("bench-start");
        flow.Task("first", () =>
        {
            AppContext.SetData("Flowstore.Bench.FirstTaskStarted", System.Diagnostics.Stopwatch.GetTimestamp());
            return 0;
        });
        """;

    private readonly BenchOptions _options;
    private readonly string _root;
    private readonly PowerShellStartCase? _pwsh;
    private readonly string? _pwshSkipped;
    private readonly Dictionary<string, object> _facts = new();

    public RunsSuite(BenchOptions options)
    {
        _options = options;
        _root = Path.Combine(Path.GetTempPath(), "flowstore-bench-runs-" + Guid.NewGuid().ToString("N")[..12]);
        Flows = new TaskFlows(options.Tasks);
        ScriptPath = Path.Combine(_root, "scripts", "bench-start.cs");

        var cases = new List<BenchCase>
        {
            new DirectCase(this, Shape.Chain),
            new ExecutorCase(this, Shape.Chain),
            new DirectCase(this, Shape.FanOut),
            new ExecutorCase(this, Shape.FanOut),
            new EngineStartCase(this),
        };
        var comparisons = new List<Comparison>
        {
            new OverheadPerOperationComparison("per task, chain", "chain", "direct-chain", 50),
            new OverheadPerOperationComparison("per task, fan-out/fan-in", "fanout", "direct-fanout", 50),
            new AbsoluteComparison("start, engine (RunNowAsync)", "start-engine", 50),
        };

        _pwshSkipped = PowerShellStartCase.WhyUnavailable(Program.RepositoryRoot());
        if (_pwshSkipped is null)
        {
            _pwsh = new PowerShellStartCase(this);
            cases.Add(_pwsh);
            comparisons.Add(new AbsoluteComparison("start, Start-FlowRun -Wait", "start-pwsh", 50));
        }
        else
        {
            Console.Error.WriteLine($"runs: the PowerShell-level start case is skipped: {_pwshSkipped}");
        }
        if (options.Profile)
        {
            cases.Add(new StartPhasesCase(this));
            cases.Add(new EngineStartFreshClientCase(this));
            comparisons.Add(new RatioComparison("start-phases/start-engine", "start-phases", "start-engine"));
            comparisons.Add(new RatioComparison("start-fresh/start-engine", "start-fresh", "start-engine"));
            if (_pwsh is not null)
            {
                comparisons.Add(new RatioComparison("start-pwsh/start-fresh", "start-pwsh", "start-fresh"));
            }
        }
        Cases = cases;
        Comparisons = comparisons;
    }

    public override string Name => "runs";

    public override string Description =>
        $"per-task overhead of {_options.Tasks} no-op tasks (chain, fan-out/fan-in) vs direct calls; start latency to the first task (engine, Start-FlowRun -Wait)";

    public override IReadOnlyList<BenchCase> Cases { get; }

    public override IReadOnlyList<Comparison> Comparisons { get; }

    public override IReadOnlyDictionary<string, object> Parameters
    {
        get
        {
            var p = new Dictionary<string, object>
            {
                ["tasks per flow"] = _options.Tasks,
                ["chain"] = $"t0 = () => 0, then {_options.Tasks - 1} x (int x) => x, each taking the previous task's result",
                ["fan-out/fan-in"] = $"source () => 0; {_options.Tasks - 2} x (int x) => x taking the source; sink () => 0 with TaskOptions.After = all {_options.Tasks - 2} (ordering only)",
                ["executor options"] = $"default (MaxParallelism {new ExecutionOptions().MaxParallelism}, no observer)",
                ["start runs per repetition (median reported)"] = _options.StartRuns,
                ["start-pwsh"] = _pwshSkipped is null ? "Start-FlowRun in a child process hosting PowerShell (see bench/README.md)" : "SKIPPED: " + _pwshSkipped,
                ["temp root"] = _options.KeepTemp ? _root : "(deleted at the end)",
            };
            foreach (var (k, v) in _facts)
            {
                p[k] = v;
            }
            return p;
        }
    }

    internal TaskFlows Flows { get; }

    internal string ScriptPath { get; }

    internal string Root => _root;

    internal int StartRuns => _options.StartRuns;

    internal bool Profile => _options.Profile;

    internal FlowClient? Client { get; private set; }

    internal FlowRecord? StartFlow { get; private set; }

    internal string EngineHome => Path.Combine(_root, "engine-home");

    /// <summary>Under --profile: a home with the start flow registered, for the per-cmdlet client probe.</summary>
    internal string ProbeHome => Path.Combine(_root, "probe-home");

    /// <summary>What one signal costs: the time at most lost between a task body's start and its timestamp.</summary>
    internal double TimestampCostMs { get; private set; }

    internal void AddFact(string key, object value) => _facts[key] = value;

    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        Flows.Build();

        Directory.CreateDirectory(Path.GetDirectoryName(ScriptPath)!);
        await File.WriteAllTextAsync(ScriptPath, StartScript, cancellationToken).ConfigureAwait(false);

        // Engine level: one client on its own home, the script registered (Local script storage), one untimed run
        // (compiles the script into the compile cache and JITs the path).
        Client = new FlowClient(new FlowClientOptions { Home = EngineHome });
        await RegisterStartFlowAsync(Client, cancellationToken).ConfigureAwait(false);
        StartFlow = await Client.GetFlowAsync(StartFlowName, ProjectName, null, cancellationToken).ConfigureAwait(false);
        if (_options.Profile)
        {
            using var probe = new FlowClient(new FlowClientOptions { Home = ProbeHome });
            await RegisterStartFlowAsync(probe, cancellationToken).ConfigureAwait(false);
        }
        await TimeEngineStartAsync(cancellationToken).ConfigureAwait(false);

        TimestampCostMs = MeasureSignalCost();
        AddFact("signal", $"Stopwatch.GetTimestamp() {TimestampCostMs * 1e6:F0} ns (subtracted from each latency), " +
                          $"then AppContext.SetData {MeasureSetDataCostNs():F0} ns (after the timestamp: not in the latency)");

        if (_pwsh is not null)
        {
            await _pwsh.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RegisterStartFlowAsync(FlowClient client, CancellationToken cancellationToken)
    {
        await client.CreateProjectAsync(ProjectName, "Flowstore.Bench runs", cancellationToken).ConfigureAwait(false);
        var options = new RegisterOptions { Project = ProjectName };
        foreach (var plan in await client.PlanAsync(ScriptPath, options, null, cancellationToken).ConfigureAwait(false))
        {
            var registered = await client.ApplyAsync(plan, options, null, cancellationToken).ConfigureAwait(false);
            if (registered.Status != RegistrationStatus.Registered)
            {
                throw new InvalidOperationException($"The start flow was not registered: {registered.Status} {registered.Error}");
            }
        }
    }

    /// <summary>One engine-level run: (ms from the RunNowAsync call to the first task's timestamp, ms of the whole call).</summary>
    internal async Task<(double FirstTaskMs, double CallMs)> TimeEngineStartAsync(CancellationToken cancellationToken)
    {
        AppContext.SetData(SignalKey, null);
        var start = Stopwatch.GetTimestamp();
        var run = await Client!.RunNowAsync(StartFlow!, null, null, null, cancellationToken).ConfigureAwait(false);
        var end = Stopwatch.GetTimestamp();
        if (run.State != RunState.Success)
        {
            throw new InvalidOperationException($"The start flow's run ended {run.State}: {run.Error}");
        }
        var first = ReadSignal();
        return (Stopwatch.GetElapsedTime(start, first).TotalMilliseconds - TimestampCostMs, Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
    }

    internal static long ReadSignal()
        => AppContext.GetData(SignalKey) is long t ? t
            : throw new InvalidOperationException("The start flow's first task did not record its start (AppContext data missing).");

    private static double MeasureSignalCost()
    {
        const int n = 1_000_000;
        long sink = 0;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            sink += Stopwatch.GetTimestamp();
        }
        GC.KeepAlive(sink);
        return sw.Elapsed.TotalMilliseconds / n;
    }

    private static double MeasureSetDataCostNs()
    {
        const int n = 100_000;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            AppContext.SetData(SignalKey, Stopwatch.GetTimestamp());
        }
        return sw.Elapsed.TotalMilliseconds * 1e6 / n;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_pwsh is not null)
        {
            await _pwsh.DisposeAsync().ConfigureAwait(false);
        }
        Client?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_options.KeepTemp && Directory.Exists(_root))
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"runs: could not delete {_root}: {e.Message}");
            }
        }
    }
}

internal enum Shape
{
    Chain,
    FanOut,
}

/// <summary>
/// The no-op delegates and the two flows built from them (once, untimed). The direct baseline calls exactly these
/// delegate instances, in the order the flow's data dependencies allow.
/// </summary>
internal sealed class TaskFlows(int tasks)
{
    private static int Zero() => 0;
    private static int Identity(int x) => x;

    public int Count => tasks;

    /// <summary>Chain: Source, then Links[0..N-2], each fed the previous result.</summary>
    public Func<int> ChainSource { get; } = Zero;
    public Func<int, int>[] ChainLinks { get; } = Enumerable.Range(0, tasks - 1).Select(_ => new Func<int, int>(Identity)).ToArray();

    /// <summary>Fan-out/fan-in: Source, Middles[0..N-3] each fed the source's result, then Sink.</summary>
    public Func<int> FanSource { get; } = Zero;
    public Func<int, int>[] FanMiddles { get; } = Enumerable.Range(0, tasks - 2).Select(_ => new Func<int, int>(Identity)).ToArray();
    public Func<int> FanSink { get; } = Zero;

    public Flow Chain { get; private set; } = null!;
    public Flow FanOut { get; private set; } = null!;

    /// <summary>Keeps the direct calls' results observable.</summary>
    public long Sink;

    public void Build()
    {
        var chain = new Flow("bench-chain");
        TaskHandle<int> previous = chain.Task("t00000", ChainSource);
        for (var i = 0; i < ChainLinks.Length; i++)
        {
            previous = chain.Task($"t{i + 1:D5}", ChainLinks[i], previous);
        }
        Chain = chain;

        // A task takes at most 4 inputs, so the fan-in is ordering-only: the sink runs after all middles succeeded.
        var fan = new Flow("bench-fanout");
        var source = fan.Task("source", FanSource);
        var middles = new TaskHandle[FanMiddles.Length];
        for (var i = 0; i < FanMiddles.Length; i++)
        {
            middles[i] = fan.Task($"m{i:D5}", FanMiddles[i], source);
        }
        fan.Task("sink", FanSink, new TaskOptions { After = middles });
        FanOut = fan;
    }

    public Flow For(Shape shape) => shape == Shape.Chain ? Chain : FanOut;

    public void CallDirectly(Shape shape)
    {
        if (shape == Shape.Chain)
        {
            var v = ChainSource();
            foreach (var link in ChainLinks)
            {
                v = link(v);
            }
            Sink += v;
        }
        else
        {
            var s = FanSource();
            long sum = 0;
            foreach (var middle in FanMiddles)
            {
                sum += middle(s);
            }
            Sink += sum + FanSink();
        }
    }
}

/// <summary>Baseline: the same delegates called directly, in the same order.</summary>
internal sealed class DirectCase(RunsSuite suite, Shape shape) : BenchCase
{
    public override string Id => shape == Shape.Chain ? "direct-chain" : "direct-fanout";
    public override string Title => shape == Shape.Chain ? "chain's delegates called directly (baseline)" : "fan-out's delegates called directly (baseline)";
    public override string OperationName => "task";

    public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var meter = Meter.Start();
        suite.Flows.CallDirectly(shape);
        return Task.FromResult(meter.Stop(suite.Flows.Count));
    }
}

/// <summary>FlowExecutor.RunAsync on the already built flow, default options (no observer).</summary>
internal sealed class ExecutorCase(RunsSuite suite, Shape shape) : BenchCase
{
    public override string Id => shape == Shape.Chain ? "chain" : "fanout";
    public override string Title => shape == Shape.Chain ? "FlowExecutor.RunAsync, chain" : "FlowExecutor.RunAsync, fan-out/fan-in";
    public override string OperationName => "task";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var flow = suite.Flows.For(shape);
        var meter = Meter.Start();
        var result = await FlowExecutor.RunAsync(flow, null, null, cancellationToken).ConfigureAwait(false);
        var sample = meter.Stop(suite.Flows.Count);
        if (result.State != RunState.Success || result.Tasks.Count != suite.Flows.Count || result.Tasks.Any(t => t.State != TaskRunState.Success))
        {
            throw new InvalidOperationException($"The {Id} flow did not succeed: {result.State} {result.Error} ({result.Tasks.Count} tasks).");
        }
        return sample;
    }
}

/// <summary>
/// Engine level: FlowClient.RunNowAsync (what Start-FlowRun -Wait calls) on the registered start flow, its script
/// cached; M runs per repetition; the sample is their median time from the call to the first task's body.
/// </summary>
internal sealed class EngineStartCase(RunsSuite suite) : BenchCase
{
    public override string Id => "start-engine";
    public override string Title => "FlowClient.RunNowAsync -> first task body (cached script)";
    public override string OperationName => "run";

    public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
        => StartSample.MeasureAsync(warmup, suite.StartRuns, () => suite.TimeEngineStartAsync(cancellationToken));
}

/// <summary>
/// Under --profile: what Start-FlowRun -Wait does, with the engine calls only: a new FlowClient on the home, the flow
/// record read (GetFlowAsync), RunNowAsync; the client is disposed after the run, which clears the SQLite connection
/// pool (as every cmdlet's client does at its end), so each run opens the database again. Timed from before
/// `new FlowClient` to the first task's body. Its own home: clearing the pool of the suite's home would change
/// start-engine. The difference to start-engine is the per-cmdlet client; start-pwsh minus this is PowerShell's part.
/// </summary>
internal sealed class EngineStartFreshClientCase(RunsSuite suite) : BenchCase
{
    public override string Id => "start-fresh";
    public override string Title => "new FlowClient + GetFlowAsync + RunNowAsync -> first task (--profile)";
    public override string OperationName => "run";

    public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
        => StartSample.MeasureAsync(warmup, suite.StartRuns, async () =>
        {
            AppContext.SetData(RunsSuite.SignalKey, null);
            var start = Stopwatch.GetTimestamp();
            FlowRunRecord run;
            using (var client = new FlowClient(new FlowClientOptions { Home = suite.ProbeHome }))
            {
                var flow = await client.GetFlowAsync(RunsSuite.StartFlowName, RunsSuite.ProjectName, null, cancellationToken).ConfigureAwait(false);
                run = await client.RunNowAsync(flow, null, null, null, cancellationToken).ConfigureAwait(false);
            }
            var end = Stopwatch.GetTimestamp();
            if (run.State != RunState.Success)
            {
                throw new InvalidOperationException($"The start flow's run ended {run.State}: {run.Error}");
            }
            return (Stopwatch.GetElapsedTime(start, RunsSuite.ReadSignal()).TotalMilliseconds - suite.TimestampCostMs,
                Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
        });
}

internal static class StartSample
{
    /// <summary>
    /// A repetition of <paramref name="runs"/> runs (2 in the warm-up round), each timed by <paramref name="timeOne"/>
    /// (ms from the call to the first task's body, and of the whole call): <see cref="From"/> of them.
    /// </summary>
    public static async Task<Sample> MeasureAsync(bool warmup, int runs, Func<Task<(double FirstTaskMs, double CallMs)>> timeOne)
    {
        var m = warmup ? 2 : runs;
        var first = new List<double>(m);
        var calls = new List<double>(m);
        var cpu = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < m; i++)
        {
            var (f, c) = await timeOne().ConfigureAwait(false);
            first.Add(f);
            calls.Add(c);
        }
        var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / m;
        return From(first, calls, cpuMs);
    }

    /// <summary>A repetition of M runs: the median start latency; CPU is per whole run; every run kept as details.</summary>
    public static Sample From(IReadOnlyList<double> firstTaskMs, IReadOnlyList<double> callMs, double cpuMsPerRun)
        => new(Stats.Median(firstTaskMs), cpuMsPerRun, 1, null, new Dictionary<string, IReadOnlyList<double>>
        {
            ["call -> first task body (ms)"] = firstTaskMs,
            ["whole call, run recorded (ms)"] = callMs,
        });
}
