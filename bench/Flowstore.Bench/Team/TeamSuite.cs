using System.Diagnostics;
using Flowstore.Backend.Http;
using Flowstore.Bench.Harness;
using Flowstore.Bench.Registration;
using Flowstore.Bench.Runs;
using Flowstore.Engine;

namespace Flowstore.Bench.Team;

/// <summary>
/// Team mode (issue 15, Benchmarks): the real Flowstore.Server as a process of its own on a free port (SQLite in its
/// home, or PostgreSQL), reached through the real HTTP client, against the embedded backend in the same process:
/// (a) registration of N new files, (b) re-registration of the N unchanged files from a fresh home, (c) the start
/// latency of Start-FlowRun -Wait with one agent connected, (d) Get-Flow from C concurrent clients.
/// </summary>
public sealed class TeamSuite : BenchSuite
{
    internal const string Project = "BenchTeam";
    internal const string RegisteredProject = "BenchTeamRegistered";
    internal const string RunsProject = "BenchTeamRuns";
    private const int WarmupFirstIndex = 200_000;

    private readonly BenchOptions _options;
    private readonly BenchTemp _temp;
    private readonly Dictionary<string, object> _facts = new();
    private readonly CancellationTokenSource _agentStop = new();
    private Task? _agent;
    private int _projects;

    public TeamSuite(BenchOptions options)
    {
        _options = options;
        _temp = new BenchTemp("flowstore-bench-team-", options.KeepTemp);
        Cases =
        [
            new RegistrationCase(this, server: false),
            new RegistrationCase(this, server: true),
            new ReRegistrationCase(this),
            new StartCase(this, server: false),
            new StartCase(this, server: true),
            new GetFlowCase(this),
        ];
        Comparisons =
        [
            new RatioComparison("(a) registration, server/embedded", "reg-server", "reg-embedded", 1.30),
            new RatioComparison("(b) re-registration, fresh home/(a)", "rereg-server", "reg-server", 0.05),
            new RatioComparison("(c) start latency, server/embedded", "start-server", "start-embedded", 2.0),
            new PercentileComparison("(d) Get-Flow p50", "get-flow", GetFlowCase.Detail, 0.50),
            new PercentileComparison("(d) Get-Flow p99", "get-flow", GetFlowCase.Detail, 0.99),
            new ThroughputComparison("(d) Get-Flow requests/s", "get-flow"),
            new CountComparison("(c) runs the agent took first", () => Races),
        ];
    }

    public override string Name => "team";

    public override string Description =>
        $"Flowstore.Server ({_options.ServerBackend}) through the HTTP client vs the embedded backend: {_options.Files} files, " +
        $"start latency with one agent, Get-Flow from {_options.Clients} clients";

    public override IReadOnlyList<BenchCase> Cases { get; }

    public override IReadOnlyList<Comparison> Comparisons { get; }

    public override IReadOnlyDictionary<string, object> Parameters => _facts;

    internal ServerProcess Server { get; private set; } = null!;

    internal IReadOnlyList<string> Files { get; private set; } = Array.Empty<string>();

    internal IReadOnlyList<string> WarmupFiles { get; private set; } = Array.Empty<string>();

    internal string FilesFolder => Path.Combine(_temp.Root, "flows");

    internal string WarmupFolder => Path.Combine(_temp.Root, "warmup-flows");

    internal BenchOptions Options => _options;

    internal FlowClient? EmbeddedStartClient { get; private set; }

    internal FlowClient? ServerStartClient { get; private set; }

    internal FlowRecord? EmbeddedStartFlow { get; private set; }

    internal FlowRecord? ServerStartFlow { get; private set; }

    internal IReadOnlyList<FlowClient> GetFlowClients { get; private set; } = Array.Empty<FlowClient>();

    internal int Races;

    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        Files = FlowScriptGenerator.WriteFiles(FilesFolder, _options.Files);
        WarmupFiles = FlowScriptGenerator.WriteFiles(WarmupFolder, _options.WarmupFiles, first: WarmupFirstIndex);

        var connection = _options.ServerBackend == "Postgres"
            ? _options.PostgresConnectionString ?? Environment.GetEnvironmentVariable("FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING")
              ?? throw new InvalidOperationException("--server-backend Postgres needs --postgres CONNECTION or FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING (tests/servers/Start-Postgres.ps1).")
            : null;
        var started = Stopwatch.StartNew();
        Server = await ServerProcess.StartAsync(Path.Combine(_temp.Root, "server-home"), _options.ServerBackend, connection, cancellationToken).ConfigureAwait(false);
        _facts["server"] = $"Flowstore.Server pid {Server.ProcessId} at {Server.Url} over {_options.ServerBackend} (started and healthy in {started.ElapsedMilliseconds} ms)";

        // (b)'s project: the files registered once, untimed, from a home that is then deleted.
        foreach (var (files, folder, project) in new[] { (Files, FilesFolder, RegisteredProject), (WarmupFiles, WarmupFolder, RegisteredProject + "Warmup") })
        {
            var home = _temp.NewHome();
            using (var client = NewServerClient(home))
            {
                await client.CreateProjectAsync(project, "Flowstore.Bench team", cancellationToken).ConfigureAwait(false);
                RegistrationSuite.Expect(await RegisterFolderAsync(client, folder, files, project, cancellationToken).ConfigureAwait(false), RegistrationStatus.Registered, files.Count);
            }
            _temp.Delete(home);
        }

        // (c): the start flow registered on each backend and run once (compile cache warm), by one client kept for the suite.
        var script = Path.Combine(_temp.Root, "scripts", "bench-start.cs");
        Directory.CreateDirectory(Path.GetDirectoryName(script)!);
        await File.WriteAllTextAsync(script, RunsSuite.StartScript, cancellationToken).ConfigureAwait(false);
        EmbeddedStartClient = new FlowClient(new FlowClientOptions { Home = _temp.NewHome() });
        ServerStartClient = NewServerClient(_temp.NewHome());
        EmbeddedStartFlow = await RegisterStartFlowAsync(EmbeddedStartClient, script, cancellationToken).ConfigureAwait(false);
        ServerStartFlow = await RegisterStartFlowAsync(ServerStartClient, script, cancellationToken).ConfigureAwait(false);
        await TimeStartAsync(server: false, cancellationToken).ConfigureAwait(false);
        await TimeStartAsync(server: true, cancellationToken).ConfigureAwait(false);

        // One agent connected to the server for the whole suite, polling for queued runs as Start-FlowAgent does.
        var agent = NewServerClient(_temp.NewHome());
        _agent = Task.Run(async () =>
        {
            try
            {
                await agent.Runs.RunAgentAsync("bench-agent", once: false, cancellationToken: _agentStop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                agent.Dispose();
            }
        }, CancellationToken.None);
        _facts["agent"] = "one agent (RunAgentAsync over its own HTTP client, default poll interval) connected for the whole suite";

        // (d): C clients, each with its own HTTP client (its own connections), as C sessions or machines would have.
        GetFlowClients = Enumerable.Range(0, _options.Clients).Select(_ => NewServerClient(_temp.NewHome())).ToArray();
        _facts["get-flow"] = $"{_options.Clients} clients x {_options.Requests} requests per repetition, each Catalog.SearchAsync(name, project) " +
                             "as Get-Flow -Name -Project does, over kept-alive connections";
    }

    private static async Task<FlowRecord> RegisterStartFlowAsync(FlowClient client, string script, CancellationToken cancellationToken)
    {
        await client.CreateProjectAsync(RunsProject, "Flowstore.Bench team runs", cancellationToken).ConfigureAwait(false);
        var options = new RegisterOptions { Project = RunsProject };
        foreach (var plan in await client.PlanAsync(script, options, null, cancellationToken).ConfigureAwait(false))
        {
            await client.ApplyAsync(plan, options, null, cancellationToken).ConfigureAwait(false);
        }
        return await client.GetFlowAsync(RunsSuite.StartFlowName, RunsProject, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One Start-FlowRun -Wait (RunNowAsync): ms from the call to the first task's body, and of the whole call.</summary>
    internal async Task<(double FirstTaskMs, double CallMs)> TimeStartAsync(bool server, CancellationToken cancellationToken)
    {
        var client = server ? ServerStartClient! : EmbeddedStartClient!;
        var flow = server ? ServerStartFlow! : EmbeddedStartFlow!;
        while (true)
        {
            AppContext.SetData(RunsSuite.SignalKey, null);
            var start = Stopwatch.GetTimestamp();
            FlowRunRecord run;
            try
            {
                run = await client.RunNowAsync(flow, null, null, null, cancellationToken).ConfigureAwait(false);
            }
            catch (FlowstoreException e) when (e.ErrorId == ErrorIds.RunNotFound && server)
            {
                // The agent claimed the run between its creation and this client's claim: wait until the agent is
                // done with it (it sets the same signal), then start another.
                Interlocked.Increment(ref Races);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                continue;
            }
            var end = Stopwatch.GetTimestamp();
            if (run.State != RunState.Success)
            {
                throw new InvalidOperationException($"The start flow's run ended {run.State}: {run.Error}");
            }
            return (Stopwatch.GetElapsedTime(start, RunsSuite.ReadSignal()).TotalMilliseconds, Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
        }
    }

    internal BenchTemp Temp => _temp;

    internal string NewProject() => $"{Project}{Interlocked.Increment(ref _projects):D3}";

    internal FlowClient NewServerClient(string home)
        => new(new FlowClientOptions { Home = home, Backend = new HttpFlowBackend(Server.Url, null) });

    /// <summary>What Register-Flow does with a folder: one lookup for all files, then plan and apply each file.</summary>
    internal static async Task<List<FlowRegistration>> RegisterFolderAsync(FlowClient client, string folder, IReadOnlyList<string> files, string project,
        CancellationToken cancellationToken)
    {
        var options = new RegisterOptions { Project = project };
        var sources = files.Select(f => new RegistrationSource(f, folder)).ToArray();
        var lookup = await client.LookUpUnchangedAsync(sources, options, null, cancellationToken).ConfigureAwait(false);
        var results = new List<FlowRegistration>(files.Count);
        foreach (var source in sources)
        {
            foreach (var plan in await client.PlanAsync(source, options, lookup, null, cancellationToken).ConfigureAwait(false))
            {
                results.Add(await client.ApplyAsync(plan, options, null, cancellationToken).ConfigureAwait(false));
            }
        }
        return results;
    }

    public override async ValueTask DisposeAsync()
    {
        await _agentStop.CancelAsync().ConfigureAwait(false);
        if (_agent is not null)
        {
            await _agent.ConfigureAwait(false);
        }
        _agentStop.Dispose();
        foreach (var client in GetFlowClients)
        {
            client.Dispose();
        }
        EmbeddedStartClient?.Dispose();
        ServerStartClient?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync().ConfigureAwait(false);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_options.KeepTemp && Directory.Exists(_temp.Root))
        {
            try
            {
                Directory.Delete(_temp.Root, recursive: true);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"team: could not delete {_temp.Root}: {e.Message}");
            }
        }
    }
}

/// <summary>
/// (a) First registration of N new files, as Register-Flow does with their folder: embedded (a fresh home: new
/// database, empty caches) or through the server (a fresh client home, a new project on the server). The project is
/// created untimed. Every flow must come back Registered.
/// </summary>
internal sealed class RegistrationCase(TeamSuite suite, bool server) : BenchCase
{
    public override string Id => server ? "reg-server" : "reg-embedded";

    public override string Title => server
        ? "first registration of N new files through the server (fresh client home)"
        : "first registration of N new files, embedded SQLite (fresh home)";

    public override string OperationName => "file";

    public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var files = warmup ? suite.WarmupFiles : suite.Files;
        var folder = warmup ? suite.WarmupFolder : suite.FilesFolder;
        return suite.Temp.InFreshHomeAsync(async home =>
        {
            using var client = server ? suite.NewServerClient(home) : new FlowClient(new FlowClientOptions { Home = home });
            var project = server ? suite.NewProject() : TeamSuite.Project;
            await client.CreateProjectAsync(project, "Flowstore.Bench team", cancellationToken).ConfigureAwait(false);
            return await RegistrationSuite.TimeAsync(() => TeamSuite.RegisterFolderAsync(client, folder, files, project, cancellationToken),
                RegistrationStatus.Registered, files.Count).ConfigureAwait(false);
        });
    }
}

/// <summary>
/// (b) Re-registration of the N unchanged files through the server from a fresh home (a new CI agent: no compile or
/// structure cache): one lookup answers them all; every flow must come back Skipped and nothing may be compiled.
/// </summary>
internal sealed class ReRegistrationCase(TeamSuite suite) : BenchCase
{
    public override string Id => "rereg-server";

    public override string Title => "re-registration of the N unchanged files through the server from a fresh home (all Skipped)";

    public override string OperationName => "file";

    public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var files = warmup ? suite.WarmupFiles : suite.Files;
        var folder = warmup ? suite.WarmupFolder : suite.FilesFolder;
        var project = TeamSuite.RegisteredProject + (warmup ? "Warmup" : "");
        return suite.Temp.InFreshHomeAsync(async home =>
        {
            using var client = suite.NewServerClient(home);
            var sample = await RegistrationSuite.TimeAsync(() => TeamSuite.RegisterFolderAsync(client, folder, files, project, cancellationToken),
                RegistrationStatus.Skipped, files.Count).ConfigureAwait(false);
            var assemblies = Path.Combine(home, "cache", "assemblies");
            if (Directory.Exists(assemblies) && Directory.EnumerateFileSystemEntries(assemblies).Any())
            {
                throw new InvalidOperationException($"Re-registration from a fresh home compiled something ({assemblies} is not empty).");
            }
            return sample;
        });
    }
}

/// <summary>
/// (c) Start-FlowRun -Wait of the cached one-task start flow (RunNowAsync with the flow record read beforehand, as in
/// the runs suite's start-engine): embedded, or through the server while one agent is connected. M runs per
/// repetition; the sample is their median time from the call to the first task's body.
/// </summary>
internal sealed class StartCase(TeamSuite suite, bool server) : BenchCase
{
    public override string Id => server ? "start-server" : "start-embedded";

    public override string Title => server
        ? "RunNowAsync -> first task body through the server, one agent connected (cached script)"
        : "RunNowAsync -> first task body, embedded SQLite (cached script)";

    public override string OperationName => "run";

    public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
        => StartSample.MeasureAsync(warmup, suite.Options.StartRuns, () => suite.TimeStartAsync(server, cancellationToken));
}

/// <summary>
/// (d) Get-Flow from C concurrent clients: each client (its own HTTP client) sends R requests one after another, all
/// clients at once; each request is Catalog.SearchAsync of one registered flow by name and project, what
/// Get-Flow -Name -Project calls. The sample's time is the wall time of all C x R requests; every request's latency
/// is kept as a detail.
/// </summary>
internal sealed class GetFlowCase(TeamSuite suite) : BenchCase
{
    public const string Detail = "request (ms)";

    public override string Id => "get-flow";

    public override string Title => $"Get-Flow -Name -Project through the server from {suite.Options.Clients} concurrent clients";

    public override string OperationName => "request";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var clients = suite.GetFlowClients;
        var requests = warmup ? 2 : suite.Options.Requests;
        var names = FlowScriptGenerator.FlowNames(suite.Files.Count);
        var latencies = new double[clients.Count * requests];
        using var go = new SemaphoreSlim(0);
        var workers = clients.Select((client, c) => Task.Run(async () =>
        {
            await go.WaitAsync(cancellationToken).ConfigureAwait(false);
            for (var r = 0; r < requests; r++)
            {
                var name = names[(c * requests + r) % names.Count];
                var start = Stopwatch.GetTimestamp();
                var found = await client.Catalog.SearchAsync(new FlowSearch { Names = [name], Project = TeamSuite.RegisteredProject }, cancellationToken)
                    .ConfigureAwait(false);
                latencies[c * requests + r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (found.Flows.Count != 1)
                {
                    throw new InvalidOperationException($"Get-Flow of '{name}' found {found.Flows.Count} flows.");
                }
            }
        }, cancellationToken)).ToArray();
        var meter = Meter.Start();
        go.Release(clients.Count);
        await Task.WhenAll(workers).ConfigureAwait(false);
        var sample = meter.Stop(latencies.Length);
        return sample with { Details = new Dictionary<string, IReadOnlyList<double>> { [Detail] = latencies } };
    }
}

/// <summary>A percentile of one detail figure over every operation of every repetition of a case (ms).</summary>
public sealed record PercentileComparison(string Label, string Case, string Detail, double Percentile, double? TargetMs = null)
    : Comparison(Label, TargetMs)
{
    public override string Unit => "ms";

    public override double Compute(IReadOnlyDictionary<string, CaseResult> results)
    {
        var all = results[Case].Samples.Where(s => s.Details is not null).SelectMany(s => s.Details![Detail]).Order().ToArray();
        // Nearest rank.
        var rank = (int)Math.Ceiling(Percentile * all.Length);
        return all[Math.Clamp(rank - 1, 0, all.Length - 1)];
    }
}

/// <summary>Operations per second of a case: its operations over its median wall time.</summary>
public sealed record ThroughputComparison(string Label, string Case) : Comparison(Label, null)
{
    public override string Unit => "/s";

    public override double Compute(IReadOnlyDictionary<string, CaseResult> results)
        => results[Case].Operations * 1000.0 / results[Case].MedianMs;
}

/// <summary>A count the suite kept (no target), printed with the figures.</summary>
public sealed record CountComparison(string Label, Func<double> Count) : Comparison(Label, null)
{
    public override string Unit => "";

    public override double Compute(IReadOnlyDictionary<string, CaseResult> results) => Count();
}
