namespace Flowstore.Scripting.Tests;

/// <summary>Flow scripts that load shared code with <c>#load</c>.</summary>
public sealed class ScriptLoadsTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FlowScriptLoader _loader = new(new ScriptCompiler());

    public void Dispose() => _temp.Dispose();

    private const string Greeting = """
        #load "text.cs"

        public static class Greeting
        {
            public static string For(string name) => Text.Shout("hello " + name);
        }
        """;

    private const string Text = """
        public static class Text
        {
            public static string Shout(string s) => s.ToUpperInvariant() + "!";
        }
        """;

    private const string Script = """
        #load "lib/greeting.cs"
        using Flowstore;

        var flow = new Flow("greet");
        var who = flow.Parameter("who", "ada");
        flow.Task("say", (string w) => Greeting.For(w), who);
        """;

    private async Task<object?> RunSay(LoadedScript loaded)
    {
        var result = await FlowExecutor.RunAsync(loaded.Select("greet"), null);
        Assert.Equal(RunState.Success, result.State);
        return result.Results["say"];
    }

    [Fact]
    public async Task A_script_runs_code_of_a_file_it_loads_and_of_the_files_that_one_loads()
    {
        _temp.Write("lib/greeting.cs", Greeting);
        _temp.Write("lib/text.cs", Text);
        var path = _temp.Write("greet.cs", Script);

        var loaded = await _loader.LoadFileAsync(path);

        Assert.Equal("HELLO ADA!", await RunSay(loaded));
        var sources = loaded.Compiled.Sources!;
        Assert.Equal(new[] { "lib/greeting.cs", "lib/text.cs" }, sources.Loaded.Select(f => f.Name));
        Assert.Equal(_temp.File("lib/text.cs"), sources.Loaded[1].Path);
        Assert.Equal($"{_temp.File("lib/greeting.cs")}:1", sources.Loaded[1].LoadedBy);
    }

    [Fact]
    public async Task The_source_hash_covers_every_loaded_file_and_keys_the_compile_cache()
    {
        _temp.Write("lib/greeting.cs", Greeting);
        var text = _temp.Write("lib/text.cs", Text);
        var path = _temp.Write("greet.cs", Script);

        var first = await _loader.LoadFileAsync(path);
        var again = await _loader.LoadFileAsync(path);
        File.WriteAllText(text, Text.Replace("+ \"!\"", "+ \"?\"", StringComparison.Ordinal));
        var edited = await _loader.LoadFileAsync(path);

        Assert.NotEqual(FlowStructure.Sha256Hex(Script), first.Compiled.Sha256);
        Assert.Equal(first.Compiled.Sha256, again.Compiled.Sha256);
        Assert.True(again.Compiled.FromCache);
        Assert.NotEqual(first.Compiled.Sha256, edited.Compiled.Sha256);
        Assert.False(edited.Compiled.FromCache);
        Assert.Equal("HELLO ADA?", await RunSay(edited));
    }

    [Fact]
    public async Task A_script_without_loads_keeps_the_hash_of_its_text()
    {
        const string plain = "using Flowstore;\nvar flow = new Flow(\"plain\");\nflow.Task(\"t\", () => 1);\n";
        var path = _temp.Write("plain.cs", plain);

        var loaded = await _loader.LoadFileAsync(path);

        Assert.Equal(FlowStructure.Sha256Hex(plain), loaded.Compiled.Sha256);
        Assert.Empty(loaded.Compiled.Sources!.Loaded);
    }

    [Fact]
    public async Task Files_loaded_twice_or_in_a_cycle_are_compiled_once()
    {
        _temp.Write("a.cs", "#load \"b.cs\"\npublic static class A { public static int One => 1 + B.Zero; }\n");
        _temp.Write("b.cs", "#load \"a.cs\"\n#load \"./a.cs\"\npublic static class B { public static int Zero => 0; }\n");
        var path = _temp.Write("cycle.cs", """
            #load "a.cs"
            #load "b.cs"
            #load "sub/../a.cs"
            using Flowstore;
            var flow = new Flow("greet");
            flow.Task("say", () => A.One + B.Zero);
            """);

        var loaded = await _loader.LoadFileAsync(path);

        Assert.Equal(new[] { "a.cs", "b.cs" }, loaded.Compiled.Sources!.Loaded.Select(f => f.Name));
        Assert.Equal(1, await RunSay(loaded));
    }

    [Fact]
    public async Task A_loaded_file_that_loads_the_flow_script_back_is_an_error_naming_its_line()
    {
        _temp.Write("lib/back.cs", "#load \"../loop.cs\"\npublic static class Back { }\n");
        var path = _temp.Write("loop.cs", "#load \"lib/back.cs\"\nusing Flowstore;\nvar flow = new Flow(\"greet\");\n");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.ScriptLoadInvalid, e.ErrorId);
        Assert.Contains($"{_temp.File("lib/back.cs")}:1", e.Message, StringComparison.Ordinal);
        Assert.Contains("loads the flow script", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_loaded_file_is_ScriptNotFound_naming_it_and_the_line_that_loads_it()
    {
        _temp.Write("lib/greeting.cs", Greeting); // loads text.cs, which is not there
        var path = _temp.Write("greet.cs", Script);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.ScriptNotFound, e.ErrorId);
        Assert.Contains("'text.cs'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{_temp.File("lib/greeting.cs")}:1", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../outside.cs")]
    [InlineData("lib/../../outside.cs")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\\\flows\\\\x.cs")]
    public async Task A_path_that_is_absolute_or_leaves_the_root_is_an_error_naming_the_line(string target)
    {
        var path = _temp.Write("flows/escape.cs", $"// shared code\n#load \"{target}\"\nusing Flowstore;\nvar flow = new Flow(\"greet\");\n");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.ScriptLoadInvalid, e.ErrorId);
        Assert.Contains($"{path}:2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_a_git_working_tree_a_script_loads_files_anywhere_in_the_repository_but_not_outside_it()
    {
        Directory.CreateDirectory(_temp.File("repo/.git"));
        _temp.Write("repo/lib/text.cs", Text);
        var inside = _temp.Write("repo/flows/inside.cs", """
            #load "../lib/text.cs"
            using Flowstore;
            var flow = new Flow("greet");
            flow.Task("say", () => Text.Shout("up"));
            """);
        var outside = _temp.Write("repo/flows/outside.cs", "#load \"../../elsewhere.cs\"\nusing Flowstore;\nvar flow = new Flow(\"greet\");\n");

        var loaded = await _loader.LoadFileAsync(inside);
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(outside));

        Assert.Equal("UP!", await RunSay(loaded));
        Assert.Equal("../lib/text.cs", Assert.Single(loaded.Compiled.Sources!.Loaded).Name);
        Assert.Equal(ErrorIds.ScriptLoadInvalid, e.ErrorId);
        Assert.Contains($"leaves '{_temp.File("repo")}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_loaded_file_with_top_level_statements_is_an_error_naming_it_and_the_line()
    {
        _temp.Write("lib/greeting.cs", Greeting);
        _temp.Write("lib/text.cs", "public static class Text { public static string Shout(string s) => s; }\n\nConsole.WriteLine(\"side effect\");\n");
        var path = _temp.Write("greet.cs", Script);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => _loader.LoadFileAsync(path));

        Assert.Equal(ErrorIds.ScriptLoadInvalid, e.ErrorId);
        Assert.Contains($"'{_temp.File("lib/text.cs")}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", e.Message, StringComparison.Ordinal);
        Assert.Contains($"loaded by {_temp.File("lib/greeting.cs")}:1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_compiler_error_in_a_loaded_file_points_at_its_file_line_and_column()
    {
        _temp.Write("lib/greeting.cs", Greeting);
        _temp.Write("lib/text.cs", "public static class Text\n{\n    public static string Shout(string s) => s.NoSuchMethod();\n}\n");
        var path = _temp.Write("greet.cs", Script);

        var e = await Assert.ThrowsAsync<ScriptCompilationException>(() => _loader.LoadFileAsync(path));

        var d = Assert.Single(e.Diagnostics);
        Assert.Equal((_temp.File("lib/text.cs"), 3, 47, "CS1061"), (d.File, d.Line, d.Column, d.Id));
        Assert.Contains($"{_temp.File("lib/text.cs")}:3:47", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_in_a_script_that_loads_files_keeps_its_line_and_column()
    {
        _temp.Write("lib/greeting.cs", Greeting);
        _temp.Write("lib/text.cs", Text);
        var path = _temp.Write("greet.cs", Script + "\nint x = \"no\";\n");

        var e = await Assert.ThrowsAsync<ScriptCompilationException>(() => _loader.LoadFileAsync(path));

        var d = Assert.Single(e.Diagnostics);
        Assert.Equal((path, 7, 9, "CS0029"), (d.File, d.Line, d.Column, d.Id));
    }

    [Fact]
    public async Task A_load_after_the_first_line_of_code_is_said_so()
    {
        _temp.Write("lib/text.cs", Text);
        var path = _temp.Write("late.cs", "using Flowstore;\n#load \"lib/text.cs\"\nvar flow = new Flow(\"greet\");\n");

        var e = await Assert.ThrowsAsync<ScriptCompilationException>(() => _loader.LoadFileAsync(path));

        var d = Assert.Single(e.Diagnostics);
        Assert.Equal((path, 2, 2), (d.File, d.Line, d.Column));
        Assert.Contains("#load must come before", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_exception_thrown_in_a_loaded_file_points_at_its_line()
    {
        _temp.Write("lib/boom.cs", "public static class Boom\n{\n    public static int Go() =>\n\n        throw new InvalidOperationException(\"boom\");\n}\n");
        var path = _temp.Write("boom.cs", "#load \"lib/boom.cs\"\nusing Flowstore;\nvar flow = new Flow(\"greet\");\nflow.Task(\"say\", () => Boom.Go());\n");

        var loaded = await _loader.LoadFileAsync(path);
        var result = await FlowExecutor.RunAsync(loaded.Select("greet"), null);

        Assert.Equal(RunState.Failed, result.State);
        Assert.Contains($"(at {_temp.File("lib/boom.cs")}:5)", result.Tasks.Single().Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compiling_a_script_without_the_files_it_loads_is_refused()
    {
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => new ScriptCompiler().CompileAsync(Script, "/flows/greet.cs"));

        Assert.Equal(ErrorIds.ScriptLoadInvalid, e.ErrorId);
        Assert.Contains("/flows/greet.cs:1", e.Message, StringComparison.Ordinal);
    }
}
