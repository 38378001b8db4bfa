using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>A clock a test sets by hand.</summary>
internal sealed class TestClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>Schedules through the engine: recorded at registration (from the script or the options), checked against the flow's parameters, and run.</summary>
public sealed class ScheduleTests : EngineTestBase
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    private static string Report(string schedule, string parameter = "flow.Parameter(\"region\", \"eu\")") => $$"""
        using Flowstore;

        var flow = new Flow("report");
        var region = {{parameter}};
        flow.Task("print", (string r) => Console.WriteLine("report for " + r), region);
        {{(schedule.Length == 0 ? "" : $"flow.Schedule = {schedule};")}}
        """;

    [Fact]
    public async Task A_schedule_in_the_script_is_recorded_with_the_version()
    {
        var path = WriteScript("report.cs", Report("Schedule.Cron(\"*/15 * * * *\", \"Europe/Zurich\")"));

        var registered = await RegisterOneAsync(path);

        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.Equal("cron '*/15 * * * *' in Europe/Zurich", registered.Schedule);
        Assert.False(registered.SchedulePaused);
        var record = await Client.GetFlowAsync("report", Project);
        Assert.Equal(Schedule.Cron("*/15 * * * *", "Europe/Zurich").ToJson(), record.ScheduleJson);
        var schedule = Assert.Single(await Client.Schedules.GetAsync(Project, ["report"], count: 3));
        Assert.Equal("Active", schedule.State);
        Assert.Equal(3, schedule.NextOccurrences.Count);
        Assert.All(schedule.NextOccurrences, t => Assert.Equal(0, t.ToOffset(TimeSpan.FromHours(1)).Minute % 15));
    }

    [Fact]
    public async Task A_changed_schedule_is_a_new_version_and_the_reason_says_what_changed()
    {
        var path = WriteScript("report.cs", Report("Schedule.Cron(\"0 6 * * 1-5\", \"Europe/Berlin\")"));
        var first = await RegisterOneAsync(path);
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterOneAsync(path)).Status);

        File.WriteAllText(path, Report("Schedule.Every(TimeSpan.FromMinutes(15))"));
        var second = await RegisterOneAsync(path);

        Assert.Equal(1, first.Version);
        Assert.Equal(RegistrationStatus.Registered, second.Status);
        Assert.Equal(2, second.Version);
        Assert.Equal("schedule changed: cron '0 6 * * 1-5' in Europe/Berlin -> every 15m", second.Reason);
        Assert.Equal(first.StructureHash, second.StructureHash);
    }

    [Fact]
    public async Task A_schedule_given_at_registration_replaces_the_scripts_and_no_schedule_pauses_it()
    {
        var path = WriteScript("report.cs", Report("Schedule.Cron(\"0 6 * * *\")"));

        var registered = await RegisterOneAsync(path, new RegisterOptions
        {
            Project = Project,
            Schedule = Schedule.Cron("0 7 * * *", "Europe/Zurich", new Dictionary<string, object?> { ["region"] = "ch" }),
            NoSchedule = true,
        });

        Assert.Equal("cron '0 7 * * *' in Europe/Zurich with {\"region\":\"ch\"}", registered.Schedule);
        Assert.True(registered.SchedulePaused);
        var schedule = Assert.Single(await Client.Schedules.GetAsync(Project, null));
        Assert.Equal("Paused", schedule.State);
        Assert.Empty(schedule.NextOccurrences);
        Assert.Equal("ch", schedule.Parameters["region"]);

        // Registering the same again without -NoSchedule records nothing and leaves the schedule paused.
        var again = await RegisterOneAsync(path, new RegisterOptions { Project = Project, Schedule = Schedule.Cron("0 7 * * *", "Europe/Zurich", new Dictionary<string, object?> { ["region"] = "ch" }) });
        Assert.Equal(RegistrationStatus.Skipped, again.Status);
        Assert.True(again.SchedulePaused);

        var active = await Client.Schedules.SetPausedAsync(Project, "report", paused: false);
        Assert.Equal("Active", active.State);
        Assert.NotNull(active.Next);
    }

    [Fact]
    public async Task A_flow_with_a_required_parameter_the_schedule_gives_no_value_cannot_be_scheduled()
    {
        var path = WriteScript("report.cs", Report("Schedule.Cron(\"0 6 * * *\")", "flow.Parameter<string>(\"region\")"));

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterOneAsync(path));

        Assert.Equal(ErrorIds.ScheduleParameterMissing, error.ErrorId);
        Assert.Contains("Flow 'report'", error.Message);
        Assert.Contains("parameter 'region'", error.Message);
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));

        File.WriteAllText(path, Report("Schedule.Cron(\"0 6 * * *\", parameters: new { region = \"eu\" })", "flow.Parameter<string>(\"region\")"));
        Assert.Equal(RegistrationStatus.Registered, (await RegisterOneAsync(path)).Status);

        File.WriteAllText(path, Report("Schedule.Cron(\"0 6 * * *\", parameters: new { regoin = \"eu\" })", "flow.Parameter(\"region\", \"x\")"));
        var unknown = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterOneAsync(path));
        Assert.Equal(ErrorIds.ScheduleParameterUnknown, unknown.ErrorId);
        Assert.Contains("'regoin'", unknown.Message);
    }

    [Fact]
    public async Task An_invalid_cron_expression_or_time_zone_in_the_script_fails_registration_with_InvalidSchedule()
    {
        var badCron = WriteScript("cron.cs", Report("Schedule.Cron(\"61 * * * *\")"));
        var badZone = WriteScript("zone.cs", Report("Schedule.Cron(\"0 * * * *\", \"Mars/Olympus\")"));

        var cron = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterOneAsync(badCron));
        var zone = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterOneAsync(badZone));

        Assert.Equal(ErrorIds.InvalidSchedule, cron.ErrorId);
        Assert.Contains("'61 * * * *'", cron.Message);
        Assert.Equal(ErrorIds.InvalidSchedule, zone.ErrorId);
        Assert.Contains("'Mars/Olympus'", zone.Message);
    }

    [Fact]
    public async Task The_scheduler_with_a_fake_clock_creates_the_run_of_each_minute_once_and_an_agent_runs_it_with_the_schedules_parameters()
    {
        var path = WriteScript("report.cs", Report("Schedule.Cron(\"* * * * *\", parameters: new { region = \"apac\" })"));
        await RegisterOneAsync(path);
        var start = Assert.Single(await Client.Schedules.GetAsync(Project, ["report"])).HandledUntil;
        var clock = new TestClock(start);
        var created = new List<ScheduledRun>();
        var scheduler = new FlowScheduler(FlowScheduler.RunnerOf(Client.Backend)!, clock) { Created = created.Add };
        var minute = new DateTimeOffset(start.UtcTicks - start.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);

        for (var second = 0; second <= 3 * 60; second += 20)
        {
            clock.Now = minute.AddSeconds(second);
            await scheduler.TickAsync();
        }

        Assert.Equal(new[] { 1, 2, 3 }.Select(m => minute.AddMinutes(m)), created.Select(r => r.Occurrence));
        var ran = await Client.RunAgentAsync("scheduled", once: true).WaitAsync(Guard);
        Assert.Equal(3, ran.Count);
        Assert.All(ran, r => Assert.Equal(RunState.Success, r.State));
        var log = await Client.GetRunLogAsync(ran[0].Id);
        Assert.Contains(log, l => l.Message.Contains("report for apac"));
    }

    [Fact]
    public async Task An_agent_on_the_embedded_backend_creates_a_due_scheduled_run_and_runs_it()
    {
        var path = WriteScript("report.cs", Report("Schedule.Every(TimeSpan.FromSeconds(1))"));
        await RegisterOneAsync(path);
        var start = Assert.Single(await Client.Schedules.GetAsync(Project, ["report"])).HandledUntil;
        Client.Runs.Time = new TestClock(start.AddSeconds(5));

        var ran = await Client.RunAgentAsync("agent", once: true).WaitAsync(Guard);

        // Five occurrences fell due since registration; by default only the latest gets a run.
        var run = Assert.Single(ran);
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal("report", run.FlowName);
        var schedule = Assert.Single(await Client.Schedules.GetAsync(Project, ["report"]));
        Assert.Equal(run.Id, schedule.LastRunId);
    }
}
