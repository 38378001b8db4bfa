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
    public const int DefaultDrainRuns = 1000;
    public const int DefaultAgents = 4;

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

    /// <summary>True when --server-backend was given (the agents suite defaults to Postgres).</summary>
    public bool ServerBackendGiven { get; private set; }

    /// <summary>Agents suite: runs queued per repetition of the drain cases.</summary>
    public int DrainRuns { get; private set; } = DefaultDrainRuns;

    /// <summary>Agents suite: agent processes draining the queue at once.</summary>
    public int Agents { get; private set; } = DefaultAgents;

    /// <summary>Agents suite: n of the light and long Fibonacci tasks (null: calibrated to about 10 ms and 300 ms).</summary>
    public int? FibLight { get; private set; }

    public int? FibLong { get; private set; }

    /// <summary>Agents suite: where the agents execute runs, Process (worker processes, the default) or InProcess.</summary>
    public string Isolation { get; private set; } = "Process";

    /// <summary>Agents suite: the idle peers agent's poll interval (seconds, FLOWSTORE_POLL_INTERVAL).</summary>
    public double AgentPoll { get; private set; } = 0.05;

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
          --server-backend B team and agents suites: the server's backend, Sqlite or Postgres (default:
                             Sqlite for team, Postgres for agents)
          --postgres CONN    team suite, Postgres: the connection string (default: the environment variable
                             FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING set by tests/servers/Start-Postgres.ps1)
          --clients C        team suite: concurrent Get-Flow clients (default 50)
          --requests R       team suite: Get-Flow requests per client per repetition (default 20)
          --drain-runs N     agents suite: no-op runs queued per drain repetition (default 1000)
          --agents A         agents suite: agent processes draining at once (default 4)
          --fib-light N      agents suite: fib(N) per light task (default: calibrated to ~10 ms)
          --fib-long N       agents suite: fib(N) per long task (default: calibrated to ~300 ms)
          --isolation I      agents suite: Process (worker processes, default) or InProcess
          --agent-poll S     agents suite: the idle peers agent's poll interval in seconds (default 0.05)
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
                case "--drain-runs": o.DrainRuns = Positive(1); break;
                case "--agents": o.Agents = Positive(1); break;
                case "--fib-light": o.FibLight = Positive(1); break;
                case "--fib-long": o.FibLong = Positive(1); break;
                case "--isolation":
                    var isolation = Value();
                    o.Isolation = isolation.Equals("Process", StringComparison.OrdinalIgnoreCase) ? "Process"
                        : isolation.Equals("InProcess", StringComparison.OrdinalIgnoreCase) ? "InProcess"
                        : throw new ArgumentException($"--isolation takes Process or InProcess; got '{isolation}'.");
                    break;
                case "--agent-poll":
                    var poll = Value();
                    o.AgentPoll = double.TryParse(poll, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                        ? seconds : throw new ArgumentException($"--agent-poll takes a positive number of seconds; got '{poll}'.");
                    break;
                case "--server-backend":
                    var backend = Value();
                    o.ServerBackendGiven = true;
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
