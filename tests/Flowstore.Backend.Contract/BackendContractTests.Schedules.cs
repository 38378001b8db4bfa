using Xunit;

namespace Flowstore.Backend.Contract;

// Schedules as every backend keeps them (IScheduleStore): recorded with a version, paused and resumed per flow. The
// schedules here fall due once a year at most, so a server's own scheduler creates no run while a fact runs.
public abstract partial class BackendContractTests
{
    private static readonly string Yearly = Schedule.Cron("0 3 1 1 *", "Europe/Zurich", new { region = "eu" }).ToJson();

    [Fact]
    public async Task Register_WithSchedule_RecordsItWithTheVersion_AndTheScheduleIsActiveFromNow()
    {
        var project = await NewProjectAsync();
        var before = DateTimeOffset.UtcNow;

        var outcome = await Backend.RegisterFlowAsync(Request(project.Name, "nightly") with { ScheduleJson = Yearly }, Ct);
        var after = DateTimeOffset.UtcNow;

        Assert.Equal(Yearly, outcome.Flow.ScheduleJson);
        Assert.Equal(Yearly, Assert.Single(await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name }, Ct)).ScheduleJson);
        var schedule = Assert.Single(await Backend.GetSchedulesAsync(project.Name, "NIGHTLY", Ct));
        Assert.Equal(project.Name, schedule.Project);
        Assert.Equal("nightly", schedule.FlowName);
        Assert.Equal(outcome.Flow.Id, schedule.FlowId);
        Assert.Equal(1, schedule.FlowVersion);
        Assert.Equal(Yearly, schedule.ScheduleJson);
        Assert.False(schedule.Paused);
        AssertUtcBetween(schedule.HandledUntil, before, after);
        Assert.Null(schedule.LastOccurrence);
        Assert.Null(schedule.LastRunId);
        Assert.Equal("eu", schedule.Schedule.Parameters["region"]);
    }

    [Fact]
    public async Task GetSchedules_ListsOnlyLatestUnarchivedVersionsThatHaveASchedule()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "plain"), Ct);
        await Backend.RegisterFlowAsync(Request(project.Name, "b-scheduled", "k1") with { ScheduleJson = Yearly }, Ct);
        var v2 = (await Backend.RegisterFlowAsync(Request(project.Name, "b-scheduled", "k2") with { ScheduleJson = Yearly }, Ct)).Flow;
        var gone = (await Backend.RegisterFlowAsync(Request(project.Name, "a-gone") with { ScheduleJson = Yearly }, Ct)).Flow;
        await Backend.ArchiveFlowAsync(gone.VersionGroupId, Ct);

        var schedules = await Backend.GetSchedulesAsync(project.Name, null, Ct);

        var only = Assert.Single(schedules);
        Assert.Equal(v2.Id, only.FlowId);
        Assert.Equal(2, only.FlowVersion);
        Assert.Empty(await Backend.GetSchedulesAsync(project.Name, "plain", Ct));
    }

    [Fact]
    public async Task Register_SchedulePaused_ThenResume_StartsFromNow()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "nightly") with { ScheduleJson = Yearly, SchedulePaused = true }, Ct);
        var paused = Assert.Single(await Backend.GetSchedulesAsync(project.Name, "nightly", Ct));
        Assert.True(paused.Paused);

        var before = DateTimeOffset.UtcNow;
        var resumed = await Backend.SetSchedulePausedAsync(project.Name, "Nightly", paused: false, Ct);

        Assert.False(resumed.Paused);
        Assert.True(resumed.HandledUntil >= Truncated(before), "resuming starts the schedule from now");
        Assert.False(Assert.Single(await Backend.GetSchedulesAsync(project.Name, "nightly", Ct)).Paused);
        Assert.True((await Backend.SetSchedulePausedAsync(project.Name, "nightly", paused: true, Ct)).Paused);
    }

    [Fact]
    public async Task Register_NewVersion_KeepsAPausedSchedulePaused()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "nightly", "k1") with { ScheduleJson = Yearly, SchedulePaused = true }, Ct);

        await Backend.RegisterFlowAsync(Request(project.Name, "nightly", "k2") with { ScheduleJson = Yearly }, Ct);

        var schedule = Assert.Single(await Backend.GetSchedulesAsync(project.Name, "nightly", Ct));
        Assert.Equal(2, schedule.FlowVersion);
        Assert.True(schedule.Paused);
    }

    [Fact]
    public async Task SetSchedulePaused_FlowWithoutSchedule_IsScheduleNotFound_AndUnknownFlow_IsFlowNotFound()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(Request(project.Name, "plain"), Ct);

        var none = await Assert.ThrowsAsync<FlowstoreException>(() => Backend.SetSchedulePausedAsync(project.Name, "plain", true, Ct));
        var unknown = await Assert.ThrowsAsync<FlowstoreException>(() => Backend.SetSchedulePausedAsync(project.Name, "nope", true, Ct));

        Assert.Equal(ErrorIds.ScheduleNotFound, none.ErrorId);
        Assert.Contains("'plain'", none.Message);
        Assert.Equal(ErrorIds.FlowNotFound, unknown.ErrorId);
        Assert.Contains("'nope'", unknown.Message);
    }

    private static DateTimeOffset Truncated(DateTimeOffset value) => new(value.UtcTicks - value.UtcTicks % 10, TimeSpan.Zero);
}
