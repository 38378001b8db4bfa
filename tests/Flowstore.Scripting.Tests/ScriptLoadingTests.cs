using System.Runtime.Loader;

namespace Flowstore.Scripting.Tests;

public sealed class ScriptLoadingTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FlowScriptLoader _loader = new(new ScriptCompiler());

    public void Dispose() => _temp.Dispose();

    private static string Literal(string path) => "@\"" + path.Replace("\"", "\"\"") + "\"";

    [Fact]
    public async Task Loading_builds_the_flows_without_running_any_task()
    {
        var marker = _temp.File("marker.txt");
        var path = _temp.Write("side_effects.cs", $$"""
            using Flowstore;

            var flow = new Flow("careful");
            var data = flow.Task("get_data", () => { File.WriteAllText({{Literal(marker)}}, "ran"); return 41; });
            flow.Task("explode", (int v) => { throw new InvalidOperationException("task body ran at load"); }, data);
            """);

        var loaded = await _loader.LoadFileAsync(path);

        var flow = Assert.Single(loaded.Flows);
        Assert.Equal("careful", flow.Name);
        Assert.False(File.Exists(marker), "a task body ran while loading");
        Assert.Equal(new[] { "explode", "get_data" }, FlowStructure.FromFlow(flow).Tasks.Select(t => t.Name));

        // The bodies are real and do run when the flow is executed.
        var result = await FlowExecutor.RunAsync(flow, null);
        Assert.True(File.Exists(marker));
        Assert.Equal(TaskRunState.Success, result.Tasks.Single(t => t.Name == "get_data").State);
        Assert.Equal(TaskRunState.Failed, result.Tasks.Single(t => t.Name == "explode").State);
    }

    [Fact]
    public async Task The_example_flow_loads_with_its_structure()
    {
        var path = _temp.Write("my_flow.cs", """
            using Flowstore;

            var flow = new Flow("example");
            var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
            flow.Task("print_data", (int[] values) => Console.WriteLine(string.Join(", ", values)), data);
            """);

        var loaded = await _loader.LoadFileAsync(path);
        var flow = loaded.Select("example");
        var result = await FlowExecutor.RunAsync(flow, null);

        // Same structure (and hash) as the example flow declared in C# directly: see the Core golden test.
        Assert.Equal("9305c52953259f8add7703b65cc4fd25a2cda1f5b3b7cdaeec42b9e4d514847d", FlowStructure.FromFlow(flow).Hash);
        Assert.Equal(RunState.Success, result.State);
        Assert.Contains(result.Log, l => l.Task == "print_data" && l.Level == "Output" && l.Message == "1, 2, 3, 4, 5");
    }

    [Fact]
    public async Task A_compile_error_reports_file_line_and_column()
    {
        var source = string.Join("\n",
            "using Flowstore;",
            "",
            "var flow = new Flow(\"broken\");",
            "int count = \"text\";",
            "flow.Task(\"t\", () => undefinedThing);");
        var path = _temp.Write("broken.cs", source);

        var e = await Assert.ThrowsAsync<ScriptCompilationException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.ScriptCompilationFailed, e.ErrorId);
        Assert.Equal(path, e.Target);
        Assert.Equal(2, e.Diagnostics.Count);
        var first = e.Diagnostics.Single(d => d.Id == "CS0029");
        Assert.Equal(path, first.File);
        Assert.Equal(4, first.Line);
        Assert.Equal("int count = ".Length + 1, first.Column);
        var second = e.Diagnostics.Single(d => d.Id == "CS0103");
        Assert.Equal(5, second.Line);
        Assert.Equal("flow.Task(\"t\", () => ".Length + 1, second.Column);
        Assert.Contains("undefinedThing", second.Message);
        Assert.Contains($"{path}:4:13", e.Message);
        Assert.Contains($"{path}:5:22", e.Message);
        Assert.Contains("2 errors", e.Message);
    }

    [Fact]
    public async Task Compile_errors_are_listed_top_to_bottom()
    {
        // Roslyn reports declaration errors (the record's unknown type, line 6) before those in statements (lines 4 and 5).
        var source = string.Join("\n",
            "using Flowstore;",
            "",
            "var flow = new Flow(\"broken\");",
            "int count = \"text\";",
            "flow.Task(\"t\", () => undefinedThing);",
            "record Row(Undefined Value);");
        var path = _temp.Write("order.cs", source);

        var e = await Assert.ThrowsAsync<ScriptCompilationException>(() => _loader.LoadFileAsync(path));

        var lines = e.Diagnostics.Select(d => d.Line).ToArray();
        Assert.Equal(lines.Order().ToArray(), lines);
        Assert.Equal(new[] { 4, 5, 6 }, lines.Distinct().ToArray());
        Assert.True(e.Message.IndexOf($"{path}:4:", StringComparison.Ordinal) < e.Message.IndexOf($"{path}:6:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_compile_error_in_a_windows_line_ending_file_has_the_right_line()
    {
        var path = _temp.Write("crlf.cs", "using Flowstore;\r\n\r\nvar flow = new Flow(\"x\");\r\n  flow.Task(\"t\", () => 1)\r\n");

        var e = await Assert.ThrowsAsync<ScriptCompilationException>(() => _loader.LoadFileAsync(path));

        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.Equal("CS1002", diagnostic.Id); // ; expected
        Assert.Equal(4, diagnostic.Line);
        Assert.Equal("  flow.Task(\"t\", () => 1)".Length + 1, diagnostic.Column);
    }

    [Fact]
    public async Task A_script_that_creates_no_flow_is_NoFlowsFound()
    {
        var path = _temp.Write("empty.cs", "var answer = 42;\nanswer++;\n");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.NoFlowsFound, e.ErrorId);
        Assert.StartsWith($"No flows found in {path}", e.Message);
    }

    [Fact]
    public async Task A_missing_file_is_ScriptNotFound()
    {
        var path = _temp.File("nope.cs");
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));
        Assert.Equal(ErrorIds.ScriptNotFound, e.ErrorId);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task Several_flows_per_file_are_selected_by_name_case_insensitively()
    {
        var path = _temp.Write("many.cs", """
            using Flowstore;

            var a = new Flow("alpha");
            a.Task("one", () => 1);
            var b = new Flow("Beta");
            b.Task("two", () => 2);
            b.Task("three", () => 3);
            """);

        var loaded = await _loader.LoadFileAsync(path);

        Assert.Equal(new[] { "alpha", "Beta" }, loaded.Flows.Select(f => f.Name));
        Assert.Equal("Beta", loaded.Select("beta").Name);
        Assert.Equal("alpha", loaded.Select("ALPHA").Name);
        Assert.Equal(new[] { "Beta", "alpha" }, loaded.Select(new[] { "BETA", "alpha", "beta" }).Select(f => f.Name));
        Assert.Equal(2, loaded.Select((IEnumerable<string>?)null).Count);
        Assert.Equal(2, FlowStructure.FromFlow(loaded.Select("beta")).Tasks.Count);
    }

    [Fact]
    public async Task Selecting_an_unknown_flow_lists_the_flows_found()
    {
        var path = _temp.Write("two.cs", """
            using Flowstore;
            new Flow("a").Task("x", () => 1);
            new Flow("b").Task("y", () => 2);
            """);
        var loaded = await _loader.LoadFileAsync(path);

        var e = Assert.Throws<FlowstoreException>(() => loaded.Select("c"));

        Assert.Equal(ErrorIds.FlowNotFoundInScript, e.ErrorId);
        Assert.Contains("'c'", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("found: a, b", e.Message);
    }

    [Fact]
    public async Task Two_flows_whose_names_differ_but_make_one_slug_are_DuplicateFlowName_saying_so()
    {
        var path = _temp.Write("slug_flow.cs", """
            using Flowstore;
            new Flow("Get Data").Task("x", () => 1);
            new Flow("get_data").Task("y", () => 2);
            """);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.DuplicateFlowName, e.ErrorId);
        Assert.Contains("flows 'Get Data' and 'get_data'", e.Message);
        Assert.Contains("the names differ, but both make the slug 'get-data'", e.Message);
    }

    [Fact]
    public async Task Two_flows_with_one_name_are_DuplicateFlowName()
    {
        var path = _temp.Write("dupe_flow.cs", """
            using Flowstore;
            new Flow("etl").Task("x", () => 1);
            new Flow("ETL").Task("y", () => 2);
            """);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.DuplicateFlowName, e.ErrorId);
        Assert.Contains("etl", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"{path}:2", e.Message);
        Assert.Contains($"{path}:3", e.Message);
    }

    [Fact]
    public async Task A_duplicate_task_names_the_file_and_line()
    {
        var path = _temp.Write("dupe_task.cs", """
            using Flowstore;

            var flow = new Flow("etl");
            flow.Task("load", () => 1);
            flow.Task("load", () => 2);
            """);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.DuplicateTaskName, e.ErrorId);
        Assert.Contains("'load'", e.Message);
        Assert.Contains("'etl'", e.Message);
        Assert.Contains($"{path}:5", e.Message);
    }

    [Fact]
    public async Task A_cycle_in_a_script_is_FlowCycle()
    {
        var path = _temp.Write("cycle.cs", """
            using Flowstore;

            var flow = new Flow("loop");
            var a = flow.Task("a", () => { });
            var b = flow.Task("b", () => { }).After(a);
            a.After(b);
            """);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.FlowCycle, e.ErrorId);
    }

    [Fact]
    public async Task An_exception_from_the_top_level_is_ScriptExecutionFailed()
    {
        var path = _temp.Write("throws.cs", """
            using Flowstore;

            var flow = new Flow("etl");
            var settings = File.ReadAllText("/definitely/not/here/settings.json");
            flow.Task("t", () => settings);
            """);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.ScriptExecutionFailed, e.ErrorId);
        Assert.Contains(path, e.Message);
        Assert.Contains("/definitely/not/here/settings.json", e.Message);
        Assert.IsAssignableFrom<IOException>(e.InnerException);
        Assert.Contains($"{path}:4", e.Message);
    }

    [Fact]
    public async Task Flows_in_a_compiled_script_are_the_engines_own_Flow_type()
    {
        var path = _temp.Write("identity.cs", """
            using Flowstore;
            var flow = new Flow("identity");
            flow.Task("t", () => 1);
            """);

        var loaded = await _loader.LoadFileAsync(path);

        var flow = loaded.Flows.Single();
        Assert.IsType<Flow>(flow);
        var scriptContext = AssemblyLoadContext.GetLoadContext(loaded.Compiled.Assembly)!;
        Assert.True(scriptContext.IsCollectible);
        Assert.NotSame(AssemblyLoadContext.GetLoadContext(typeof(Flow).Assembly), scriptContext);
        // The script's reference to Flowstore.Core resolves to the engine's assembly: one type identity.
        var coreReference = loaded.Compiled.Assembly.GetReferencedAssemblies().Single(a => a.Name == typeof(Flow).Assembly.GetName().Name);
        Assert.Same(typeof(Flow).Assembly, scriptContext.LoadFromAssemblyName(coreReference));
    }

    [Fact]
    public async Task Storage_labels_and_description_set_in_the_script_are_kept()
    {
        var path = _temp.Write("storage.cs", """
            using Flowstore;
            var flow = new Flow("stored") { Description = "nightly load" };
            flow.Labels.Add("prod");
            flow.Storage = new LocalStorage(storedAsScript: true);
            flow.Task("t", () => 1);
            """);

        var flow = (await _loader.LoadFileAsync(path)).Select("stored");

        Assert.Equal("nightly load", flow.Description);
        Assert.Equal(new[] { "prod" }, flow.Labels);
        var storage = Assert.IsType<LocalStorage>(flow.Storage);
        Assert.True(storage.StoredAsScript);
    }
}
