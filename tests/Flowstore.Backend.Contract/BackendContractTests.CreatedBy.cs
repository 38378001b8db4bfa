using Xunit;

namespace Flowstore.Backend.Contract;

// Who made it: a server sets the name of the API key that made a registration or started a run; the backend keeps it
// with the flow version and the run, and null when there was no key (a local call).
public abstract partial class BackendContractTests
{
    [Fact]
    public async Task Register_RecordsTheNameOfTheKeyThatMadeIt_NullWithoutOne()
    {
        var project = await NewProjectAsync();

        var local = (await Backend.RegisterFlowAsync(Request(project.Name, "etl", "k1"), Ct)).Flow;
        var byCi = (await Backend.RegisterFlowAsync(Request(project.Name, "etl", "k2") with { CreatedBy = "ci-pipeline" }, Ct)).Flow;

        Assert.Null(local.CreatedBy);
        Assert.Equal("ci-pipeline", byCi.CreatedBy);
        var stored = await Backend.GetFlowsAsync(new FlowQuery { Project = project.Name, IncludeArchived = true }, Ct);
        Assert.Equal("ci-pipeline", stored.Single(f => f.Version == 2).CreatedBy);
        Assert.Null(stored.Single(f => f.Version == 1).CreatedBy);
    }

    [Fact]
    public async Task CreateRun_RecordsTheNameOfTheKeyThatStartedIt_NullWithoutOne()
    {
        var flow = await NewFlowAsync();

        var byCi = await Backend.CreateRunAsync(new NewRun { Flow = flow, CreatedBy = "ci-pipeline" }, Ct);
        var local = await Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        Assert.Equal("ci-pipeline", byCi.CreatedBy);
        Assert.Null(local.CreatedBy);
        Assert.Equal("ci-pipeline", (await GetRunAsync(byCi.Id)).CreatedBy);
        Assert.Null((await GetRunAsync(local.Id)).CreatedBy);
    }
}
