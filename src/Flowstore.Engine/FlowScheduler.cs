namespace Flowstore.Engine;

/// <summary>
/// The scheduler: creates the runs of flow schedules as their occurrences fall due, by asking a backend that can
/// (<see cref="IScheduleRunner"/>: SQLite, PostgreSQL) for a pass every <see cref="Interval"/>. It runs in
/// Start-FlowAgent on the embedded backend and in the server; any number may run against one database: their passes
/// take turns through a database lock, and each occurrence is recorded once, so no run is created twice. The clock is a
/// <see cref="TimeProvider"/> (a fake one in tests).
/// </summary>
public sealed class FlowScheduler
{
    private readonly IScheduleRunner _runner;
    private readonly TimeProvider _time;
    private readonly Action<string>? _warning;
    private readonly HashSet<string> _told = new(StringComparer.Ordinal);

    public FlowScheduler(IScheduleRunner runner, TimeProvider? time = null, TimeSpan? interval = null, Action<string>? warning = null)
    {
        ArgumentNullException.ThrowIfNull(runner);
        _runner = runner;
        _time = time ?? TimeProvider.System;
        Interval = interval ?? DefaultInterval;
        _warning = warning;
    }

    /// <summary>How often a pass is made (FLOWSTORE_SCHEDULER_INTERVAL, seconds; default 1).</summary>
    public TimeSpan Interval { get; }

    /// <summary>FLOWSTORE_SCHEDULER_INTERVAL (seconds), else 1 s.</summary>
    public static TimeSpan DefaultInterval => TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("FLOWSTORE_SCHEDULER_INTERVAL"), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : 1);

    /// <summary>The backend of <paramref name="backend"/> as a scheduler's, or null when it cannot schedule (through a server, the server does).</summary>
    public static IScheduleRunner? RunnerOf(IFlowBackend backend) => backend as IScheduleRunner;

    /// <summary>Told of each run a pass created.</summary>
    public Action<ScheduledRun>? Created { get; init; }

    /// <summary>One pass now: creates the runs due at the clock's time.</summary>
    public async Task<ScheduleTick> TickAsync(CancellationToken cancellationToken = default)
    {
        var tick = await _runner.CreateDueRunsAsync(_time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        foreach (var problem in tick.Problems)
        {
            if (_told.Add(problem))
            {
                _warning?.Invoke($"Scheduler: skipping the schedule of {problem}");
            }
        }
        foreach (var run in tick.Created)
        {
            Created?.Invoke(run);
        }
        return tick;
    }

    /// <summary>
    /// Makes a pass every <see cref="Interval"/> until cancelled. A database that does not answer is told (once until it
    /// answers again) and tried again at the next pass; the scheduler does not end.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string? lastError = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await TickAsync(cancellationToken).ConfigureAwait(false);
                if (lastError is not null)
                {
                    _warning?.Invoke("Scheduler: the backend answers again.");
                    lastError = null;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (FlowstoreException e)
            {
                if (lastError != e.Message)
                {
                    _warning?.Invoke($"Scheduler: a pass failed ({e.ErrorId}): {e.Message} It is tried again.");
                    lastError = e.Message;
                }
            }
            try
            {
                await Task.Delay(Interval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
