using System.Collections.Concurrent;
using System.Text.Json;

namespace Flowstore.Engine;

/// <summary>Timing of agents and runs; read from FLOWSTORE_HEARTBEAT_INTERVAL / FLOWSTORE_HEARTBEAT_TIMEOUT (seconds).</summary>
public sealed class RunTiming
{
    /// <summary>How often a running run reports a heartbeat (and checks for Stop-FlowRun).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = Seconds("FLOWSTORE_HEARTBEAT_INTERVAL", 5);

    /// <summary>A Running run whose heartbeat is older than this is failed: its agent is gone.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = Seconds("FLOWSTORE_HEARTBEAT_TIMEOUT", 60);

    /// <summary>
    /// How often a running run writes its new log lines and changed task states (FLOWSTORE_LOG_FLUSH_INTERVAL, seconds;
    /// default 0.5): what a run did is kept up to about this long before its agent dies.
    /// </summary>
    public TimeSpan LogFlushInterval { get; init; } = Seconds("FLOWSTORE_LOG_FLUSH_INTERVAL", 0.5);

    /// <summary>
    /// An agent last seen longer ago than this (FLOWSTORE_AGENT_SEEN_WINDOW, seconds; default 300) is taken to be gone
    /// when a Scheduled run says why no agent takes it.
    /// </summary>
    public TimeSpan AgentSeenWindow { get; init; } = Seconds("FLOWSTORE_AGENT_SEEN_WINDOW", 300);

    /// <summary>
    /// Agents last seen longer ago than this (FLOWSTORE_AGENT_LIST_WINDOW, seconds; default 86400 = one day) are left out
    /// of the agents listed by default (Get-FlowAgent without -All).
    /// </summary>
    public TimeSpan AgentListWindow { get; init; } = Seconds("FLOWSTORE_AGENT_LIST_WINDOW", 86_400);

    /// <summary>
    /// The record of an agent last seen longer ago than this (FLOWSTORE_AGENT_RETENTION, seconds; default 604800 = 7 days)
    /// is removed by the agents' sweep (each agent sweeps when it starts and then every <see cref="AgentSweepInterval"/>).
    /// </summary>
    public TimeSpan AgentRetention { get; init; } = Seconds("FLOWSTORE_AGENT_RETENTION", 604_800);

    /// <summary>How often an agent removes the records of agents gone longer than <see cref="AgentRetention"/> (10 minutes).</summary>
    public TimeSpan AgentSweepInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often an idle agent, or Wait-FlowRun, looks again.</summary>
    public TimeSpan PollInterval { get; init; } = Seconds("FLOWSTORE_POLL_INTERVAL", 1);

    /// <summary>
    /// An agent that loses its server or database keeps trying, waiting 1 s, then twice as long each time up to this
    /// (FLOWSTORE_RECONNECT_MAX_DELAY, seconds; default 30).
    /// </summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = Seconds("FLOWSTORE_RECONNECT_MAX_DELAY", 30);

    /// <summary>
    /// How long an agent keeps trying to reach its server or database before it gives up with the error
    /// (FLOWSTORE_RECONNECT_TIMEOUT, seconds; default 600). A run it could not finish recording is failed as stale later.
    /// </summary>
    public TimeSpan ReconnectTimeout { get; init; } = Seconds("FLOWSTORE_RECONNECT_TIMEOUT", 600);

    /// <summary>How many independent tasks of a run may run at once (FLOWSTORE_MAX_PARALLELISM; default: the core count, at least 2).</summary>
    public int MaxParallelism { get; init; } = int.TryParse(Environment.GetEnvironmentVariable("FLOWSTORE_MAX_PARALLELISM"), out var n) && n > 0
        ? n : Math.Max(2, Environment.ProcessorCount);

    /// <summary>
    /// How long a run that was asked to stop (Stop-FlowRun, the agent stopped) may take to stop on its own before its
    /// worker process is killed (FLOWSTORE_STOP_GRACE_PERIOD, seconds; default 10). Runs executed in the agent's own
    /// process cannot be killed: there a task that ignores its token is abandoned, still running.
    /// </summary>
    public TimeSpan StopGracePeriod { get; init; } = Seconds("FLOWSTORE_STOP_GRACE_PERIOD", 10);

    /// <summary>
    /// The GC heap limit of a run's worker process (FLOWSTORE_WORKER_MEMORY_MB, megabytes; default 2048): a flow that
    /// allocates past it fails its run (RunProcessCrashed) instead of exhausting the machine.
    /// </summary>
    public long WorkerMemoryLimitMB { get; init; } = Whole("FLOWSTORE_WORKER_MEMORY_MB", 2048, minimum: 64);

    /// <summary>A worker process executes at most this many runs, then a new one takes over (FLOWSTORE_WORKER_MAX_RUNS; default 100).</summary>
    public int WorkerMaxRuns { get; init; } = (int)Whole("FLOWSTORE_WORKER_MAX_RUNS", 100, minimum: 1);

    /// <summary>
    /// A worker process whose memory (working set) is above this after a run is replaced by a new one
    /// (FLOWSTORE_WORKER_RECYCLE_MB, megabytes; default 512).
    /// </summary>
    public long WorkerRecycleMB { get; init; } = Whole("FLOWSTORE_WORKER_RECYCLE_MB", 512, minimum: 32);

    private static long Whole(string variable, long fallback, long minimum)
        => long.TryParse(Environment.GetEnvironmentVariable(variable), System.Globalization.NumberStyles.Integer,
            System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= minimum ? v : fallback;

    private static TimeSpan Seconds(string variable, double fallback)
        => TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable(variable), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback);
}
