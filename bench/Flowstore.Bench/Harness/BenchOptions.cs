using System.Globalization;

namespace Flowstore.Bench.Harness;

/// <summary>Command-line settings of one harness run.</summary>
public sealed class BenchOptions
{
    public const int DefaultRepetitions = 5;
    public const int DefaultFiles = 100;
    public const int DefaultWarmupFiles = 10;
    public const int DefaultTasks = 10_000;
    public const int DefaultStartRuns = 10;
    public const int DefaultClients = 50;
    public const int DefaultRequests = 20;
    public const int DefaultMemoryRuns = 1000;

    /// <summary>K: timed repetitions of each case; the median is reported.</summary>
    public int Repetitions { get; private set; } = DefaultRepetitions;

    /// <summary>N: generated flow files (registration suite).</summary>
    public int Files { get; private set; } = DefaultFiles;

    /// <summary>Files in the untimed warm-up round of each case.</summary>
    public int WarmupFiles { get; private set; } = DefaultWarmupFiles;

    /// <summary>No-op tasks per flow in the runs suite's per-task overhead cases.</summary>
    public int Tasks { get; private set; } = DefaultTasks;

    /// <summary>Runs started per repetition in the runs suite's start-latency cases (the repetition reports their median).</summary>
    public int StartRuns { get; private set; } = DefaultStartRuns;

    /// <summary>The team suite's server backend: Sqlite (a file in the server's home) or Postgres.</summary>
    public string ServerBackend { get; private set; } = "Sqlite";

    /// <summary>The PostgreSQL connection string for --server-backend Postgres (else FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING).</summary>
    public string? PostgresConnectionString { get; private set; }

    /// <summary>Concurrent clients of the team suite's Get-Flow case.</summary>
    public int Clients { get; private set; } = DefaultClients;

    /// <summary>Requests each of those clients sends per repetition.</summary>
    public int Requests { get; private set; } = DefaultRequests;

    /// <summary>Runs in a row of the isolation suite's memory profile (RSS at run 10, 100, ..., N); 0 skips it.</summary>
    public int MemoryRuns { get; private set; } = DefaultMemoryRuns;

    /// <summary>Suites to run (empty: all).</summary>
    public List<string> Suites { get; } = new();

    /// <summary>Folder for the JSON results; null: out/bench under the repository root.</summary>
    public string? OutputDirectory { get; private set; }

    public bool WriteJson { get; private set; } = true;

    /// <summary>Also time each phase of a registration (read/hash, compile, load+build, caches, database).</summary>
    public bool Profile { get; private set; }

    /// <summary>Keep the temporary folders (for inspection) instead of deleting them.</summary>
    public bool KeepTemp { get; private set; }

    public bool ShowHelp { get; private set; }
    public bool ListSuites { get; private set; }

    public static string Usage => """
        Usage: bench/run.sh [options]

          --suite NAME       run only this suite (repeatable; default: all). See --list.
          --files N          generated flow files for the registration suite (default 100)
          --tasks N          no-op tasks per flow for the runs suite's per-task overhead (default 10000)
          --start-runs M     runs per repetition of the runs suite's start-latency cases; each repetition
                             reports their median (default 10)
          --server-backend B team suite: the server's backend, Sqlite (default) or Postgres
          --postgres CONN    team suite, Postgres: the connection string (default: the environment variable
                             FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING set by tests/servers/Start-Postgres.ps1)
          --clients C        team suite: concurrent Get-Flow clients (default 50)
          --requests R       team suite: Get-Flow requests per client per repetition (default 20)
          --memory-runs N    isolation suite: runs in a row for the agent's memory profile (RSS at run 10, 100,
                             1000, ...; default 1000; 0 skips it)
          --reps K           timed repetitions per case; the median is reported (default 5)
          --warmup-files W   files in the untimed JIT warm-up round of each case (default 10)
          --profile          also time the phases of a first registration (read/hash, compile, load+build, ...)
                             and of a run start (queue, claim, fetch, load, executor start)
          --out DIR          folder for the JSON results (default: <repo>/out/bench)
          --no-json          do not write the JSON results
          --keep-temp        keep the temporary homes and generated files
          --list             list the suites
          -h, --help         this text
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a message for the user.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"{arg} needs a value.");
                }
                return args[++i];
            }
            int Positive(int min)
            {
                var text = Value();
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min)
                {
                    throw new ArgumentException($"{arg} takes a whole number of at least {min}; got '{text}'.");
                }
                return n;
            }
            switch (arg)
            {
                case "--files" or "-n": o.Files = Positive(1); break;
                case "--reps" or "-k": o.Repetitions = Positive(1); break;
                case "--tasks": o.Tasks = Positive(3); break;
                case "--start-runs": o.StartRuns = Positive(1); break;
                case "--warmup-files": o.WarmupFiles = Positive(1); break;
                case "--suite": o.Suites.Add(Value()); break;
                case "--clients": o.Clients = Positive(1); break;
                case "--requests": o.Requests = Positive(1); break;
                case "--memory-runs": o.MemoryRuns = Positive(0); break;
                case "--postgres": o.PostgresConnectionString = Value(); break;
                case "--server-backend":
                    var backend = Value();
                    o.ServerBackend = backend.Equals("Postgres", StringComparison.OrdinalIgnoreCase) ? "Postgres"
                        : backend.Equals("Sqlite", StringComparison.OrdinalIgnoreCase) ? "Sqlite"
                        : throw new ArgumentException($"--server-backend takes Sqlite or Postgres; got '{backend}'.");
                    break;
                case "--out": o.OutputDirectory = Path.GetFullPath(Value()); break;
                case "--no-json": o.WriteJson = false; break;
                case "--profile": o.Profile = true; break;
                case "--keep-temp": o.KeepTemp = true; break;
                case "--list": o.ListSuites = true; break;
                case "-h" or "--help": o.ShowHelp = true; break;
                default: throw new ArgumentException($"Unknown argument '{arg}'.");
            }
        }
        return o;
    }
}
