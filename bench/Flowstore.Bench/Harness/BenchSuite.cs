namespace Flowstore.Bench.Harness;

/// <summary>One timed repetition of a case.</summary>
/// <param name="ElapsedMs">Wall time (Stopwatch) of the timed part only (setup and checks are outside it).</param>
/// <param name="CpuMs">
/// CPU time of the whole process over the same span (all threads: Roslyn's parallel binding, background JIT,
/// GC). Informational: on a shared machine it varies less with other load than wall time does.
/// </param>
/// <param name="Operations">How many units of work it did (files, tasks, runs), for per-operation figures.</param>
/// <param name="Phases">Optional breakdown of <paramref name="ElapsedMs"/> (ms per phase), e.g. under --profile.</param>
/// <param name="Details">
/// Optional figures of the single operations inside one repetition (e.g. each run's start latency, when a repetition
/// runs M flows and reports their median): kept in the JSON, and their pooled medians printed under the table.
/// </param>
public sealed record Sample(double ElapsedMs, double CpuMs, int Operations, IReadOnlyDictionary<string, double>? Phases = null,
    IReadOnlyDictionary<string, IReadOnlyList<double>>? Details = null);

/// <summary>Times one span: wall time with a <see cref="Stopwatch"/>, and the process's CPU time.</summary>
public sealed class Meter
{
    private readonly System.Diagnostics.Stopwatch _wall;
    private readonly TimeSpan _cpu;

    private Meter()
    {
        _cpu = Environment.CpuUsage.TotalTime;
        _wall = System.Diagnostics.Stopwatch.StartNew();
    }

    public static Meter Start() => new();

    public Sample Stop(int operations, IReadOnlyDictionary<string, double>? phases = null)
    {
        _wall.Stop();
        var cpu = Environment.CpuUsage.TotalTime - _cpu;
        return new Sample(_wall.Elapsed.TotalMilliseconds, cpu.TotalMilliseconds, operations, phases);
    }
}

/// <summary>
/// One thing being measured. A case does its own untimed setup for each repetition (fresh folders, a new
/// client) and times only the work itself with a <see cref="System.Diagnostics.Stopwatch"/>.
/// </summary>
public abstract class BenchCase
{
    /// <summary>Short id used in ratios and the JSON ("floor", "a", "b").</summary>
    public abstract string Id { get; }

    /// <summary>One line saying what is timed.</summary>
    public abstract string Title { get; }

    /// <summary>What the operations of <see cref="Sample.Operations"/> are ("file", "task").</summary>
    public virtual string OperationName => "op";

    /// <summary>
    /// Runs one repetition. <paramref name="warmup"/> asks for the small, untimed JIT warm-up round (its sample
    /// is discarded). Throws when the work did not do what it should (e.g. a registration that was not Skipped):
    /// a harness failure, not a slow result.
    /// </summary>
    public abstract Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken);
}

/// <summary>
/// A group of cases measured together: their repetitions are interleaved (one of each case per round, in a
/// rotating order), so that drift on a shared, noisy machine affects all of them alike, and comparisons
/// between them are made from medians measured in the same process.
/// </summary>
public abstract class BenchSuite : IAsyncDisposable
{
    public abstract string Name { get; }
    public abstract string Description { get; }

    /// <summary>The cases; the first is the suite's baseline.</summary>
    public abstract IReadOnlyList<BenchCase> Cases { get; }

    /// <summary>Figures derived from the medians, each with an optional target.</summary>
    public abstract IReadOnlyList<Comparison> Comparisons { get; }

    /// <summary>Facts about the workload worth recording (file count, line counts, ...).</summary>
    public virtual IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>();

    /// <summary>Untimed, once: generate inputs, prepare shared state.</summary>
    public abstract Task SetupAsync(CancellationToken cancellationToken);

    /// <summary>Removes everything the suite created.</summary>
    public abstract ValueTask DisposeAsync();
}

/// <summary>A figure derived from case medians, compared with an optional target (informational).</summary>
public abstract record Comparison(string Label, double? Target)
{
    /// <summary>The figure's unit as printed ("×", "µs/op", "ms").</summary>
    public abstract string Unit { get; }

    public abstract double Compute(IReadOnlyDictionary<string, CaseResult> results);

    /// <summary>
    /// The same figure computed per round (from the two samples of one round) and then the median: robust to
    /// drift between rounds; null where it does not apply.
    /// </summary>
    public virtual double? ComputePaired(IReadOnlyDictionary<string, CaseResult> results) => null;

    /// <summary>The same figure from process CPU time instead of wall time; null where it does not apply.</summary>
    public virtual double? ComputeCpu(IReadOnlyDictionary<string, CaseResult> results) => null;

    /// <summary>True when at or under the target; null without a target.</summary>
    public bool? Passes(double value) => Target is { } t ? value <= t : null;
}

/// <summary>median(numerator) / median(denominator).</summary>
public sealed record RatioComparison(string Label, string Numerator, string Denominator, double? Target = null)
    : Comparison(Label, Target)
{
    public override string Unit => "x";

    public override double Compute(IReadOnlyDictionary<string, CaseResult> results)
        => results[Numerator].MedianMs / results[Denominator].MedianMs;

    public override double? ComputePaired(IReadOnlyDictionary<string, CaseResult> results)
    {
        var n = results[Numerator].Samples;
        var d = results[Denominator].Samples;
        return Stats.Median(n.Zip(d, (x, y) => x.ElapsedMs / y.ElapsedMs).ToArray());
    }

    public override double? ComputeCpu(IReadOnlyDictionary<string, CaseResult> results)
        => results[Numerator].MedianCpuMs / results[Denominator].MedianCpuMs;
}

/// <summary>(median(case) - median(baseline)) per operation of the case, in µs: overhead per task, per file.</summary>
public sealed record OverheadPerOperationComparison(string Label, string Case, string Baseline, double? TargetMicroseconds = null)
    : Comparison(Label, TargetMicroseconds)
{
    public override string Unit => "us/op";

    public override double Compute(IReadOnlyDictionary<string, CaseResult> results)
    {
        var c = results[Case];
        return (c.MedianMs - results[Baseline].MedianMs) * 1000.0 / Math.Max(1, c.Operations);
    }

    /// <summary>The median over rounds of (case - baseline) per operation, each from the same round.</summary>
    public override double? ComputePaired(IReadOnlyDictionary<string, CaseResult> results)
    {
        var c = results[Case];
        var b = results[Baseline].Samples;
        return Stats.Median(c.Samples.Zip(b, (x, y) => (x.ElapsedMs - y.ElapsedMs) * 1000.0 / Math.Max(1, x.Operations)).ToArray());
    }

    /// <summary>The same overhead from the CPU-time medians (all threads: with parallel work it can exceed wall time).</summary>
    public override double? ComputeCpu(IReadOnlyDictionary<string, CaseResult> results)
    {
        var c = results[Case];
        return (c.MedianCpuMs - results[Baseline].MedianCpuMs) * 1000.0 / Math.Max(1, c.Operations);
    }
}

/// <summary>A case's median itself against an absolute target in ms (e.g. a start latency).</summary>
public sealed record AbsoluteComparison(string Label, string Case, double? TargetMs = null) : Comparison(Label, TargetMs)
{
    public override string Unit => "ms";

    public override double Compute(IReadOnlyDictionary<string, CaseResult> results) => results[Case].MedianMs;
}

/// <summary>The measured repetitions of one case and their statistics.</summary>
public sealed class CaseResult
{
    public CaseResult(BenchCase benchCase, IReadOnlyList<Sample> samples)
    {
        Id = benchCase.Id;
        Title = benchCase.Title;
        OperationName = benchCase.OperationName;
        Samples = samples;
        var ms = samples.Select(s => s.ElapsedMs).ToArray();
        MedianMs = Stats.Median(ms);
        MedianCpuMs = Stats.Median(samples.Select(s => s.CpuMs).ToArray());
        MinMs = ms.Min();
        MaxMs = ms.Max();
        Operations = samples[0].Operations;
        Phases = samples.Any(s => s.Phases is not null)
            ? samples.Where(s => s.Phases is not null)
                .SelectMany(s => s.Phases!)
                .GroupBy(p => p.Key)
                .ToDictionary(g => g.Key, g => Stats.Median(g.Select(p => p.Value).ToArray()))
            : null;
    }

    public string Id { get; }
    public string Title { get; }
    public string OperationName { get; }
    public IReadOnlyList<Sample> Samples { get; }
    public double MedianMs { get; }

    /// <summary>Median process CPU time over the repetitions (informational).</summary>
    public double MedianCpuMs { get; }

    public double MinMs { get; }
    public double MaxMs { get; }
    public int Operations { get; }

    /// <summary>Median of each phase over the repetitions, when the case reported phases.</summary>
    public IReadOnlyDictionary<string, double>? Phases { get; }

    /// <summary>For each detail figure: (median, min, max, count) over every operation of every repetition.</summary>
    public IReadOnlyDictionary<string, (double Median, double Min, double Max, int Count)>? Details
        => Samples.Any(s => s.Details is not null)
            ? Samples.Where(s => s.Details is not null)
                .SelectMany(s => s.Details!)
                .GroupBy(d => d.Key)
                .ToDictionary(g => g.Key, g =>
                {
                    var all = g.SelectMany(d => d.Value).ToArray();
                    return (Stats.Median(all), all.Min(), all.Max(), all.Length);
                })
            : null;
}

public static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("No values.", nameof(values));
        }
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0;
    }
}
