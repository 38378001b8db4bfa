namespace Flowstore.Engine.Tests;

/// <summary>The error a run that did not succeed stands for (what Start-FlowRun -Wait, Wait-FlowRun and agents report).</summary>
public sealed class RunErrorsTests
{
    private static FlowRunRecord Run(RunState state, string? error = null, string? errorId = null) => new()
    {
        Id = Guid.NewGuid(),
        FlowId = Guid.NewGuid(),
        FlowName = "etl",
        Project = "P",
        FlowVersion = 1,
        State = state,
        Created = DateTimeOffset.UtcNow,
        Error = error,
        ErrorId = errorId,
    };

    [Theory]
    [InlineData(RunState.Success)]
    [InlineData(RunState.Scheduled)]
    [InlineData(RunState.Running)]
    public void A_run_that_succeeded_or_has_not_ended_is_no_error(RunState state)
        => Assert.Null(RunErrors.Of(Run(state)));

    [Fact]
    public void A_failed_task_is_FlowRunFailed_naming_the_flow_and_the_error()
    {
        var error = RunErrors.Of(Run(RunState.Failed, "task 'load' failed: boom", RunErrors.Failed))!;

        Assert.Equal(RunErrors.Failed, error.ErrorId);
        Assert.Equal("Run of flow 'etl' Failed: task 'load' failed: boom", error.Message);
        Assert.Null(error.Hint);
        Assert.Equal(RunErrors.Failed, RunErrors.Of(Run(RunState.Failed, "x"))!.ErrorId);
    }

    [Fact]
    public void A_run_failed_before_its_tasks_keeps_its_error_id_and_the_fix_it_suggests()
    {
        var flow = new FlowRecord
        {
            Id = Guid.NewGuid(), VersionGroupId = Guid.NewGuid(), Name = "etl", Project = "P", Version = 1,
            StructureJson = "{}", StructureHash = "h", RegistrationKey = "k", StorageType = "Local", StorageJson = "{}",
            ScriptPath = "/flows/etl.cs", Registered = DateTimeOffset.UtcNow,
        };

        var changed = RunErrors.Of(Run(RunState.Failed, "tasks added: x", ErrorIds.StructureChanged), flow)!;
        var pinned = RunErrors.Of(Run(RunState.Failed, "gone", ErrorIds.PinnedVersionUnavailable))!;
        var lost = RunErrors.Of(Run(RunState.Failed, "agent 'a' stopped heartbeating", "RunAgentLost"))!;

        Assert.Equal(ErrorIds.StructureChanged, changed.ErrorId);
        Assert.Equal(FlowHint.RegisterFlow("/flows/etl.cs", "P"), changed.Hint);
        Assert.Equal(FlowHint.RunUnpinned(), pinned.Hint);
        Assert.Equal("RunAgentLost", lost.ErrorId);
    }

    [Fact]
    public void A_cancelled_run_is_FlowRunCancelled_whatever_its_recorded_id()
        => Assert.Equal(RunErrors.Cancelled, RunErrors.Of(Run(RunState.Cancelled, "stopped", "Whatever"))!.ErrorId);
}
