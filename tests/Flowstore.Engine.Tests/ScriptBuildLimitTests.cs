using System.Diagnostics;
using Flowstore.Engine;
using Flowstore.Scripting;

namespace Flowstore.Engine.Tests;

/// <summary>
/// Runaway builds: a script whose top-level statements never end, or allocate without bound, is stopped by the build
/// time or memory limit with a clear error naming it (registration, Test-FlowScript, the build before a run), nothing
/// is registered, and the same client goes on working. Every test bounds its own wall time.
/// </summary>
public sealed class ScriptBuildLimitTests : EngineTestBase, IDisposable
{
    private static readonly TimeSpan WallLimit = TimeSpan.FromSeconds(120);

    private const string Good = """
        using Flowstore;
        var flow = new Flow("good");
        flow.Task("one", () => 1);
        """;

    private FlowClient LimitedClient(double seconds, long megabytes = 256)
    {
        var client = new FlowClient(new FlowClientOptions
        {
            Home = Home,
            BuildLimits = new ScriptBuildLimits(TimeSpan.FromSeconds(seconds), megabytes * 1024 * 1024),
        });
        _limited.Add(client);
        return client;
    }

    private readonly List<FlowClient> _limited = new();

    public void Dispose()
    {
        foreach (var client in _limited)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task A_top_level_that_never_ends_is_ScriptBuildTimeout_nothing_registered_and_the_next_registration_succeeds()
    {
        var client = LimitedClient(2);
        var spin = WriteScript("spin.cs", """
            using Flowstore;
            var flow = new Flow("spin");
            flow.Task("t", () => 1);
            while (true) { }
            """);
        var clock = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(client, spin, new RegisterOptions { Project = Project }).WaitAsync(WallLimit));

        Assert.Equal(ErrorIds.ScriptBuildTimeout, e.ErrorId);
        Assert.Equal(FlowErrorKind.OperationTimeout, e.Kind);
        Assert.Equal(spin, e.Target);
        Assert.Contains(spin, e.Message);
        Assert.Contains("2 s", e.Message);
        Assert.Contains(ScriptBuildLimits.TimeoutVariable, e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"stopped after {clock.Elapsed}");
        Assert.Empty(await client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));

        // Test-FlowScript is stopped the same way.
        var tested = await Assert.ThrowsAsync<FlowstoreException>(() => client.TestScriptAsync(spin, null).WaitAsync(WallLimit));
        Assert.Equal(ErrorIds.ScriptBuildTimeout, tested.ErrorId);

        // The same client (and process) goes on: the next registration succeeds.
        var next = Assert.Single(await RegisterAsync(client, WriteScript("good.cs", Good), new RegisterOptions { Project = Project }).WaitAsync(WallLimit));
        Assert.Equal(RegistrationStatus.Registered, next.Status);
    }

    [Fact]
    public async Task A_top_level_that_allocates_without_bound_is_ScriptBuildMemoryExceeded_and_the_next_registration_succeeds()
    {
        var client = LimitedClient(60, megabytes: 96);
        var hog = WriteScript("hog.cs", """
            using Flowstore;
            var flow = new Flow("hog");
            flow.Task("t", () => 1);
            var keep = new List<byte[]>();
            while (true) { keep.Add(new byte[1 << 20]); }
            """);
        var huge = WriteScript("huge.cs", """
            using Flowstore;
            var flow = new Flow("huge");
            var data = new long[1L << 30]; // 8 GB at once
            flow.Task("t", () => data.Length);
            """);
        var before = Process.GetCurrentProcess().PeakWorkingSet64;

        foreach (var script in new[] { hog, huge })
        {
            var e = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(client, script, new RegisterOptions { Project = Project }).WaitAsync(WallLimit));

            Assert.Equal(ErrorIds.ScriptBuildMemoryExceeded, e.ErrorId);
            Assert.Equal(FlowErrorKind.LimitsExceeded, e.Kind);
            Assert.Equal(script, e.Target);
            Assert.Contains("96 MB", e.Message);
            Assert.Contains(ScriptBuildLimits.MemoryVariable, e.Message);
        }
        Assert.Empty(await client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
        // The memory was the build process's, not this one's.
        Assert.True(Process.GetCurrentProcess().PeakWorkingSet64 - before < 1024L * 1024 * 1024, "this process grew by a gigabyte or more");

        var next = Assert.Single(await RegisterAsync(client, WriteScript("good.cs", Good), new RegisterOptions { Project = Project }).WaitAsync(WallLimit));
        Assert.Equal(RegistrationStatus.Registered, next.Status);
    }

    [Fact]
    public async Task A_run_whose_build_never_ends_fails_with_the_build_time_limit_and_the_next_run_succeeds()
    {
        var marker = Temp.File("loop-while-this-exists");
        var script = WriteScript("sometimes.cs", $$"""
            using Flowstore;
            var flow = new Flow("sometimes");
            flow.Task("t", () => 1);
            while (File.Exists(@"{{marker}}")) { }
            """);
        var registering = LimitedClient(2);
        Assert.Equal(RegistrationStatus.Registered, Assert.Single(await RegisterAsync(registering, script, new RegisterOptions { Project = Project })).Status);
        var flow = await registering.GetFlowAsync("sometimes", Project);
        File.WriteAllText(marker, "");
        try
        {
            // A process that never built the script (another agent): the build worker is stopped at the limit.
            var fresh = LimitedClient(2.5);
            var failed = await fresh.RunNowAsync(flow, null, null).WaitAsync(WallLimit);
            Assert.Equal(RunState.Failed, failed.State);
            Assert.Contains("build time limit", failed.Error);

            // The process that built it before within the limit: the build here is stopped at the limit too.
            var again = await registering.RunNowAsync(flow, null, null).WaitAsync(WallLimit);
            Assert.Equal(RunState.Failed, again.State);
            Assert.Contains("build time limit", again.Error);
        }
        finally
        {
            File.Delete(marker); // ends the loop left running in this process
        }

        var ok = await registering.RunNowAsync(flow, null, null).WaitAsync(WallLimit);
        Assert.Equal(RunState.Success, ok.State);
    }

    [Fact]
    public void The_limits_come_from_the_environment_and_an_invalid_value_names_the_variable()
    {
        var saved = (Environment.GetEnvironmentVariable(ScriptBuildLimits.TimeoutVariable), Environment.GetEnvironmentVariable(ScriptBuildLimits.MemoryVariable));
        try
        {
            Environment.SetEnvironmentVariable(ScriptBuildLimits.TimeoutVariable, null);
            Environment.SetEnvironmentVariable(ScriptBuildLimits.MemoryVariable, null);
            Assert.Equal(ScriptBuildLimits.Default, ScriptBuildLimits.FromEnvironment());
            Assert.InRange(ScriptBuildLimits.Default.Timeout.TotalSeconds, 10, 99);

            Environment.SetEnvironmentVariable(ScriptBuildLimits.TimeoutVariable, "2.5");
            Environment.SetEnvironmentVariable(ScriptBuildLimits.MemoryVariable, "300");
            Assert.Equal(new ScriptBuildLimits(TimeSpan.FromSeconds(2.5), 300L * 1024 * 1024), ScriptBuildLimits.FromEnvironment());

            Environment.SetEnvironmentVariable(ScriptBuildLimits.TimeoutVariable, "soon");
            var e = Assert.Throws<FlowstoreException>(ScriptBuildLimits.FromEnvironment);
            Assert.Contains(ScriptBuildLimits.TimeoutVariable, e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ScriptBuildLimits.TimeoutVariable, saved.Item1);
            Environment.SetEnvironmentVariable(ScriptBuildLimits.MemoryVariable, saved.Item2);
        }
    }
}
