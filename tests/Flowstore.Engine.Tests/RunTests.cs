using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

public sealed class RunTests : EngineTestBase
{
    private static string Script(string greeting, bool extraTask = false) => $$"""
        using Flowstore;

        var flow = new Flow("greeter");
        var name = flow.Parameter("name", "world");
        var greet = flow.Task("greet", (string who) =>
        {
            Console.WriteLine("{{greeting}}, " + who);
            return "{{greeting}}, " + who;
        }, name);
        {{(extraTask ? "flow.Task(\"shout\", (string text) => text.ToUpperInvariant(), greet);" : "")}}
        """;

    [Fact]
    public async Task A_script_stored_flow_runs_the_current_file_without_re_registration()
    {
        var path = WriteScript("greeter.cs", Script("Hello"));
        await RegisterOneAsync(path);
        var record = await Client.GetFlowAsync("greeter", Project);

        var before = await Client.RunAsync(record, null);
        File.WriteAllText(path, Script("Goodbye"));
        var after = await Client.RunAsync(record, new Dictionary<string, object?> { ["name"] = "Ada" });

        Assert.Equal(RunState.Success, before.State);
        Assert.Equal("Hello, world", before.Results["greet"]);
        Assert.Equal(RunState.Success, after.State);
        Assert.Equal("Goodbye, Ada", after.Results["greet"]);
        Assert.Contains(after.Log, l => l.Task == "greet" && l.Level == "Output" && l.Message == "Goodbye, Ada");
        // Provenance: the script that actually ran, and the registered version it ran as.
        Assert.Equal(FlowStructure.Sha256Hex(File.ReadAllText(path)), after.ScriptSha256);
        Assert.NotEqual(before.ScriptSha256, after.ScriptSha256);
        Assert.Equal(1, after.FlowVersion);
        Assert.Equal(record.Id, after.FlowId);
        Assert.Equal("Ada", after.Parameters["name"]);
        Assert.Single(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
    }

    [Fact]
    public async Task A_run_of_a_changed_structure_fails_with_StructureChanged()
    {
        var path = WriteScript("greeter.cs", Script("Hello"));
        await RegisterOneAsync(path);
        var record = await Client.GetFlowAsync("greeter", Project);

        File.WriteAllText(path, Script("Hello", extraTask: true));
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.RunAsync(record, null));

        Assert.Equal(ErrorIds.StructureChanged, e.ErrorId);
        Assert.Contains("shout", e.Message);
        Assert.Contains("tasks added", e.Message);
        Assert.Contains("register a new version", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(FlowHint.RegisterFlow(path, Project), e.Hint);
        Assert.Contains(path, e.Message);

        // Registering the change makes the flow runnable again.
        var v2 = await RegisterOneAsync(path);
        Assert.Equal(2, v2.Version);
        var result = await Client.RunAsync(await Client.GetFlowAsync("greeter", Project), null);
        Assert.Equal("HELLO, WORLD", result.Results["shout"]);
    }

    [Fact]
    public async Task A_run_of_a_deleted_script_fails_with_StorageFetchFailed()
    {
        var path = WriteScript("greeter.cs", Script("Hello"));
        await RegisterOneAsync(path);
        var record = await Client.GetFlowAsync("greeter", Project);
        File.Delete(path);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.RunAsync(record, null));

        Assert.Equal(ErrorIds.StorageFetchFailed, e.ErrorId);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task Local_frozen_storage_copies_the_compiled_flow_and_runs_the_copy()
    {
        var path = WriteScript("greeter.cs", Script("Hello"));

        var registration = await RegisterOneAsync(path, new RegisterOptions { Project = Project, Storage = new LocalStorage(storedAsScript: false) });

        Assert.Equal(RegistrationStatus.Registered, registration.Status);
        var folder = Path.Combine(Home, "flows", "greeter");
        var artifact = Assert.Single(Directory.GetFiles(folder, "*.dll"));
        var record = await Client.GetFlowAsync("greeter", Project);
        var storage = Assert.IsType<LocalStorage>(StorageTypes.Deserialize(record.StorageJson));
        Assert.False(storage.StoredAsScript);
        Assert.Equal(artifact, storage.ArtifactPath);

        // Edit, then delete the script: runs use the stored copy.
        File.WriteAllText(path, Script("Goodbye"));
        var afterEdit = await Client.RunAsync(record, null);
        File.Delete(path);
        var afterDelete = await NewClient().RunAsync(record, new Dictionary<string, object?> { ["name"] = "Ada" });

        Assert.Equal(RunState.Success, afterEdit.State);
        Assert.Equal("Hello, world", afterEdit.Results["greet"]);
        Assert.Equal("Hello, Ada", afterDelete.Results["greet"]);
        Assert.Equal(FlowStructure.Sha256Hex(File.ReadAllBytes(artifact)), afterDelete.ScriptSha256);
    }

    [Fact]
    public async Task Frozen_storage_registers_a_new_version_when_the_code_changes()
    {
        var path = WriteScript("greeter.cs", Script("Hello"));
        var options = new RegisterOptions { Project = Project, Storage = new LocalStorage(storedAsScript: false) };
        await RegisterOneAsync(path, options);
        var same = await RegisterOneAsync(path, options);

        File.WriteAllText(path, Script("Goodbye"));
        var changed = await RegisterOneAsync(path, options);

        // The stored copy is what runs, so a body change needs a new copy (a new version); the same file does not.
        Assert.Equal(RegistrationStatus.Skipped, same.Status);
        Assert.Equal(RegistrationStatus.Registered, changed.Status);
        Assert.Equal(2, changed.Version);
        var result = await Client.RunAsync(await Client.GetFlowAsync("greeter", Project), null);
        Assert.Equal("Goodbye, world", result.Results["greet"]);
    }

    [Fact]
    public async Task InvokeScript_runs_a_file_with_parameters_without_registration()
    {
        var path = WriteScript("calc.cs", """
            using Flowstore;

            var flow = new Flow("calc");
            var count = flow.Parameter<int>("count");
            var factor = flow.Parameter("factor", 2);
            var numbers = flow.Task("numbers", (int n) => Enumerable.Range(1, n).ToArray(), count);
            flow.Task("total", (int[] values, int f) => values.Sum() * f, numbers, factor);
            """);

        var result = await Client.InvokeScriptAsync(path, null, new Dictionary<string, object?> { ["count"] = "4", ["factor"] = 10L });

        Assert.Equal(RunState.Success, result.State);
        Assert.Equal(100, result.Results["total"]);
        Assert.Equal(4, result.Parameters["count"]);
        Assert.Equal(10, result.Parameters["factor"]);
        Assert.Null(result.FlowVersion);
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { IncludeArchived = true }));

        var missing = await Assert.ThrowsAsync<FlowstoreException>(() => Client.InvokeScriptAsync(path, "calc", null));
        Assert.Equal(ErrorIds.ParameterMissing, missing.ErrorId);
        var invalid = await Assert.ThrowsAsync<FlowstoreException>(() => Client.InvokeScriptAsync(path, "calc", new Dictionary<string, object?> { ["count"] = "many" }));
        Assert.Equal(ErrorIds.ParameterInvalid, invalid.ErrorId);
    }

    [Fact]
    public async Task A_value_that_does_not_convert_to_the_registered_type_queues_no_run()
    {
        var path = WriteScript("calc.cs", """
            using Flowstore;

            var flow = new Flow("calc");
            var count = flow.Parameter("count", 3);
            var ids = flow.Parameter("ids", new long[] { 1 });
            flow.Task("numbers", (int n, long[] i) => n + i.Length, count, ids);
            """);
        await RegisterOneAsync(path);
        var flow = await Client.GetFlowAsync("calc", Project);

        var many = await Assert.ThrowsAsync<FlowstoreException>(() => Client.Runs.QueueRunAsync(flow, new Dictionary<string, object?> { ["count"] = "many" }));
        var list = await Assert.ThrowsAsync<FlowstoreException>(() => Client.Runs.QueueRunAsync(flow, new Dictionary<string, object?> { ["IDS"] = new object[] { 1, "x" } }));
        var queued = await Client.Runs.QueueRunAsync(flow, new Dictionary<string, object?> { ["count"] = "5" });

        Assert.Equal(ErrorIds.ParameterInvalid, many.ErrorId);
        Assert.Contains("'count'", many.Message);
        Assert.Contains("must be int", many.Message);
        Assert.Contains("'many'", many.Message);
        Assert.Equal(ErrorIds.ParameterInvalid, list.ErrorId);
        Assert.Contains("'ids'", list.Message);
        Assert.Contains("long[]", list.Message);
        // Only the run whose values convert was created, and it records the value as given.
        var runs = await Client.GetRunsAsync(new RunQuery());
        Assert.Equal(queued.Id, Assert.Single(runs).Id);
        Assert.Equal("5", runs[0].Parameters["count"]);
    }

    [Fact]
    public async Task InvokeScript_of_a_file_with_several_flows_needs_a_name()
    {
        var path = WriteScript("two.cs", """
            using Flowstore;
            new Flow("alpha").Task("a", () => 1);
            new Flow("beta").Task("b", () => 2);
            """);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.InvokeScriptAsync(path, null, null));
        var beta = await Client.InvokeScriptAsync(path, "Beta", null);

        Assert.Equal(ErrorIds.FlowNotFoundInScript, e.ErrorId);
        Assert.Contains("alpha, beta", e.Message);
        Assert.Equal(2, beta.Results["b"]);
    }

    [Fact]
    public async Task A_failing_task_makes_a_failed_run_not_an_exception()
    {
        var path = WriteScript("fail.cs", """
            using Flowstore;
            var flow = new Flow("fail");
            var a = flow.Task("a", () => { throw new InvalidOperationException("boom"); return 1; });
            flow.Task("b", (int v) => v, a);
            """);

        var result = await Client.InvokeScriptAsync(path, null, null);

        Assert.Equal(RunState.Failed, result.State);
        Assert.Contains("boom", result.Error);
        Assert.Equal(TaskRunState.UpstreamFailed, result.Tasks.Single(t => t.Name == "b").State);
    }
}
