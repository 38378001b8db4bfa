namespace Flowstore.Engine.Tests;

/// <summary>The flow query behind Get-Flow: latest versions, all versions, wildcard names, missing names, order.</summary>
public sealed class FlowQueryTests : EngineTestBase
{
    private static string Script(params string[] flows) => "using Flowstore;\n" + string.Concat(flows.Select((name, i) =>
        $"var f{i} = new Flow(\"{name}\");\nf{i}.Task(\"run\", () => Console.WriteLine(\"{name}\"));\n"));

    private async Task RegisterFlowsAsync(string file, string project, params string[] flows)
    {
        await Client.EnsureProjectAsync(project, create: true);
        await RegisterAsync(WriteScript(file, Script(flows)), new RegisterOptions { Project = project });
    }

    [Fact]
    public async Task The_latest_version_of_each_flow_sorted_by_project_name_and_version()
    {
        await RegisterFlowsAsync("b.cs", "Zeta", "beta");
        await RegisterFlowsAsync("a.cs", Project, "Gamma", "alpha");
        await RegisterAsync(WriteScript("a.cs", Script("Gamma", "alpha") + "f1.Task(\"more\", () => { });\n"), new RegisterOptions { Project = Project });

        var found = await Client.Catalog.SearchAsync(new FlowSearch());

        Assert.Equal(new[] { ("P", "alpha", 2), ("P", "Gamma", 1), ("Zeta", "beta", 1) }, found.Flows.Select(f => (f.Project, f.Name, f.Version)));
        Assert.Empty(found.Missing);
    }

    [Fact]
    public async Task AllVersions_lists_every_version_newest_first_archived_included_and_Version_picks_one()
    {
        await RegisterFlowsAsync("a.cs", Project, "alpha");
        await RegisterAsync(WriteScript("a.cs", Script("alpha") + "f0.Task(\"more\", () => { });\n"), new RegisterOptions { Project = Project });
        await Client.UnregisterAsync(await Client.GetFlowAsync("alpha", Project));

        var all = await Client.Catalog.SearchAsync(new FlowSearch { AllVersions = true });
        var latest = await Client.Catalog.SearchAsync(new FlowSearch());
        var first = await Client.Catalog.SearchAsync(new FlowSearch { Version = 1 });

        Assert.Equal(new[] { 2, 1 }, all.Flows.Select(f => f.Version));
        Assert.Empty(latest.Flows);
        Assert.Equal(1, Assert.Single(first.Flows).Version);
    }

    [Fact]
    public async Task Names_match_as_case_insensitive_wildcards_and_a_plain_name_that_matches_nothing_is_reported()
    {
        await RegisterFlowsAsync("a.cs", Project, "etl_daily", "etl_hourly", "report");

        var etl = await Client.Catalog.SearchAsync(new FlowSearch { Names = ["ETL_*"] });
        var one = await Client.Catalog.SearchAsync(new FlowSearch { Names = ["etl_?ourly", "REPORT"] });
        var set = await Client.Catalog.SearchAsync(new FlowSearch { Names = ["[r]*"] });
        var missing = await Client.Catalog.SearchAsync(new FlowSearch { Names = ["nope", "no*"], Project = Project });

        Assert.Equal(new[] { "etl_daily", "etl_hourly" }, etl.Flows.Select(f => f.Name));
        Assert.Equal(new[] { "etl_hourly", "report" }, one.Flows.Select(f => f.Name));
        Assert.Equal(new[] { "report" }, set.Flows.Select(f => f.Name));
        Assert.Empty(missing.Flows);
        var error = Assert.Single(missing.Missing);
        Assert.Equal(ErrorIds.FlowNotFound, error.ErrorId);
        Assert.Equal("nope", error.Target);
        Assert.Contains($"'nope' is not registered in project '{Project}'", error.Message);
    }

    [Fact]
    public async Task By_id_finds_archived_versions_and_reports_an_unknown_id()
    {
        await RegisterFlowsAsync("a.cs", Project, "alpha");
        var flow = await Client.GetFlowAsync("alpha", Project);
        await Client.UnregisterAsync(flow);
        var unknown = Guid.NewGuid();

        var found = await Client.Catalog.GetByIdsAsync([flow.Id, unknown]);

        Assert.Equal(flow.Id, Assert.Single(found.Flows).Id);
        Assert.Equal(ErrorIds.FlowNotFound, Assert.Single(found.Missing).ErrorId);
        Assert.Contains(unknown.ToString(), found.Missing[0].Message);
    }

    [Theory]
    [InlineData("etl*", "ETL_daily", true)]
    [InlineData("etl?", "etl", false)]
    [InlineData("e[a-f]l", "Edl", true)]
    [InlineData("e[a-f]l", "egl", false)]
    [InlineData("a`*b", "a*b", true)]
    [InlineData("a`*b", "axb", false)]
    [InlineData("a.b", "axb", false)]
    [InlineData("[unclosed", "[unclosed", true)]
    public void Wildcards_match_as_PowerShell_does(string pattern, string name, bool matches)
        => Assert.Equal(matches, Wildcard.Parse(pattern).IsMatch(name));

    [Theory]
    [InlineData("plain", false)]
    [InlineData("a*", true)]
    [InlineData("a?", true)]
    [InlineData("[ab]", true)]
    [InlineData("a`*", false)]
    public void A_name_has_wildcards_unless_they_are_escaped(string pattern, bool has)
        => Assert.Equal(has, Wildcard.HasWildcards(pattern));
}
