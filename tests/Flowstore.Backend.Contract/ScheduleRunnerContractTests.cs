using Xunit;

namespace Flowstore.Backend.Contract;

/// <summary>A clock a test sets by hand (a <see cref="TimeProvider"/>, as the scheduler reads time).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Set(DateTimeOffset now) => _now = now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>
/// The scheduler's passes (<see cref="IScheduleRunner"/>) on a backend that runs them (SQLite, PostgreSQL), with a clock
/// set by hand: which occurrences get a run, none twice (also with two schedulers racing on one database), what is
/// done with occurrences missed while no scheduler ran, paused schedules, and a daylight saving change. A subclass
/// supplies backends on one database: <see cref="CreateBackend"/> may be called more than once per fact.
/// </summary>
public abstract class ScheduleRunnerContractTests : IDisposable
{
    private readonly string _project = "sched-" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<IFlowBackend> _backends = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private IFlowBackend? _backend;

    /// <summary>A backend on the fact's database (each call another instance on the same database).</summary>
    protected abstract IFlowBackend CreateBackend();

    protected IFlowBackend Backend => _backend ??= Open();

    protected CancellationToken Ct => _timeout.Token;

    private IFlowBackend Open()
    {
        var backend = CreateBackend();
        _backends.Add(backend);
        return backend;
    }

    private static IScheduleRunner Runner(IFlowBackend backend)
        => backend as IScheduleRunner ?? throw new InvalidOperationException($"{backend.Description} does not run schedules.");

    /// <summary>Registers a flow with <paramref name="schedule"/>; returns the clock at the moment its schedule starts (its first minute not yet due).</summary>
    private async Task<(FlowRecord Flow, ManualClock Clock)> RegisterAsync(string name, Schedule schedule, bool paused = false)
    {
        if ((await Backend.GetProjectsAsync(_project, Ct)).Count == 0)
        {
            await Backend.CreateProjectAsync(_project, null, Ct);
        }
        var flow = (await Backend.RegisterFlowAsync(new FlowRegistrationRequest
        {
            Project = _project,
            Name = name,
            StructureJson = """{"tasks":[],"edges":[],"parameters":[]}""",
            StructureHash = "structure",
            RegistrationKey = "key-" + schedule.ToJson(),
            StorageType = "Local",
            StorageJson = """{"type":"Local","path":"flows/f.cs"}""",
            ScheduleJson = schedule.ToJson(),
            SchedulePaused = paused,
        }, Ct)).Flow;
        var started = Assert.Single(await Backend.GetSchedulesAsync(_project, name, Ct)).HandledUntil;
        return (flow, new ManualClock(started));
    }

    /// <summary>A pass at the clock's time; what it created for this fact's project (facts of a class may share a database).</summary>
    private async Task<ScheduleTick> TickAsync(ManualClock clock, IFlowBackend? backend = null)
    {
        var tick = await Runner(backend ?? Backend).CreateDueRunsAsync(clock.GetUtcNow(), Ct);
        return tick with { Created = tick.Created.Where(r => r.Project == _project).ToArray() };
    }

    private static DateTimeOffset NextMinute(DateTimeOffset t) => new DateTimeOffset(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero).AddMinutes(1);

    private async Task<IReadOnlyList<FlowRunRecord>> RunsOfAsync(string flow)
        => await Backend.GetRunsAsync(new RunQuery { Project = _project, FlowName = flow }, Ct);

    [Fact]
    public async Task CronEveryMinute_CreatesOneRunPerMinuteAsItFallsDue_NoneTwice()
    {
        var (flow, clock) = await RegisterAsync("every-minute", Schedule.Cron("* * * * *", parameters: new { n = 3 }));
        var first = NextMinute(clock.GetUtcNow());

        clock.Set(first.AddSeconds(-1));
        Assert.Empty((await TickAsync(clock)).Created);
        clock.Set(first);
        var atFirst = Assert.Single((await TickAsync(clock)).Created);
        Assert.Empty((await TickAsync(clock)).Created);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty((await TickAsync(clock)).Created);
        var created = new List<ScheduledRun> { atFirst };
        for (var minute = 1; minute <= 5; minute++)
        {
            clock.Set(first.AddMinutes(minute).AddSeconds(2));
            created.Add(Assert.Single((await TickAsync(clock)).Created));
            Assert.Empty((await TickAsync(clock)).Created);
        }

        Assert.Equal(Enumerable.Range(0, 6).Select(m => first.AddMinutes(m)), created.Select(r => r.Occurrence));
        Assert.All(created, r => Assert.Equal(("every-minute", 1, _project), (r.FlowName, r.FlowVersion, r.Project)));
        var runs = await RunsOfAsync("every-minute");
        Assert.Equal(created.Select(r => r.RunId).Order(), runs.Select(r => r.Id).Order());
        Assert.All(runs, r =>
        {
            Assert.Equal(RunState.Scheduled, r.State);
            Assert.Equal(flow.Id, r.FlowId);
            Assert.Equal("""{"n":3}""", r.ParametersJson);
        });
        var schedule = Assert.Single(await Backend.GetSchedulesAsync(_project, "every-minute", Ct));
        Assert.Equal(first.AddMinutes(5), schedule.LastOccurrence);
        Assert.Equal(created[^1].RunId, schedule.LastRunId);
        Assert.Equal(first.AddMinutes(5), schedule.HandledUntil);
    }

    [Fact]
    public async Task TwoSchedulersRacing_OnOneDatabase_CreateEachOccurrenceOnce()
    {
        var (_, clock) = await RegisterAsync("raced", Schedule.Cron("* * * * *"));
        var other = Open();
        var first = NextMinute(clock.GetUtcNow());
        var created = new List<ScheduledRun>();
        var bothRan = 0;

        for (var minute = 0; minute < 10; minute++)
        {
            clock.Set(first.AddMinutes(minute).AddMilliseconds(minute * 7));
            using var start = new ManualResetEventSlim();
            var passes = new[] { Backend, other, Backend, other }
                .Select(backend => Task.Run(async () => { start.Wait(Ct); return await TickAsync(clock, backend); }))
                .ToArray();
            start.Set();
            var ticks = await Task.WhenAll(passes);
            created.AddRange(ticks.SelectMany(t => t.Created));
            bothRan += ticks.Count(t => t.Ran) >= 2 ? 1 : 0;
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(m => first.AddMinutes(m)), created.Select(r => r.Occurrence).Order());
        Assert.Equal(10, (await RunsOfAsync("raced")).Count);
        Assert.Equal(10, created.Select(r => r.RunId).Distinct().Count());
    }

    [Fact]
    public async Task AfterDowntime_TheLatestMissedOccurrenceRunsOnce_ByDefault_OrEveryOneWithMissedRunsAll()
    {
        var (_, latestClock) = await RegisterAsync("latest", Schedule.Cron("* * * * *"));
        var (_, allClock) = await RegisterAsync("all", Schedule.Cron("* * * * *").WithMissedRuns(MissedRuns.All));
        var first = NextMinute(latestClock.GetUtcNow() > allClock.GetUtcNow() ? latestClock.GetUtcNow() : allClock.GetUtcNow());
        var clock = new ManualClock(first);
        var onTime = (await TickAsync(clock)).Created;
        Assert.Equal(2, onTime.Count);

        // Down for ten minutes: 10 occurrences fall due while no scheduler runs.
        clock.Set(first.AddMinutes(10).AddSeconds(20));
        var afterDowntime = (await TickAsync(clock)).Created;

        var latest = Assert.Single(afterDowntime, r => r.FlowName == "latest");
        Assert.Equal(first.AddMinutes(10), latest.Occurrence);
        Assert.Equal(Enumerable.Range(1, 10).Select(m => first.AddMinutes(m)),
            afterDowntime.Where(r => r.FlowName == "all").Select(r => r.Occurrence));
        Assert.Empty((await TickAsync(clock)).Created);
        Assert.Equal(2, (await RunsOfAsync("latest")).Count);
        Assert.Equal(11, (await RunsOfAsync("all")).Count);
    }

    [Fact]
    public async Task PausedSchedule_CreatesNoRuns_AndOnceResumed_NothingOfThePauseIsRun()
    {
        var (_, clock) = await RegisterAsync("paused", Schedule.Cron("* * * * *"), paused: true);
        var first = NextMinute(clock.GetUtcNow());

        clock.Set(first.AddMinutes(3));
        Assert.Empty((await TickAsync(clock)).Created);
        var resumed = await Backend.SetSchedulePausedAsync(_project, "paused", false, Ct);
        // Resuming starts from the real now; occurrences from then on get runs.
        clock.Set(NextMinute(resumed.HandledUntil).AddSeconds(-1));
        Assert.Empty((await TickAsync(clock)).Created);
        clock.Set(NextMinute(resumed.HandledUntil));

        var run = Assert.Single((await TickAsync(clock)).Created);
        Assert.Equal(NextMinute(resumed.HandledUntil), run.Occurrence);
        Assert.Single(await RunsOfAsync("paused"));
    }

    [Fact]
    public async Task CronInATimeZone_AcrossDaylightSavingChanges_RunsAsCronosDefines()
    {
        // 02:30 in Zurich: on 2027-03-28 the clocks jump from 02:00 to 03:00 (02:30 does not exist: run at the jump,
        // 03:00 CEST); on 2027-10-31 they go back from 03:00 to 02:00 (02:30 happens twice: run once, the first time).
        var (_, clock) = await RegisterAsync("dst", Schedule.Cron("30 2 * * *", "Europe/Zurich"));
        var spring = new[] { "2027-03-27T01:30:00Z", "2027-03-28T01:00:00Z", "2027-03-29T00:30:00Z" }.Select(DateTimeOffset.Parse);
        var autumn = new[] { "2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z" }.Select(DateTimeOffset.Parse);

        var created = new List<DateTimeOffset>();
        foreach (var (from, to) in new[] { ("2027-03-26T12:00:00Z", "2027-03-30T00:00:00Z"), ("2027-10-29T12:00:00Z", "2027-11-02T00:00:00Z") })
        {
            clock.Set(DateTimeOffset.Parse(from));
            Assert.Single((await TickAsync(clock)).Created); // the latest one missed since the last pass
            for (var t = DateTimeOffset.Parse(from).AddMinutes(15); t <= DateTimeOffset.Parse(to); t = t.AddMinutes(15))
            {
                clock.Set(t);
                created.AddRange((await TickAsync(clock)).Created.Select(r => r.Occurrence));
            }
        }

        Assert.Equal(spring.Concat(autumn), created);
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the backends; a subclass cleans up after calling this (e.g. deletes the database file).</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var backend in _backends)
            {
                backend.Dispose();
            }
            _timeout.Dispose();
        }
    }
}
