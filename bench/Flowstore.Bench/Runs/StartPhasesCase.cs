using System.Diagnostics;
using Flowstore.Bench.Harness;
using Flowstore.Engine;

namespace Flowstore.Bench.Runs;

/// <summary>
/// Under --profile: the engine-level start (RunNowAsync up to the first task) done step by step with the engine's
/// public pieces, timing each phase. It mirrors FlowClient.RunNowAsync -> ExecuteClaimedAsync -> PrepareAsync ->
/// FlowExecutor.RunAsync (without the heartbeat task and the recorder); the run is then completed like
/// ExecuteClaimedAsync does, untimed.
/// </summary>
internal sealed class StartPhasesCase(RunsSuite suite) : BenchCase
{
    private static readonly string[] PhaseNames =
    {
        "queue: structure check + insert run (db)",
        "claim (db)",
        "flow record of the run (db)",
        "fetch: read script + SHA-256",
        "load: compile cache hit + build",
        "structure hash check",
        "executor start -> first task body",
    };

    public override string Id => "start-phases";
    public override string Title => "start-engine step by step, each phase timed (--profile)";
    public override string OperationName => "run";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var client = suite.Client!;
        var record = suite.StartFlow!;
        var provider = new LocalStorageProvider(Path.Combine(client.Home, "flows"));
        var m = warmup ? 2 : suite.StartRuns;
        var sums = new double[PhaseNames.Length];
        var totals = new List<double>(m);
        var cpu = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < m; i++)
        {
            var ms = new double[PhaseNames.Length];
            AppContext.SetData(RunsSuite.SignalKey, null);
            var start = Stopwatch.GetTimestamp();
            var lap = start;
            void Lap(int phase)
            {
                var now = Stopwatch.GetTimestamp();
                ms[phase] = Stopwatch.GetElapsedTime(lap, now).TotalMilliseconds;
                lap = now;
            }

            var queued = await client.QueueRunAsync(record, null, null, cancellationToken).ConfigureAwait(false);
            Lap(0);
            var claimed = await client.Backend.ClaimRunAsync(FlowClient.LocalAgent, queued.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The run could not be claimed.");
            Lap(1);
            var flow = await client.GetFlowOfRunAsync(claimed, cancellationToken).ConfigureAwait(false);
            Lap(2);
            var storage = StorageTypes.Deserialize(flow.StorageJson);
            var source = await provider.FetchAsync(storage, claimed.PinnedStorageVersion, client.Secrets, cancellationToken).ConfigureAwait(false);
            Lap(3);
            var loaded = await client.Loader.LoadSourceAsync(source.ScriptText!, source.Origin, cancellationToken).ConfigureAwait(false);
            var built = loaded.Select(flow.Name);
            Lap(4);
            if (FlowStructure.FromFlow(built).Hash != flow.StructureHash)
            {
                throw new InvalidOperationException("The start flow's structure changed.");
            }
            var parameters = ParameterBinder.Bind(built, claimed.Parameters);
            Lap(5);
            var execution = await FlowExecutor.RunAsync(built, parameters, null, cancellationToken).ConfigureAwait(false);
            var first = RunsSuite.ReadSignal();
            ms[6] = Stopwatch.GetElapsedTime(lap, first).TotalMilliseconds - suite.TimestampCostMs;
            totals.Add(Stopwatch.GetElapsedTime(start, first).TotalMilliseconds - suite.TimestampCostMs);

            await client.Backend.CompleteRunAsync(claimed.Id, FlowClient.LocalAgent, new RunCompletion
            {
                State = execution.State,
                Error = execution.Error,
                ScriptSha256 = source.Sha256,
                StorageVersion = source.StorageVersion,
            }, CancellationToken.None).ConfigureAwait(false);
            if (execution.State != RunState.Success)
            {
                throw new InvalidOperationException($"The start flow's run ended {execution.State}: {execution.Error}");
            }
            for (var p = 0; p < ms.Length; p++)
            {
                sums[p] += ms[p];
            }
        }
        var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / m;

        // What a cmdlet adds around RunNowAsync on the engine side: a new FlowClient, the backend opened (its
        // migration check), the flow record read (GetFlowAsync), the client disposed (which clears the SQLite pool,
        // so the next cmdlet opens the database file again). On a home of its own: clearing the pool of the suite's
        // home would make the next engine-level run open a new connection.
        var perCmdlet = new List<double>(m);
        for (var i = 0; i < m; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            using (var fresh = new FlowClient(new FlowClientOptions { Home = suite.ProbeHome }))
            {
                _ = await fresh.GetFlowAsync(RunsSuite.StartFlowName, RunsSuite.ProjectName, null, cancellationToken).ConfigureAwait(false);
            }
            perCmdlet.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        // Phases: the mean of each over the M runs (so they add up to the mean total); the sample: the median total.
        var phases = PhaseNames.Select((name, p) => KeyValuePair.Create(name, sums[p] / m)).ToDictionary();
        return new Sample(Stats.Median(totals), cpuMs, 1, phases,
            new Dictionary<string, IReadOnlyList<double>>
            {
                ["step by step -> first task body (ms)"] = totals,
                ["probe: new FlowClient + GetFlowAsync + Dispose (ms)"] = perCmdlet,
            });
    }
}
