namespace Flowstore.Core.Tests;

public class FlowApiTests
{
    private static IReadOnlyList<EdgeStructure> EdgesInto(Flow flow, string downstreamSlug)
        => FlowStructure.FromFlow(flow).Edges.Where(e => e.Downstream == downstreamSlug).ToArray();

    [Fact]
    public void Synchronous_functions_with_zero_to_four_inputs_take_the_lambda_parameter_names_as_input_keys()
    {
        var flow = new Flow("sync");
        var a = flow.Task("a", () => 1);
        var b = flow.Task("b", (int first) => first + 1, a);
        var c = flow.Task("c", (int first, int second) => first + second, a, b);
        var d = flow.Task("d", (int x, int y, int z) => x + y + z, a, b, c);
        flow.Task("e", (int p, int q, int r, int s) => p + q + r + s, a, b, c, d);

        Assert.Empty(EdgesInto(flow, "a"));
        Assert.Equal(new[] { new EdgeStructure("a", "b", "first", "data") }, EdgesInto(flow, "b"));
        Assert.Equal(
            new[] { new EdgeStructure("a", "c", "first", "data"), new EdgeStructure("b", "c", "second", "data") },
            EdgesInto(flow, "c"));
        Assert.Equal(
            new[] { ("a", "x"), ("b", "y"), ("c", "z") },
            EdgesInto(flow, "d").Select(e => (e.Upstream, e.Key)).OrderBy(e => e.Key));
        Assert.Equal(
            new[] { ("a", "p"), ("b", "q"), ("c", "r"), ("d", "s") },
            EdgesInto(flow, "e").Select(e => (e.Upstream, e.Key)).OrderBy(e => e.Key));
        Assert.All(FlowStructure.FromFlow(flow).Edges, e => Assert.Equal("data", e.Kind));
    }

    [Fact]
    public async Task Inputs_reach_the_body_in_declaration_order()
    {
        var flow = new Flow("order-of-args");
        var one = flow.Task("one", () => 1);
        var ten = flow.Task("ten", () => 10);
        var hundred = flow.Task("hundred", () => 100);
        var thousand = flow.Task("thousand", () => 1000);
        flow.Task("digits", (int w, int x, int y, int z) => $"{w}|{x}|{y}|{z}", thousand, hundred, ten, one);

        var result = await FlowExecutor.RunAsync(flow, null);

        Assert.Equal(RunState.Success, result.State);
        Assert.Equal("1000|100|10|1", result.Results["digits"]);
    }

    [Fact]
    public async Task Actions_and_async_tasks_with_and_without_a_token_build_edges_and_run()
    {
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, object?>();
        var flow = new Flow("shapes");
        var source = flow.Task("source", () => 5);
        var other = flow.Task("other", () => 7);
        flow.Task("action0", () => { seen["action0"] = true; });
        flow.Task("action1", (int value) => { seen["action1"] = value; }, source);
        flow.Task("action2", (int left, int right) => { seen["action2"] = left * right; }, source, other);
        var async1 = flow.Task("async1", async (int number) => { await Task.Yield(); return number * 2; }, source);
        flow.Task("async_action1", async (int doubled) => { await Task.Yield(); seen["async_action1"] = doubled; }, async1);
        var withToken = flow.Task("with_token", async (int count, CancellationToken ct) =>
        {
            await Task.Delay(1, ct);
            return count + 1;
        }, source);
        flow.Task("with_token_action", async (int amount, CancellationToken token) =>
        {
            await Task.Yield();
            seen["with_token_action"] = token.CanBeCanceled ? amount : -1;
        }, withToken);
        flow.Task("async0", async () => { await Task.Yield(); return "done"; });
        flow.Task("async0_token", async (CancellationToken ct) => { await Task.Delay(1, ct); return "token"; });

        var edges = FlowStructure.FromFlow(flow).Edges;
        Assert.Contains(new EdgeStructure("source", "action1", "value", "data"), edges);
        Assert.Contains(new EdgeStructure("other", "action2", "right", "data"), edges);
        Assert.Contains(new EdgeStructure("source", "async1", "number", "data"), edges);
        Assert.Contains(new EdgeStructure("async1", "async-action1", "doubled", "data"), edges);
        // The CancellationToken is not an input: the single input key is the data parameter's name.
        Assert.Equal(new[] { new EdgeStructure("source", "with-token", "count", "data") }, EdgesInto(flow, "with-token"));
        Assert.Equal(new[] { new EdgeStructure("with-token", "with-token-action", "amount", "data") }, EdgesInto(flow, "with-token-action"));
        Assert.Empty(EdgesInto(flow, "async0-token"));

        var result = await FlowExecutor.RunAsync(flow, null);

        Assert.Equal(RunState.Success, result.State);
        Assert.Equal(true, seen["action0"]);
        Assert.Equal(5, seen["action1"]);
        Assert.Equal(35, seen["action2"]);
        Assert.Equal(10, seen["async_action1"]);
        Assert.Equal(6, seen["with_token_action"]);
        Assert.Equal(10, result.Results["async1"]);
        Assert.Equal("done", result.Results["async0"]);
        Assert.Equal("token", result.Results["async0_token"]);
        // Actions have no result.
        Assert.False(result.Results.ContainsKey("action1"));
    }

    [Fact]
    public void Parameters_with_defaults_and_required_parameters_become_parameter_edges()
    {
        var flow = new Flow("params");
        var count = flow.Parameter("count", 3);
        var name = flow.Parameter<string>("name");
        flow.Task("greet", (string who, int times) => string.Concat(Enumerable.Repeat(who, times)), name, count);

        var structure = FlowStructure.FromFlow(flow);

        Assert.Equal(
            new[] { new ParameterStructure("count", "int", "3", false), new ParameterStructure("name", "string", null, true) },
            structure.Parameters);
        Assert.Equal(
            new[] { new EdgeStructure("count", "greet", "times", "parameter"), new EdgeStructure("name", "greet", "who", "parameter") },
            structure.Edges.OrderBy(e => e.Upstream));
    }

    [Fact]
    public void Ordering_only_dependencies_come_from_TaskOptions_After_and_handle_After()
    {
        var flow = new Flow("ordering");
        var first = flow.Task("first", () => { });
        var second = flow.Task("second", () => { }, new TaskOptions { After = new[] { first } });
        var third = flow.Task("third", () => 3).After(first, second);
        third.After(second); // a repeated dependency is recorded once

        var structure = FlowStructure.FromFlow(flow);

        Assert.Equal(
            new[]
            {
                new EdgeStructure("first", "second", "", "order"),
                new EdgeStructure("first", "third", "", "order"),
                new EdgeStructure("second", "third", "", "order"),
            },
            structure.Edges.OrderBy(e => e.Downstream).ThenBy(e => e.Upstream));
    }

    [Fact]
    public void A_duplicate_task_name_names_the_flow_and_the_task()
    {
        var flow = new Flow("etl");
        flow.Task("load", () => 1);

        var e = Assert.Throws<FlowstoreException>(() => flow.Task("load", () => 2));

        Assert.Equal(ErrorIds.DuplicateTaskName, e.ErrorId);
        Assert.Contains("'etl'", e.Message);
        Assert.Contains("'load'", e.Message);
        Assert.Equal("etl", e.Target);
        // The place of the second declaration is given (this file).
        Assert.Contains(nameof(FlowApiTests) + ".cs:", e.Message);
    }

    [Fact]
    public void Two_names_with_one_slug_are_duplicates()
    {
        var flow = new Flow("etl");
        flow.Task("Get Data", () => 1);

        var e = Assert.Throws<FlowstoreException>(() => flow.Task("get-data", () => 2));

        Assert.Equal(ErrorIds.DuplicateTaskName, e.ErrorId);
        Assert.Contains("'Get Data'", e.Message);
        Assert.Contains("'get-data'", e.Message);
    }

    [Fact]
    public void Names_that_differ_but_share_a_slug_are_told_apart_from_equal_names()
    {
        var flow = new Flow("etl");
        flow.Task("Get Data", () => 1);

        var e = Assert.Throws<FlowstoreException>(() => flow.Task("get_data", () => 2));

        Assert.Contains("has tasks 'Get Data' and 'get_data' (", e.Message);
        Assert.Contains("the names differ, but both make the slug 'get-data'", e.Message);
        Assert.DoesNotContain("have the same slug", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("!!!")]
    public void An_empty_or_unsluggable_name_is_InvalidName(string name)
    {
        var flow = new Flow("ok");
        Assert.Equal(ErrorIds.InvalidName, Assert.Throws<FlowstoreException>(() => flow.Task(name, () => 1)).ErrorId);
        Assert.Equal(ErrorIds.InvalidName, Assert.Throws<FlowstoreException>(() => new Flow(name)).ErrorId);
        Assert.Equal(ErrorIds.InvalidName, Assert.Throws<FlowstoreException>(() => flow.Parameter(name, 1)).ErrorId);
    }

    [Fact]
    public void Slugs_are_lower_case_with_single_dashes()
    {
        Assert.Equal("get-data", Flow.Slugify("  Get__Data!! "));
        Assert.Equal("etl-v2", new Flow("ETL v2").Slug);
    }

    [Fact]
    public void An_input_from_another_flow_is_ForeignHandle()
    {
        var one = new Flow("one");
        var two = new Flow("two");
        var data = one.Task("data", () => 1);
        var param = one.Parameter("n", 1);

        var e = Assert.Throws<FlowstoreException>(() => two.Task("use", (int v) => v, data));
        Assert.Equal(ErrorIds.ForeignHandle, e.ErrorId);
        Assert.Contains("'data'", e.Message);
        Assert.Contains("'one'", e.Message);

        Assert.Equal(ErrorIds.ForeignHandle, Assert.Throws<FlowstoreException>(() => two.Task("use2", (int v) => v, param)).ErrorId);
        var local = two.Task("local", () => { });
        Assert.Equal(ErrorIds.ForeignHandle, Assert.Throws<FlowstoreException>(() => local.After(data)).ErrorId);
        Assert.Equal(ErrorIds.ForeignHandle, Assert.Throws<FlowstoreException>(
            () => two.Task("late", () => { }, new TaskOptions { After = new TaskHandle[] { data } })).ErrorId);
    }

    [Fact]
    public void A_cycle_through_After_is_FlowCycle_with_the_path()
    {
        var flow = new Flow("loop");
        var a = flow.Task("a", () => { });
        var b = flow.Task("b", () => { }).After(a);
        var c = flow.Task("c", () => { }).After(b);
        a.After(c);

        var e = Assert.Throws<FlowstoreException>(() => flow.Validate());

        Assert.Equal(ErrorIds.FlowCycle, e.ErrorId);
        Assert.Contains("'loop'", e.Message);
        // The path closes on the task it started from, e.g. "a -> c -> b -> a".
        Assert.Matches(@"\b([abc]) -> [abc] -> [abc] -> \1\b", e.Message);
        Assert.Contains("a", e.Message);
    }

    [Fact]
    public async Task A_flow_with_a_cycle_does_not_run_any_task()
    {
        var ran = false;
        var flow = new Flow("loop");
        var a = flow.Task("a", () => { ran = true; });
        var b = flow.Task("b", () => { ran = true; }).After(a);
        a.After(b);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => FlowExecutor.RunAsync(flow, null));

        Assert.Equal(ErrorIds.FlowCycle, e.ErrorId);
        Assert.False(ran);
    }

    [Fact]
    public void A_task_after_itself_is_FlowCycle()
    {
        var flow = new Flow("self");
        var a = flow.Task("a", () => { });
        Assert.Equal(ErrorIds.FlowCycle, Assert.Throws<FlowstoreException>(() => a.After(a)).ErrorId);
    }

    [Fact]
    public void Invalid_task_options_are_rejected_at_declaration()
    {
        var flow = new Flow("opts");

        var retries = Assert.Throws<FlowstoreException>(() => flow.Task("neg", () => 1, new TaskOptions { Retries = -1 }));
        Assert.Equal(ErrorIds.InvalidTaskOption, retries.ErrorId);
        Assert.Equal(FlowErrorKind.InvalidArgument, retries.Kind);
        Assert.Equal(ErrorIds.InvalidTaskOption, retries.ErrorId);
        Assert.Contains("Retries", retries.Message);
        Assert.Contains("'neg'", retries.Message);
        Assert.Contains("'opts'", retries.Message);

        var timeout = Assert.Throws<FlowstoreException>(() => flow.Task("zero", () => 1, new TaskOptions { Timeout = TimeSpan.Zero }));
        Assert.Equal(ErrorIds.InvalidTaskOption, timeout.ErrorId);
        Assert.Contains("Timeout", timeout.Message);
        var delay = Assert.Throws<FlowstoreException>(() => flow.Task("delay", () => 1, new TaskOptions { RetryDelay = TimeSpan.FromSeconds(-1) }));
        Assert.Equal(ErrorIds.InvalidTaskOption, delay.ErrorId);
        Assert.Contains("RetryDelay", delay.Message);

        // A rejected declaration leaves no task behind: the name is still free.
        flow.Task("neg", () => 1, new TaskOptions { Retries = 0 });
    }

    [Fact]
    public void A_duplicate_parameter_is_rejected()
    {
        var flow = new Flow("p");
        flow.Parameter("n", 1);
        var e = Assert.Throws<FlowstoreException>(() => flow.Parameter("n", 2));
        Assert.Equal(ErrorIds.DuplicateParameterName, e.ErrorId);
        Assert.Contains("'n'", e.Message);
        Assert.Contains("'p'", e.Message);
    }
}
