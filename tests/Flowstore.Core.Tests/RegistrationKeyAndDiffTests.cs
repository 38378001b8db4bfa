namespace Flowstore.Core.Tests;

public class RegistrationKeyTests
{
    private const string Hash = "9305c52953259f8add7703b65cc4fd25a2cda1f5b3b7cdaeec42b9e4d514847d";

    private static string Key(string project = "MyProject", string flow = "example", string hash = Hash,
        string locator = "local:/flows/my_flow.cs", params string[] labels)
        => RegistrationKey.Compute(project, flow, hash, locator, labels.Length == 0 ? new[] { "prod", "etl" } : labels);

    [Fact]
    public void The_key_is_stable_and_independent_of_label_order_and_repetition()
    {
        Assert.Equal(Key(), Key());
        Assert.Equal(Key(labels: new[] { "etl", "prod" }), Key(labels: new[] { "prod", "etl" }));
        Assert.Equal(Key(labels: new[] { "etl", "prod" }), Key(labels: new[] { "prod", "etl", "prod" }));
        Assert.Matches("^[0-9a-f]{64}$", Key());
    }

    [Fact]
    public void The_key_changes_with_project_flow_storage_labels_and_structure()
    {
        var baseline = Key();
        var variants = new[]
        {
            Key(project: "Other"),
            Key(flow: "other"),
            Key(locator: "local:/flows/other.cs"),
            Key(locator: "local-frozen:/home/.flowstore/flows"),
            Key(labels: new[] { "prod" }),
            Key(labels: new[] { "prod", "etl", "nightly" }),
            Key(labels: new[] { "Prod", "etl" }),
            Key(hash: new string('0', 64)),
        };

        Assert.All(variants, v => Assert.NotEqual(baseline, v));
        Assert.Equal(variants.Length, variants.Distinct().Count());
    }

    [Fact]
    public void Fields_cannot_run_into_each_other()
    {
        // A naive concatenation would make these equal.
        Assert.NotEqual(
            RegistrationKey.Compute("ab", "c", Hash, "x", Array.Empty<string>()),
            RegistrationKey.Compute("a", "bc", Hash, "x", Array.Empty<string>()));
        Assert.NotEqual(
            RegistrationKey.Compute("p", "f", Hash, "x", new[] { "a,b" }),
            RegistrationKey.Compute("p", "f", Hash, "x", new[] { "a", "b" }));
    }
}

public class StructureDiffTests
{
    private static FlowStructure Before()
    {
        var flow = new Flow("etl");
        var limit = flow.Parameter("limit", 1);
        flow.Parameter("old", "x");
        var get = flow.Task("get", () => new[] { 1 });
        flow.Task("print", (int[] values, int max) => values.Take(max).ToArray(), get, limit);
        return FlowStructure.FromFlow(flow);
    }

    private static FlowStructure After()
    {
        var flow = new Flow("etl");
        flow.Parameter("limit", 2);
        flow.Parameter<string>("mode");
        var get = flow.Task("get", () => new[] { 1 }, new TaskOptions { Retries = 2, Timeout = TimeSpan.FromSeconds(30) });
        flow.Task("load", () => { }).After(get);
        return FlowStructure.FromFlow(flow);
    }

    [Fact]
    public void The_diff_lists_tasks_edges_and_parameters()
    {
        var diff = FlowStructure.Diff(Before(), After());

        Assert.False(diff.IsEmpty);
        Assert.Equal(new[] { "load" }, diff.TasksAdded);
        Assert.Equal(new[] { "print" }, diff.TasksRemoved);
        Assert.Equal(new[] { "get (retries 0 -> 2, timeout none -> 30s)" }, diff.TasksChanged);
        Assert.Equal(new[] { "get -> load (order)" }, diff.EdgesAdded);
        Assert.Equal(new[] { "get -> print.values", "parameter limit -> print.max" }, diff.EdgesRemoved);
        Assert.Equal(new[] { "mode" }, diff.ParametersAdded);
        Assert.Equal(new[] { "old" }, diff.ParametersRemoved);
        Assert.Equal(new[] { "limit (default 1 -> 2)" }, diff.ParametersChanged);
    }

    [Fact]
    public void ToString_reads_as_one_line_per_kind_of_change()
    {
        var text = FlowStructure.Diff(Before(), After()).ToString();

        Assert.Equal(
            "tasks added: load; tasks removed: print; tasks changed: get (retries 0 -> 2, timeout none -> 30s); " +
            "edges added: get -> load (order); edges removed: get -> print.values, parameter limit -> print.max; " +
            "parameters added: mode; parameters removed: old; parameters changed: limit (default 1 -> 2)",
            text);
    }

    [Fact]
    public void Edges_are_described_with_the_task_names_the_user_wrote_not_slugs()
    {
        var before = new Flow("lines");
        before.Task("make_lines", () => new[] { "a" });
        var after = new Flow("lines");
        var make = after.Task("make_lines", () => new[] { "a" });
        var count = after.Task("count_lines", (string[] ls) => ls.Length, make);
        after.Task("Report It", () => { }).After(count);

        var diff = FlowStructure.Diff(FlowStructure.FromFlow(before), FlowStructure.FromFlow(after));

        Assert.Equal(new[] { "Report It", "count_lines" }, diff.TasksAdded);
        Assert.Equal(new[] { "count_lines -> Report It (order)", "make_lines -> count_lines.ls" }, diff.EdgesAdded);
        Assert.DoesNotContain("make-lines", diff.ToString());
        Assert.DoesNotContain("count-lines", diff.ToString());
    }

    [Fact]
    public void The_reverse_diff_swaps_added_and_removed()
    {
        var diff = FlowStructure.Diff(After(), Before());
        Assert.Equal(new[] { "print" }, diff.TasksAdded);
        Assert.Equal(new[] { "load" }, diff.TasksRemoved);
        Assert.Equal(new[] { "mode" }, diff.ParametersRemoved);
    }

    [Fact]
    public void Equal_structures_have_an_empty_diff()
    {
        var diff = FlowStructure.Diff(Before(), FlowStructure.FromJson(Before().CanonicalJson));
        Assert.True(diff.IsEmpty);
        Assert.Equal("no structural changes", diff.ToString());
    }

    [Fact]
    public void A_parameter_becoming_required_is_described()
    {
        var a = new Flow("f");
        a.Parameter("n", 1);
        var b = new Flow("f");
        b.Parameter<int>("n");

        var diff = FlowStructure.Diff(FlowStructure.FromFlow(a), FlowStructure.FromFlow(b));

        Assert.Equal(new[] { "n (now required)" }, diff.ParametersChanged);
    }
}
