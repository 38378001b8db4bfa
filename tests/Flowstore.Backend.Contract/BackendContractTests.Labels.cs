using Xunit;

namespace Flowstore.Backend.Contract;

// Labels decide who runs what: an agent claims a run only when every label of the run's flow is one of its own.
// Claims without labels (null) are the process that started the run executing it itself: any flow.
public abstract partial class BackendContractTests
{
    private async Task<FlowRecord> LabelledFlowAsync(string name, params string[] labels)
    {
        var project = await NewProjectAsync("labels-" + name);
        return (await Backend.RegisterFlowAsync(Request(project.Name, name, labels: labels), Ct)).Flow;
    }

    [Fact]
    public async Task ClaimRun_WithLabels_TakesTheOldestRunWhoseFlowLabelsAreAllAmongTheAgents()
    {
        await CancelScheduledRunsAsync();
        var gpuLinux = await LabelledFlowAsync("gpu_linux", "gpu", "linux");
        var gpu = await LabelledFlowAsync("gpu", "gpu");
        var plain = await LabelledFlowAsync("plain");
        var gpuLinuxRun = await Backend.CreateRunAsync(new NewRun { Flow = gpuLinux }, Ct);
        var gpuRun = await Backend.CreateRunAsync(new NewRun { Flow = gpu }, Ct);
        var plainRun = await Backend.CreateRunAsync(new NewRun { Flow = plain }, Ct);

        // The two older runs need "gpu": an agent without it skips them and takes the unlabelled one.
        var linuxAgent = await Backend.ClaimRunAsync("agent-linux", null, ["linux"], Ct);
        Assert.Equal(plainRun.Id, linuxAgent?.Id);
        Assert.Equal("agent-linux", linuxAgent?.Agent);
        Assert.Null(await Backend.ClaimRunAsync("agent-linux", null, ["linux"], Ct));

        // "gpu" alone covers the gpu flow, not the one that also needs "linux".
        Assert.Equal(gpuRun.Id, (await Backend.ClaimRunAsync("agent-gpu", null, ["gpu"], Ct))?.Id);
        Assert.Null(await Backend.ClaimRunAsync("agent-gpu", null, ["gpu"], Ct));
        Assert.Equal(RunState.Scheduled, (await GetRunAsync(gpuLinuxRun.Id)).State);

        // More labels than the flow needs are fine.
        Assert.Equal(gpuLinuxRun.Id, (await Backend.ClaimRunAsync("agent-big", null, ["x", "linux", "gpu"], Ct))?.Id);
        Assert.Equal("agent-big", (await GetRunAsync(gpuLinuxRun.Id)).Agent);
    }

    [Fact]
    public async Task ClaimRun_WithNoLabels_TakesOnlyRunsOfFlowsWithoutLabels()
    {
        await CancelScheduledRunsAsync();
        var labelled = await Backend.CreateRunAsync(new NewRun { Flow = await LabelledFlowAsync("prod_only", "prod") }, Ct);

        Assert.Null(await Backend.ClaimRunAsync("agent-bare", null, [], Ct));
        Assert.Null(await Backend.ClaimRunAsync("agent-bare", labelled.Id, [], Ct));
        Assert.Equal(RunState.Scheduled, (await GetRunAsync(labelled.Id)).State);
    }

    [Fact]
    public async Task ClaimRun_Labels_MatchExactlyIncludingCase()
    {
        await CancelScheduledRunsAsync();
        var run = await Backend.CreateRunAsync(new NewRun { Flow = await LabelledFlowAsync("cased", "GPU") }, Ct);

        Assert.Null(await Backend.ClaimRunAsync("agent-lower", null, ["gpu", "gp", "GPU2", "%"], Ct));
        Assert.Equal(run.Id, (await Backend.ClaimRunAsync("agent-upper", null, ["GPU"], Ct))?.Id);
    }

    [Fact]
    public async Task ClaimRun_ByIdWithLabels_TakesThatRunOnlyWhenTheLabelsCoverItsFlow()
    {
        var run = await Backend.CreateRunAsync(new NewRun { Flow = await LabelledFlowAsync("by_id", "eu", "batch") }, Ct);

        Assert.Null(await Backend.ClaimRunAsync("agent-eu", run.Id, ["eu"], Ct));
        Assert.Equal(RunState.Scheduled, (await GetRunAsync(run.Id)).State);

        var claimed = await Backend.ClaimRunAsync("agent-both", run.Id, ["batch", "eu"], Ct);
        Assert.Equal(run.Id, claimed?.Id);
        Assert.Equal(RunState.Running, claimed?.State);
    }

    [Fact]
    public async Task ClaimRun_WithoutLabels_TakesAnyFlowAsBefore()
    {
        var run = await Backend.CreateRunAsync(new NewRun { Flow = await LabelledFlowAsync("any", "somewhere-else") }, Ct);

        var claimed = await Backend.ClaimRunAsync("here-and-now", run.Id, null, Ct);

        Assert.Equal(run.Id, claimed?.Id);
        Assert.Equal("here-and-now", claimed?.Agent);
    }

    [Fact]
    public async Task ClaimRun_LabelsWithQuotesAndUnicode_AreComparedAsText()
    {
        await CancelScheduledRunsAsync();
        string[] odd = ["it's", "\"quoted\"", "zürich", "a,b", "[x]"];
        var run = await Backend.CreateRunAsync(new NewRun { Flow = await LabelledFlowAsync("odd", odd) }, Ct);

        Assert.Null(await Backend.ClaimRunAsync("agent-part", null, odd[..4], Ct));
        Assert.Null(await Backend.ClaimRunAsync("agent-split", null, ["a", "b", .. odd[..2], "zürich", "[x]"], Ct));
        Assert.Equal(run.Id, (await Backend.ClaimRunAsync("agent-all", null, odd, Ct))?.Id);
    }
}
