namespace Flowstore.Scripting.Tests;

public sealed class ScriptCompilerTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Script(string flowName) => $$"""
        using Flowstore;
        var flow = new Flow("{{flowName}}");
        var n = flow.Parameter("n", 2);
        var data = flow.Task("data", (int count) => Enumerable.Range(1, count).ToArray(), n);
        flow.Task("sum", (int[] values) => values.Sum(), data);
        """;

    [Fact]
    public async Task Compiling_the_same_source_twice_comes_from_the_cache()
    {
        var compiler = new ScriptCompiler();
        var source = Script("cached");
        Assert.False(compiler.IsCached(source));

        var first = await compiler.CompileAsync(source, "/flows/cached.cs");
        var second = await compiler.CompileAsync(source, "/flows/cached.cs");

        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Same(first.Assembly, second.Assembly);
        Assert.Equal(first.Sha256, second.Sha256);
        Assert.Equal(FlowStructure.Sha256Hex(source), first.Sha256);
        Assert.True(compiler.IsCached(source));
    }

    [Fact]
    public async Task A_different_source_compiles_anew()
    {
        var compiler = new ScriptCompiler();

        var first = await compiler.CompileAsync(Script("one"), "/flows/x.cs");
        var other = await compiler.CompileAsync(Script("two"), "/flows/x.cs");

        Assert.False(other.FromCache);
        Assert.NotSame(first.Assembly, other.Assembly);
        Assert.NotEqual(first.Sha256, other.Sha256);
    }

    [Fact]
    public async Task Concurrent_compiles_of_one_source_share_one_compilation()
    {
        var compiler = new ScriptCompiler();
        var source = Script("concurrent");

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => compiler.CompileAsync(source, "/flows/c.cs")));

        Assert.Single(results.Select(r => r.Assembly).Distinct());
        Assert.Single(results, r => !r.FromCache);
    }

    [Fact]
    public async Task A_failed_compilation_is_not_cached()
    {
        var compiler = new ScriptCompiler();
        const string broken = "using Flowstore;\nvar flow = new Flow(\"x\")\n";

        await Assert.ThrowsAsync<ScriptCompilationException>(() => compiler.CompileAsync(broken, "/flows/b.cs"));

        Assert.False(compiler.IsCached(broken));
        await Assert.ThrowsAsync<ScriptCompilationException>(() => compiler.CompileAsync(broken, "/flows/b.cs"));
    }

    [Fact]
    public async Task A_disk_cache_shared_by_two_compilers_is_used_by_the_second()
    {
        var cache = _temp.File("cache");
        var source = Script("on-disk");

        var first = await new ScriptCompiler(cache).CompileAsync(source, "/flows/d.cs");
        Assert.False(first.FromCache);
        var file = Assert.Single(Directory.GetFiles(cache, "*.dll"));
        Assert.StartsWith(first.Sha256, Path.GetFileName(file));

        var secondCompiler = new ScriptCompiler(cache);
        Assert.True(secondCompiler.IsCached(source));
        var second = await secondCompiler.CompileAsync(source, "/flows/d.cs");

        Assert.True(second.FromCache);
        Assert.Equal(first.AssemblyBytes, second.AssemblyBytes);
        var flow = new FlowScriptLoader(secondCompiler).LoadAssembly(second.AssemblyBytes, "x").Flows.Single();
        Assert.Equal("on-disk", flow.Name);
    }

    [Fact]
    public async Task The_second_compiler_loads_the_disk_cache_instead_of_compiling()
    {
        var cache = _temp.File("cache");
        var source = Script("from-source");

        await new ScriptCompiler(cache).CompileAsync(source, "/flows/e.cs");
        // Replace the cached assembly with one built from another script: only a compiler that reads the
        // cache (and does not compile) builds that other flow.
        var other = await new ScriptCompiler().CompileAsync(Script("from-disk-cache"), "/flows/f.cs");
        var file = Directory.GetFiles(cache, "*.dll").Single();
        await File.WriteAllBytesAsync(file, other.AssemblyBytes);

        var loaded = await new FlowScriptLoader(new ScriptCompiler(cache)).LoadSourceAsync(source, "/flows/e.cs");

        Assert.True(loaded.Compiled.FromCache);
        Assert.Equal("from-disk-cache", loaded.Flows.Single().Name);
    }

    [Fact]
    public async Task A_damaged_disk_cache_entry_is_recompiled()
    {
        var cache = _temp.File("cache");
        var source = Script("damaged");
        await new ScriptCompiler(cache).CompileAsync(source, "/flows/g.cs");
        var file = Directory.GetFiles(cache, "*.dll").Single();
        await File.WriteAllBytesAsync(file, new byte[] { 1, 2, 3 });

        var loaded = await new FlowScriptLoader(new ScriptCompiler(cache)).LoadSourceAsync(source, "/flows/g.cs");

        Assert.False(loaded.Compiled.FromCache);
        Assert.Equal("damaged", loaded.Flows.Single().Name);
        Assert.NotEqual(new byte[] { 1, 2, 3 }, await File.ReadAllBytesAsync(file));
    }

    [Fact]
    public async Task A_frozen_assembly_builds_the_same_flows()
    {
        var loader = new FlowScriptLoader(new ScriptCompiler());
        var fromSource = await loader.LoadSourceAsync(Script("frozen"), "/flows/frozen.cs");

        var frozen = new FlowScriptLoader(new ScriptCompiler()).LoadAssembly(fromSource.Compiled.AssemblyBytes, "/store/frozen.dll");

        Assert.True(frozen.Compiled.FromCache);
        Assert.Equal("/store/frozen.dll", frozen.Origin);
        Assert.Equal(FlowStructure.Sha256Hex(fromSource.Compiled.AssemblyBytes), frozen.Compiled.Sha256);
        var expected = FlowStructure.FromFlow(fromSource.Flows.Single());
        var actual = FlowStructure.FromFlow(frozen.Flows.Single());
        Assert.Equal(expected.CanonicalJson, actual.CanonicalJson);

        var result = await FlowExecutor.RunAsync(frozen.Flows.Single(), new Dictionary<string, object?> { ["n"] = 4 });
        Assert.Equal(10, result.Results["sum"]);
    }

    [Fact]
    public async Task Compilation_is_deterministic()
    {
        var source = Script("deterministic");
        var a = await new ScriptCompiler().CompileAsync(source, "/flows/h.cs");
        var b = await new ScriptCompiler().CompileAsync(source, "/flows/h.cs");
        Assert.Equal(a.AssemblyBytes, b.AssemblyBytes);
    }
}
