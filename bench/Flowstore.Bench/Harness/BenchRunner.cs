using System.Diagnostics;
using System.Globalization;
using System.Runtime;

namespace Flowstore.Bench.Harness;

/// <summary>The results of one suite.</summary>
public sealed record SuiteResult(
    string Name,
    string Description,
    IReadOnlyDictionary<string, object> Parameters,
    IReadOnlyList<CaseResult> Cases,
    IReadOnlyList<ComparisonResult> Comparisons,
    double WallSeconds,
    IReadOnlyList<double> LoadAverages);

/// <param name="PairedMedian">The median of the per-round figures (see <see cref="Comparison.ComputePaired"/>).</param>
/// <param name="CpuValue">The figure from CPU time medians (see <see cref="Comparison.ComputeCpu"/>).</param>
public sealed record ComparisonResult(string Label, double Value, string Unit, double? Target, bool? Pass, double? PairedMedian, double? CpuValue);

/// <summary>Runs suites: warm-up, interleaved repetitions, medians, comparisons, console report.</summary>
public sealed class BenchRunner
{
    private readonly BenchOptions _options;
    private readonly TextWriter _out;

    public BenchRunner(BenchOptions options, TextWriter output)
    {
        _options = options;
        _out = output;
    }

    public async Task<SuiteResult> RunAsync(BenchSuite suite, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        _out.WriteLine();
        _out.WriteLine($"== {suite.Name}: {suite.Description}");
        _out.WriteLine($"   setting up...");
        await suite.SetupAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (key, value) in suite.Parameters)
        {
            _out.WriteLine($"   {key}: {Format(value)}");
        }

        // JIT warm-up: one small untimed round of each case.
        _out.Write("   warm-up:");
        foreach (var c in suite.Cases)
        {
            var w = await RunOneAsync(c, warmup: true, cancellationToken).ConfigureAwait(false);
            _out.Write($" {c.Id} {w.ElapsedMs:F0} ms;");
        }
        _out.WriteLine();

        // Interleaved repetitions: round r runs every case once, starting at case r (mod count), so no case is
        // always first (or always right after the same neighbour) and slow drift hits all cases alike.
        var samples = suite.Cases.ToDictionary(c => c.Id, _ => new List<Sample>());
        var cases = suite.Cases;
        var loads = new List<double>();
        for (var round = 0; round < _options.Repetitions; round++)
        {
            var load = JsonReport.LoadAverage();
            if (load is { } l)
            {
                loads.Add(l);
            }
            _out.Write($"   round {round + 1}/{_options.Repetitions}{(load is null ? "" : $" (load {load:F1})")}:");
            for (var j = 0; j < cases.Count; j++)
            {
                var c = cases[(round + j) % cases.Count];
                var s = await RunOneAsync(c, warmup: false, cancellationToken).ConfigureAwait(false);
                samples[c.Id].Add(s);
                _out.Write($" {c.Id} {s.ElapsedMs:F0} ms;");
            }
            _out.WriteLine();
        }

        var results = cases.Select(c => new CaseResult(c, samples[c.Id])).ToArray();
        var byId = results.ToDictionary(r => r.Id);
        var comparisons = suite.Comparisons.Select(c =>
        {
            var value = c.Compute(byId);
            return new ComparisonResult(c.Label, value, c.Unit, c.Target, c.Passes(value), c.ComputePaired(byId), c.ComputeCpu(byId));
        }).ToArray();
        var result = new SuiteResult(suite.Name, suite.Description, suite.Parameters, results, comparisons, wall.Elapsed.TotalSeconds, loads);
        Print(result);
        return result;
    }

    private static async Task<Sample> RunOneAsync(BenchCase c, bool warmup, CancellationToken cancellationToken)
    {
        // Start every repetition from the same memory state: garbage (and unloadable script contexts) left by the
        // previous case is collected here, untimed, not during the next case's timed part.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return await c.RunAsync(warmup, cancellationToken).ConfigureAwait(false);
    }

    private void Print(SuiteResult r)
    {
        _out.WriteLine();
        var idWidth = Math.Max(5, r.Cases.Max(c => c.Id.Length));
        var titleWidth = Math.Max(10, r.Cases.Max(c => c.Title.Length));
        _out.WriteLine($"   {"case".PadRight(idWidth)}  {"what".PadRight(titleWidth)}  {"median ms",10}  {"min ms",10}  {"max ms",10}  {"per op",14}  {"CPU ms",10}");
        foreach (var c in r.Cases)
        {
            var perOp = $"{c.MedianMs / Math.Max(1, c.Operations):F2} ms/{c.OperationName}";
            _out.WriteLine($"   {c.Id.PadRight(idWidth)}  {c.Title.PadRight(titleWidth)}  {c.MedianMs,10:F2}  {c.MinMs,10:F2}  {c.MaxMs,10:F2}  {perOp,14}  {c.MedianCpuMs,10:F0}");
        }
        foreach (var c in r.Cases.Where(c => c.Phases is not null))
        {
            _out.WriteLine();
            _out.WriteLine($"   phases of {c.Id} (median over repetitions, ms; share of the case's median):");
            foreach (var (phase, ms) in c.Phases!)
            {
                _out.WriteLine($"     {phase,-34} {ms,10:F2}  {100 * ms / c.MedianMs,5:F1} %  ({ms / Math.Max(1, c.Operations):F2} ms/{c.OperationName})");
            }
        }
        foreach (var c in r.Cases.Where(c => c.Details is not null))
        {
            _out.WriteLine();
            _out.WriteLine($"   every {c.OperationName} of {c.Id} (all repetitions pooled):");
            foreach (var (figure, d) in c.Details!)
            {
                _out.WriteLine($"     {figure,-52} median {d.Median,9:F2}  min {d.Min,9:F2}  max {d.Max,9:F2}  (n = {d.Count})");
            }
        }
        if (r.Comparisons.Count > 0)
        {
            _out.WriteLine();
            var labelWidth = Math.Max(10, r.Comparisons.Max(c => c.Label.Length));
            foreach (var c in r.Comparisons)
            {
                var target = c.Target is { } t ? $"target <= {t.ToString("0.00", CultureInfo.InvariantCulture)}" : "";
                var verdict = c.Pass switch { true => "PASS", false => "FAIL", null => "" };
                var notes = new List<string>();
                var figure = c.Unit == "x" ? "ratio" : "figure";
                if (c.PairedMedian is { } p)
                {
                    notes.Add($"median of per-round {figure}s {p:F2}");
                }
                if (c.CpuValue is { } cpu)
                {
                    notes.Add($"CPU-time {figure} {cpu:F2}");
                }
                var paired = notes.Count > 0 ? $"   ({string.Join("; ", notes)})" : "";
                _out.WriteLine($"   {c.Label.PadRight(labelWidth)}  {c.Value,8:F2} {c.Unit,-5}  {target,-16}  {verdict,-4}{paired}");
            }
        }
        var loadNote = r.LoadAverages.Count > 0
            ? $"; 1-min load average at the rounds' starts {string.Join(", ", r.LoadAverages.Select(l => l.ToString("F1", CultureInfo.InvariantCulture)))} on {Environment.ProcessorCount} cores"
            : "";
        _out.WriteLine($"   ({r.WallSeconds:F0} s for the suite{loadNote})");
    }

    private static string Format(object value) => value switch
    {
        double d => d.ToString("0.##", CultureInfo.InvariantCulture),
        System.Collections.IEnumerable e and not string => string.Join(", ", e.Cast<object>()),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
