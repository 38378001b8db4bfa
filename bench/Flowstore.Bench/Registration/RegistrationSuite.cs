using Flowstore.Bench.Harness;
using Flowstore.Engine;
using Flowstore.Scripting;
using Microsoft.CodeAnalysis;

namespace Flowstore.Bench.Registration;

/// <summary>
/// Registration (issue 2, item 10): N generated flow files.
/// floor = Roslyn Emit of the N files in this process; (a) first registration into a fresh home;
/// (b) re-registration of the unchanged files with a new client on the same home.
/// </summary>
public sealed class RegistrationSuite : BenchSuite
{
    public const string ProjectName = "BenchProject";

    /// <summary>Warm-up files are generated from indices far from the timed ones: other names, other contents.</summary>
    private const int WarmupFirstIndex = 100_000;

    private readonly BenchOptions _options;
    private readonly BenchTemp _temp;
    private IReadOnlyList<ScriptFile> _files = Array.Empty<ScriptFile>();
    private IReadOnlyList<ScriptFile> _warmupFiles = Array.Empty<ScriptFile>();
    private string _registeredHome = "";
    private string _warmupRegisteredHome = "";

    public RegistrationSuite(BenchOptions options)
    {
        _options = options;
        _temp = new BenchTemp("flowstore-bench-", options.KeepTemp);
        var cases = new List<BenchCase>
        {
            new FloorCase(this),
            new FirstRegistrationCase(this),
            new ReRegistrationCase(this),
        };
        var comparisons = new List<Comparison>
        {
            new RatioComparison("(a)/floor", "a", "floor", 1.30),
            new RatioComparison("(b)/(a)", "b", "a", 0.05),
        };
        if (options.Profile)
        {
            cases.Add(new RegistrationPhasesCase(this));
            comparisons.Add(new RatioComparison("a-phases/(a)", "a-phases", "a"));
        }
        Cases = cases;
        Comparisons = comparisons;
    }

    public override string Name => "registration";

    public override string Description => $"{_options.Files} generated flow files: Roslyn Emit floor vs Register-Flow (PlanAsync + ApplyAsync)";

    public override IReadOnlyList<BenchCase> Cases { get; }

    public override IReadOnlyList<Comparison> Comparisons { get; }

    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>
    {
        ["files"] = _files.Count,
        ["warmup files"] = _warmupFiles.Count,
        ["lines per file (min/median/max)"] = LineStats(),
        ["tasks per file (min/max)"] = $"{_files.Min(f => f.Tasks)}/{_files.Max(f => f.Tasks)}",
        ["temp root"] = _options.KeepTemp ? _temp.Root : "(deleted at the end)",
    };

    private string LineStats()
    {
        var lines = _files.Select(f => (double)f.Lines).ToArray();
        return $"{lines.Min()}/{Stats.Median(lines)}/{lines.Max()}";
    }

    public override async Task SetupAsync(CancellationToken cancellationToken)
    {
        var paths = FlowScriptGenerator.WriteFiles(Path.Combine(_temp.Root, "flows"), _options.Files);
        _files = paths.Select(ScriptFile.Read).ToArray();
        if (_files.Select(f => f.Sha256).Distinct().Count() != _files.Count)
        {
            throw new InvalidOperationException("Two generated flow files have the same SHA-256.");
        }
        // The warm-up round uses its own files (other names and contents), so nothing it leaves can serve the
        // timed rounds.
        var warmup = FlowScriptGenerator.WriteFiles(Path.Combine(_temp.Root, "warmup-flows"), _options.WarmupFiles, first: WarmupFirstIndex);
        _warmupFiles = warmup.Select(ScriptFile.Read).ToArray();

        // (b)'s home: registered once, untimed; each repetition of (b) opens it with a new client.
        _registeredHome = await RegisterAllAsync(_files, cancellationToken).ConfigureAwait(false);
        _warmupRegisteredHome = await RegisterAllAsync(_warmupFiles, cancellationToken).ConfigureAwait(false);

        // Count tasks per file from the registered structures (also checks that every file registered).
        using var client = new FlowClient(new FlowClientOptions { Home = _registeredHome });
        var flows = await client.GetFlowsAsync(new FlowQuery { Project = ProjectName }, cancellationToken).ConfigureAwait(false);
        if (flows.Count != _files.Count)
        {
            throw new InvalidOperationException($"Expected {_files.Count} registered flows, found {flows.Count}.");
        }
        var tasks = flows.ToDictionary(f => f.ScriptPath!, f => FlowStructure.FromJson(f.StructureJson).Tasks.Count);
        _files = _files.Select(f => f with { Tasks = tasks[f.Path] }).ToArray();
    }

    private async Task<string> RegisterAllAsync(IReadOnlyList<ScriptFile> files, CancellationToken cancellationToken)
    {
        var home = _temp.NewHome();
        using var client = await NewClientWithProjectAsync(home, cancellationToken).ConfigureAwait(false);
        var results = await RegisterAsync(client, files, cancellationToken).ConfigureAwait(false);
        Expect(results, RegistrationStatus.Registered, files.Count);
        return home;
    }

    internal IReadOnlyList<ScriptFile> FilesFor(bool warmup) => warmup ? _warmupFiles : _files;

    internal string RegisteredHome(bool warmup) => warmup ? _warmupRegisteredHome : _registeredHome;

    internal bool Profile => _options.Profile;

    internal BenchTemp Temp => _temp;

    internal static async Task<FlowClient> NewClientWithProjectAsync(string home, CancellationToken cancellationToken)
    {
        var client = new FlowClient(new FlowClientOptions { Home = home });
        try
        {
            await client.CreateProjectAsync(ProjectName, "Flowstore.Bench", cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>What Register-Flow does for each file: plan, then apply each plan.</summary>
    internal static async Task<List<FlowRegistration>> RegisterAsync(FlowClient client, IReadOnlyList<ScriptFile> files, CancellationToken cancellationToken)
    {
        var options = new RegisterOptions { Project = ProjectName };
        var results = new List<FlowRegistration>(files.Count);
        foreach (var file in files)
        {
            var plans = await client.PlanAsync(file.Path, options, null, cancellationToken).ConfigureAwait(false);
            foreach (var plan in plans)
            {
                results.Add(await client.ApplyAsync(plan, options, null, cancellationToken).ConfigureAwait(false));
            }
        }
        return results;
    }

    /// <summary>Times <paramref name="register"/> (<paramref name="count"/> files) and checks that each came back <paramref name="status"/>.</summary>
    internal static async Task<Sample> TimeAsync(Func<Task<List<FlowRegistration>>> register, RegistrationStatus status, int count)
    {
        var meter = Meter.Start();
        var results = await register().ConfigureAwait(false);
        var sample = meter.Stop(count);
        Expect(results, status, count);
        return sample;
    }

    internal static void Expect(IReadOnlyList<FlowRegistration> results, RegistrationStatus status, int count)
    {
        var wrong = results.Where(r => r.Status != status).ToArray();
        if (results.Count != count || wrong.Length > 0)
        {
            throw new InvalidOperationException(
                $"Expected {count} registrations with status {status}; got {results.Count}, of which {wrong.Length} were not {status}" +
                (wrong.Length > 0 ? $" (first: {wrong[0].Name} {wrong[0].Status} {wrong[0].Reason ?? wrong[0].Error})." : "."));
        }
    }

    public override ValueTask DisposeAsync()
    {
        _temp.Delete(_temp.Root);
        return ValueTask.CompletedTask;
    }

    /// <summary>A generated file, read once (the floor compiles these strings; registration reads the files).</summary>
    internal sealed record ScriptFile(string Path, string Source, string Sha256, int Lines, int Tasks)
    {
        public static ScriptFile Read(string path)
        {
            var bytes = File.ReadAllBytes(path);
            var source = System.Text.Encoding.UTF8.GetString(bytes);
            return new ScriptFile(path, source, FlowStructure.Sha256Hex(bytes), source.Count(c => c == '\n'), 0);
        }
    }

    // ------------------------------------------------------------------ cases

    /// <summary>
    /// The floor: a plain CSharpCompilation + Emit to memory of each file (no load, no cache, no disk), with
    /// the references every script compiles against, created once per repetition as one compiler instance
    /// does. Sources and hashes are read before timing.
    /// </summary>
    private sealed class FloorCase(RegistrationSuite suite) : BenchCase
    {
        public override string Id => "floor";
        public override string Title => "Roslyn Emit of each file to memory (baseline)";
        public override string OperationName => "file";

        public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
        {
            var files = suite.FilesFor(warmup);
            var bytes = 0L;
            var meter = Meter.Start();
            IReadOnlyList<MetadataReference> references = ScriptCompiler.DefaultReferences();
            foreach (var f in files)
            {
                bytes += ScriptCompiler.Emit(f.Source, f.Path, f.Sha256, cancellationToken, references).Length;
            }
            var sample = meter.Stop(files.Count);
            if (bytes == 0)
            {
                throw new InvalidOperationException("Emit produced nothing.");
            }
            return Task.FromResult(sample);
        }
    }

    /// <summary>
    /// (a) First registration: a fresh home (database, assembly cache and structure cache all empty) with the
    /// project created beforehand, untimed; timed: PlanAsync + ApplyAsync of every file.
    /// </summary>
    private sealed class FirstRegistrationCase(RegistrationSuite suite) : BenchCase
    {
        public override string Id => "a";
        public override string Title => "first registration, fresh home (PlanAsync + ApplyAsync)";
        public override string OperationName => "file";

        public override Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
        {
            var files = suite.FilesFor(warmup);
            return suite.Temp.InFreshHomeAsync(async home =>
            {
                using var client = await NewClientWithProjectAsync(home, cancellationToken).ConfigureAwait(false);
                return await TimeAsync(() => RegisterAsync(client, files, cancellationToken), RegistrationStatus.Registered, files.Count).ConfigureAwait(false);
            });
        }
    }

    /// <summary>
    /// (b) Re-registration of the unchanged files: a NEW client (so its in-memory compile cache is empty) on a
    /// home where they were registered before; every flow must come back Skipped. The client is created
    /// untimed, as in (a).
    /// </summary>
    private sealed class ReRegistrationCase(RegistrationSuite suite) : BenchCase
    {
        public override string Id => "b";
        public override string Title => "re-registration, unchanged files, new client (all Skipped)";
        public override string OperationName => "file";

        public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
        {
            var files = suite.FilesFor(warmup);
            using var client = new FlowClient(new FlowClientOptions { Home = suite.RegisteredHome(warmup) });
            return await TimeAsync(() => RegisterAsync(client, files, cancellationToken), RegistrationStatus.Skipped, files.Count).ConfigureAwait(false);
        }
    }
}
