using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>Flow and task names in any script, end to end: registration, a frozen copy on disk, a recorded run.</summary>
public sealed class FlowNameTests : EngineTestBase
{
    private const string Script = """
        using Flowstore;

        var flow = new Flow("フロー") { Storage = new LocalStorage() };
        var data = flow.Task("задача", () => new[] { 1, 2, 3 });
        flow.Task("合計", (int[] values) => values.Sum(), data);
        """;

    [Fact]
    public async Task A_flow_with_unicode_names_registers_freezes_under_an_ascii_file_name_and_runs()
    {
        var path = WriteScript("unicode.cs", Script);

        var registration = await RegisterOneAsync(path);
        var record = await Client.GetFlowAsync("フロー", Project);
        var run = await Client.RunNowAsync(record, null, null);

        Assert.Equal(RegistrationStatus.Registered, registration.Status);
        var artifact = Assert.Single(Directory.EnumerateFiles(Path.Combine(Home, "flows"), "*.dll", SearchOption.AllDirectories));
        Assert.Equal(FlowNames.ToAsciiSlug("フロー"), Path.GetFileName(Path.GetDirectoryName(artifact)));
        Assert.StartsWith("xn--", Path.GetFileName(Path.GetDirectoryName(artifact)));
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(new[] { "задача", "合計" }, run.Tasks.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_label_with_a_control_character_is_InvalidName_shown_escaped_and_registers_nothing()
    {
        var path = WriteScript("unicode.cs", Script);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, new RegisterOptions { Project = Project, Labels = ["ok", "a\u0007b\u001b[31m"] }));

        Assert.Equal(ErrorIds.InvalidName, e.ErrorId);
        Assert.Contains("'a\\u0007b\\u001B[31m'", e.Message);
        Assert.DoesNotContain(e.Message, c => char.IsControl(c));
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project }));
    }

    [Fact]
    public async Task A_task_name_or_a_script_label_with_a_control_character_is_InvalidName()
    {
        var task = WriteScript("task.cs", "using Flowstore;\nvar flow = new Flow(\"f\");\nflow.Task(\"a\\u0007b\\nc\\u001b[31m\", () => 1);\n");
        var label = WriteScript("label.cs", "using Flowstore;\nvar flow = new Flow(\"g\");\nflow.Task(\"t\", () => 1);\nflow.Labels.Add(\"x\\u0000y\");\n");

        var taskError = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(task));
        var labelError = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(label));

        Assert.Equal(ErrorIds.InvalidName, taskError.ErrorId);
        Assert.Contains("'a\\u0007b\\u000Ac\\u001B[31m'", taskError.Message);
        Assert.Equal(ErrorIds.InvalidName, labelError.ErrorId);
        Assert.Contains("'x\\u0000y'", labelError.Message);
        Assert.DoesNotContain(taskError.Message + labelError.Message, c => char.IsControl(c) && c != '\n');
    }
}
