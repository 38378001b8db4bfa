namespace Flowstore.Core.Tests;

public class FlowStructureInfoTests
{
    private static FlowStructureInfo Report()
    {
        var flow = new Flow("report");
        var day = flow.Parameter("day", "monday");
        var limit = flow.Parameter<int>("limit");
        var raw = flow.Task("Get Data", (string d) => new[] { d }, day,
            new TaskOptions { Retries = 2, RetryDelay = TimeSpan.FromSeconds(5), Timeout = TimeSpan.FromMinutes(1) });
        var rows = flow.Task("clean", (string[] r, int l) => r.Take(l).ToArray(), raw, limit);
        var announce = flow.Task("announce", () => Console.WriteLine("start"));
        flow.Task("publish", (string[] r) => r.Length, rows).After(announce);
        return new FlowStructureInfo(FlowStructure.FromFlow(flow));
    }

    [Fact]
    public void Tasks_come_upstream_first_with_their_options_upstream_tasks_and_parameters_by_the_names_the_script_wrote()
    {
        var structure = Report();

        Assert.Equal(new[] { "announce", "Get Data", "clean", "publish" }, structure.Tasks.Select(t => t.Name));
        var get = structure.Tasks[1];
        Assert.Equal((2, TimeSpan.FromSeconds(5), (TimeSpan?)TimeSpan.FromMinutes(1)), (get.Retries, get.RetryDelay, get.Timeout));
        Assert.Empty(get.Upstream);
        Assert.Equal(new[] { "day" }, get.Parameters);
        Assert.Equal(new[] { "Get Data" }, structure.Tasks[2].Upstream);
        Assert.Equal(new[] { "limit" }, structure.Tasks[2].Parameters);
        Assert.Equal(new[] { "announce", "clean" }, structure.Tasks[3].Upstream);
        Assert.Null(structure.Tasks[3].Timeout);
    }

    [Fact]
    public void Parameters_have_type_default_and_required_and_edges_name_tasks()
    {
        var structure = Report();

        Assert.Equal(new[] { new FlowParameterInfo("day", "string", "monday", false), new FlowParameterInfo("limit", "int", null, true) },
            structure.Parameters);
        Assert.Equal(new[] { "day (string) = 'monday'", "limit (int, required)" }, structure.Parameters.Select(p => p.ToString()));
        Assert.Contains(new FlowEdgeInfo("Get Data", "clean", structure.Edges.Single(e => e.To == "clean" && e.Kind == FlowEdgeKind.Data).Input, FlowEdgeKind.Data), structure.Edges);
        Assert.Contains(structure.Edges, e => e is { From: "announce", To: "publish", Kind: FlowEdgeKind.Order });
        Assert.Contains(structure.Edges, e => e is { From: "limit", To: "clean", Kind: FlowEdgeKind.Parameter });
        Assert.Equal("4 tasks (announce, Get Data, clean, publish), 5 edges, 2 parameters", structure.ToString());
    }

    [Fact]
    public void The_canonical_json_is_there_on_request_and_reads_back()
    {
        var structure = Report();

        var back = FlowStructureInfo.FromJson(structure.ToJson());

        Assert.Equal(structure.Hash, back.Hash);
        Assert.Equal(structure.Tasks.Select(t => t.Name), back.Tasks.Select(t => t.Name));
        Assert.Equal("1 task, 0 edges, 0 parameters", FlowStructureInfo.FromJson(new FlowStructure(
            [new TaskStructure("only", "only", 0, 0, null)], [], []).CanonicalJson).ToString().Replace(" (only)", ""));
    }
}
