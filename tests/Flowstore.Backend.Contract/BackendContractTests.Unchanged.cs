using Xunit;

namespace Flowstore.Backend.Contract;

// Registration without compiling: a registration records its input (script SHA-256, path and options, hashed by the
// client) and how many flows it registered; the backend answers which inputs are still registered unchanged.
public abstract partial class BackendContractTests
{
    private static FlowRegistrationRequest FromInput(string project, string name, string key, string input, int flows) =>
        Request(project, name, key) with { RegistrationInput = input, RegistrationInputFlows = flows };

    private async Task<IReadOnlyList<string>> UnchangedAsync(string project, params string[] inputs)
        => (await Backend.FindUnchangedRegistrationsAsync(project, inputs, Ct)).Select(u => u.RegistrationInput).ToArray();

    [Fact]
    public async Task FindUnchanged_AnswersAnInputWhoseFlowsAllStillCarryIt_WithTheirLatestVersions()
    {
        var project = await NewProjectAsync();
        await Backend.RegisterFlowAsync(FromInput(project.Name, "extract", "k1", "input-a", 2), Ct);
        var load = (await Backend.RegisterFlowAsync(FromInput(project.Name, "load", "k1", "input-a", 2), Ct)).Flow;

        var found = await Backend.FindUnchangedRegistrationsAsync(project.Name, ["input-a", "input-unknown"], Ct);

        var unchanged = Assert.Single(found);
        Assert.Equal("input-a", unchanged.RegistrationInput);
        Assert.Equal(["extract", "load"], unchanged.Flows.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Equal(load.Id, unchanged.Flows.Single(f => f.Name == "load").Id);
        Assert.All(unchanged.Flows, f => Assert.False(f.Archived));
        Assert.Equal(["input-a"], await UnchangedAsync(project.Name.ToUpperInvariant(), "input-a"));
    }

    [Fact]
    public async Task FindUnchanged_LeavesOutAnInputWhoseFlowChangedSinceOrWasUnregisteredOrNeverAllRegistered()
    {
        var project = await NewProjectAsync();
        // A later registration of one flow from another input (the file changed).
        await Backend.RegisterFlowAsync(FromInput(project.Name, "a1", "k1", "changed", 2), Ct);
        await Backend.RegisterFlowAsync(FromInput(project.Name, "a2", "k1", "changed", 2), Ct);
        await Backend.RegisterFlowAsync(FromInput(project.Name, "a2", "k2", "changed-later", 1), Ct);
        // A flow unregistered since.
        var archived = (await Backend.RegisterFlowAsync(FromInput(project.Name, "b", "k1", "unregistered", 1), Ct)).Flow;
        await Backend.ArchiveFlowAsync(archived.VersionGroupId, Ct);
        // One of two flows registered (the other failed).
        await Backend.RegisterFlowAsync(FromInput(project.Name, "c1", "k1", "partial", 2), Ct);
        // Registered without an input, then forced from the input: the latest carries it.
        await Backend.RegisterFlowAsync(Request(project.Name, "d", "k1"), Ct);
        await Backend.RegisterFlowAsync(FromInput(project.Name, "d", "k1", "forced", 1) with { Force = true }, Ct);

        Assert.Equal(["changed-later", "forced"],
            (await UnchangedAsync(project.Name, "changed", "unregistered", "partial", "changed-later", "forced")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FindUnchanged_IsEmptyForAnotherProjectOrOneThatDoesNotExist()
    {
        var project = await NewProjectAsync();
        var other = await NewProjectAsync("other");
        await Backend.RegisterFlowAsync(FromInput(project.Name, "etl", "k1", "input-a", 1), Ct);

        Assert.Empty(await UnchangedAsync(other.Name, "input-a"));
        Assert.Empty(await UnchangedAsync(UniqueName("missing"), "input-a"));
    }
}
