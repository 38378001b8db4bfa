namespace Flowstore.Scripting.Tests;

/// <summary>
/// A task wired to an input of the wrong type: the compiler's overload errors (CS1593 about delegates, CS1503 about
/// TaskOptions) are replaced by one error saying which task expects which type and what its input gives, at the
/// script's line.
/// </summary>
public sealed class TaskWiringDiagnosticsTests
{
    private static ScriptCompilationException Compile(string body)
    {
        var source = "using Flowstore;\nvar flow = new Flow(\"wiring\");\n" + body;
        return Assert.Throws<ScriptCompilationException>(
            () => ScriptCompiler.Emit(source, "/flows/wiring.cs", FlowStructure.Sha256Hex(source), CancellationToken.None));
    }

    /// <summary>Compiles <paramref name="body"/>, which must fail with one diagnostic: <paramref name="id"/> at <paramref name="line"/>.</summary>
    private static (ScriptCompilationException Error, ScriptDiagnostic Diagnostic) SingleDiagnostic(string id, int line, string body)
    {
        var e = Compile(body);
        var d = Assert.Single(e.Diagnostics);
        Assert.Equal(id, d.Id);
        Assert.Equal(line, d.Line);
        return (e, d);
    }

    private static void AssertNoCompilerJargon(ScriptCompilationException e)
    {
        foreach (var jargon in new[] { "CS1593", "CS1503", "CS1660", "CS0411", "TaskOptions", "Delegate", "delegate", "IFlowInput" })
        {
            Assert.DoesNotContain(jargon, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_upstream_task_of_another_type_names_both_tasks_and_types_at_the_scripts_line()
    {
        var e = Compile("""
            var data = flow.Task("get_data", () => new[] { 1, 2, 3 });
            flow.Task("print_data", (string values) => Console.WriteLine(values), data);
            """);

        var d = Assert.Single(e.Diagnostics);
        Assert.Equal("TaskInputType", d.Id);
        Assert.Equal("/flows/wiring.cs", d.File);
        Assert.Equal(4, d.Line);
        Assert.Equal("""flow.Task("print_data", (string values) => Console.WriteLine(values), """.Length + 1, d.Column);
        Assert.Equal(
            "Task 'print_data' expects string for its input 'values', but it is given task 'get_data' (line 3), which returns int[]. "
            + "Declare 'values' as int[], or pass a task or parameter of type string.",
            d.Message);
        Assert.Contains("/flows/wiring.cs:4:", e.Message, StringComparison.Ordinal);
        AssertNoCompilerJargon(e);
    }

    [Fact]
    public void A_parameter_of_another_type_is_named_as_a_parameter()
    {
        var (e, d) = SingleDiagnostic("TaskInputType", 4, """
            var n = flow.Parameter("n", 3);
            flow.Task("shout", (string text) => text.ToUpperInvariant(), n);
            """);

        Assert.StartsWith("Task 'shout' expects string for its input 'text', but it is given parameter 'n' (line 3), which is int.", d.Message, StringComparison.Ordinal);
        AssertNoCompilerJargon(e);
    }

    [Fact]
    public void Only_the_input_that_does_not_fit_is_named_when_a_task_has_several()
    {
        var (e, d) = SingleDiagnostic("TaskInputType", 7, """
            var count = flow.Task("count", () => 3);
            var word = flow.Task("word", () => "x");
            var other = flow.Task("other", () => 4);
            flow.Task("repeat", async (int times, string what, CancellationToken ct) => { await Task.Delay(1, ct); return string.Concat(Enumerable.Repeat(what, times)); },
                count, other, new TaskOptions { Retries = 1 });
            """);

        Assert.StartsWith("Task 'repeat' expects string for its input 'what' (input 2), but it is given task 'other' (line 5), which returns int.", d.Message, StringComparison.Ordinal);
        AssertNoCompilerJargon(e);
    }

    [Fact]
    public void A_task_that_returns_nothing_cannot_be_an_input()
    {
        var (_, d) = SingleDiagnostic("TaskInputType", 4, """
            var hello = flow.Task("hello", () => Console.WriteLine("hi"));
            flow.Task("after", (int x) => x + 1, hello);
            """);

        Assert.StartsWith("Task 'after' expects int for its input 'x', but it is given task 'hello' (line 3), which returns nothing", d.Message, StringComparison.Ordinal);
        Assert.Contains("After", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_count_mismatch_says_how_many_inputs_the_body_takes_and_which_are_passed()
    {
        var (e, d) = SingleDiagnostic("TaskInputCount", 5, """
            var a = flow.Task("a", () => 1);
            var b = flow.Task("b", () => 2);
            flow.Task("one", (int x) => x, a, b);
            """);

        Assert.Equal("Task 'one' takes 1 input (x), but it is given 2: task 'a' (line 3), task 'b' (line 4).", d.Message);
        AssertNoCompilerJargon(e);
    }

    [Fact]
    public void An_error_inside_a_task_body_is_left_as_the_compiler_said()
    {
        SingleDiagnostic("CS1061", 4, """
            var data = flow.Task("get_data", () => new[] { 1, 2, 3 });
            flow.Task("print_data", (int[] values) => Console.WriteLine(values.Nope()), data);
            """);
    }

    [Fact]
    public void A_type_error_in_the_body_of_a_well_wired_task_is_left_as_the_compiler_said()
    {
        SingleDiagnostic("CS0029", 4, """
            var data = flow.Task("get_data", () => new[] { 1, 2, 3 });
            flow.Task("first", (int[] values) => { string s = values[0]; return s; }, data);
            """);
    }

    [Fact]
    public void A_method_given_as_the_body_is_checked_like_a_lambda()
    {
        var (e, d) = SingleDiagnostic("TaskInputType", 4, """
            var data = flow.Task("get_data", () => new[] { 1, 2, 3 });
            flow.Task("print_data", Print, data);
            static void Print(string text) => Console.WriteLine(text);
            """);

        Assert.StartsWith("Task 'print_data' expects string for its input 'text', but it is given task 'get_data' (line 3), which returns int[].", d.Message, StringComparison.Ordinal);
        AssertNoCompilerJargon(e);
    }
}
