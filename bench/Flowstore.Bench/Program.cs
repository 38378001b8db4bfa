using Flowstore.Bench.Agents;
using Flowstore.Bench.Harness;
using Flowstore.Bench.Registration;
using Flowstore.Bench.Runs;
using Flowstore.Bench.Team;

namespace Flowstore.Bench;

/// <summary>
/// Flowstore's benchmark harness: prints, for each case, the median of K repetitions and the suite's ratios
/// against its baseline (measured in the same process), with PASS/FAIL against the targets (informational: the
/// exit code is 0 unless the harness itself fails), and writes the results to out/bench/&lt;timestamp&gt;.json.
/// New suites are added to <see cref="Suites"/>.
/// </summary>
public static class Program
{
    /// <summary>Every suite, by name, in the order they run.</summary>
    private static readonly (string Name, string Summary, Func<BenchOptions, BenchSuite> Create)[] Suites =
    {
        ("registration", "floor (Roslyn Emit) vs (a) first registration vs (b) unchanged re-registration", o => new RegistrationSuite(o)),
        ("runs", "per-task overhead (chain, fan-out/fan-in) vs direct calls; run start latency (engine, Start-FlowRun -Wait)", o => new RunsSuite(o)),
        ("isolation", "agent run start from claim to first task: worker process (warm, cold) vs in process; agent RSS over 1,000 runs", o => new Isolation.IsolationSuite(o)),
        ("team", "Flowstore.Server vs embedded: registration, fresh-home re-registration, start latency with an agent, Get-Flow from 50 clients", o => new TeamSuite(o)),
        ("agents", "agent processes through the server (PostgreSQL): 1,000 no-op runs drained by 4 agents; chains of 40 light / 10 long tasks", o => new AgentsSuite(o)),
    };

    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "agent")
        {
            // A child process of the agents suite: one agent driven over stdin (Agents/AgentHost.cs).
            return await AgentHost.MainAsync(args[1..]).ConfigureAwait(false);
        }
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }
        if (options.ShowHelp)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        if (options.ListSuites)
        {
            foreach (var s in Suites)
            {
                Console.WriteLine($"{s.Name,-14} {s.Summary}");
            }
            return 0;
        }
        var unknown = options.Suites.Where(n => !Suites.Any(s => s.Name.Equals(n, StringComparison.OrdinalIgnoreCase))).ToArray();
        if (unknown.Length > 0)
        {
            Console.Error.WriteLine($"Unknown suite(s): {string.Join(", ", unknown)}; known: {string.Join(", ", Suites.Select(s => s.Name))}.");
            return 2;
        }

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;   // stop after cleaning up
            cts.Cancel();
        };

        var started = DateTimeOffset.UtcNow;
        Console.WriteLine($"Flowstore.Bench: K={options.Repetitions} repetitions (median reported), {Environment.ProcessorCount} cores, " +
                          $"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
        var runner = new BenchRunner(options, Console.Out);
        var results = new List<SuiteResult>();
        try
        {
            foreach (var entry in Suites.Where(s => options.Suites.Count == 0 || options.Suites.Contains(s.Name, StringComparer.OrdinalIgnoreCase)))
            {
                if (options.Suites.Count == 0 && entry.Name == "agents" && !AgentsSuite.CanRun(options))
                {
                    Console.WriteLine("agents: skipped (no PostgreSQL: run tests/servers/Start-Postgres.ps1 or give --postgres, or --server-backend Sqlite).");
                    continue;
                }
                await using var suite = entry.Create(options);
                results.Add(await runner.RunAsync(suite, cts.Token).ConfigureAwait(false));
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.Error.WriteLine("Cancelled.");
            return 130;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"The harness failed: {e}");
            return 1;
        }

        if (options.WriteJson)
        {
            var directory = options.OutputDirectory ?? Path.Combine(RepositoryRoot(), "out", "bench");
            var path = JsonReport.Write(directory, started, options, results);
            Console.WriteLine();
            Console.WriteLine($"Results: {path}");
        }
        return 0;
    }

    /// <summary>The folder holding Flowstore.sln, looking up from the working directory, then from the binary.</summary>
    internal static string RepositoryRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Flowstore.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        return Environment.CurrentDirectory;
    }
}
