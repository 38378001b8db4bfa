using Flowstore.Backend.Http;
using Flowstore.Engine;

namespace Flowstore.Server.Tests;

/// <summary>
/// A flow with Local storage registered through a server carries the registering machine's host label, so that only
/// an agent on that machine (which has the file) claims its runs; -NoHostLabel leaves it out; other storages and the
/// embedded backend never get it.
/// </summary>
public sealed class HostLabelTests(RunningServer server) : IClassFixture<RunningServer>, IDisposable
{
    private readonly TempDirectory _temp = new("flowstore-host-label");
    private readonly List<IDisposable> _owned = new();
    private readonly string _project = "hostlabel-" + Guid.NewGuid().ToString("N")[..8];

    private const string Script = """
        using Flowstore;

        var flow = new Flow("local_flow");
        flow.Labels.Add("etl");
        flow.Task("hello", () => Console.WriteLine("hello"));
        """;

    private static readonly RunTiming Fast = new() { PollInterval = TimeSpan.FromMilliseconds(20), HeartbeatInterval = TimeSpan.FromMilliseconds(50) };

    private FlowClient ClientOf(string who, IFlowBackend? backend)
    {
        if (backend is not null)
        {
            _owned.Add(backend);
        }
        var client = new FlowClient(new FlowClientOptions { Home = _temp.File(who), Backend = backend }) { Timing = Fast };
        _owned.Add(client);
        return client;
    }

    private static async Task<FlowRegistration> RegisterAsync(FlowClient client, string path, RegisterOptions options)
    {
        var plan = Assert.Single(await client.PlanAsync(path, options));
        return await client.ApplyAsync(plan, options);
    }

    [Fact]
    public async Task A_local_flow_registered_through_the_server_gets_the_host_label_unless_NoHostLabel()
    {
        var client = ClientOf("ci", server.Client());
        await client.EnsureProjectAsync(_project, create: true);
        var path = _temp.Write("local_flow.cs", Script);

        var labelled = await RegisterAsync(client, path, new RegisterOptions { Project = _project, Labels = ["nightly"] });

        Assert.Equal(RegistrationStatus.Registered, labelled.Status);
        var flow = await client.GetFlowAsync("local_flow", _project);
        Assert.Equal(new[] { "etl", FlowHost.Label, "nightly" }.Order(StringComparer.Ordinal), flow.Labels);

        // Registering the same file again is unchanged (the host label is part of what was recorded).
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(ClientOf("ci2", server.Client()), path,
            new RegisterOptions { Project = _project, Labels = ["nightly"] })).Status);

        // -NoHostLabel: a new version without it (the labels are part of the registration key).
        var shared = await RegisterAsync(client, path, new RegisterOptions { Project = _project, Labels = ["nightly"], NoHostLabel = true });
        Assert.Equal(RegistrationStatus.Registered, shared.Status);
        Assert.Equal(["etl", "nightly"], (await client.GetFlowAsync("local_flow", _project)).Labels);
    }

    [Fact]
    public async Task The_embedded_backend_adds_no_host_label()
    {
        var client = ClientOf("alone", null);
        await client.EnsureProjectAsync(_project, create: true);
        var path = _temp.Write("local_flow.cs", Script);

        await RegisterAsync(client, path, new RegisterOptions { Project = _project });

        Assert.Equal(["etl"], (await client.GetFlowAsync("local_flow", _project)).Labels);
    }

    [Fact]
    public async Task A_run_executed_through_the_server_is_followed_from_another_home_and_claimed_by_the_host_agent()
    {
        var ci = ClientOf("ci-follow", server.Client());
        await ci.EnsureProjectAsync(_project, create: true);
        var path = _temp.Write("local_flow.cs", Script);
        await RegisterAsync(ci, path, new RegisterOptions { Project = _project });
        var run = await ci.QueueRunAsync(await ci.GetFlowAsync("local_flow", _project), null);

        var ops = ClientOf("ops-follow", server.Client());
        var followed = new List<string>();
        var follow = ops.FollowRunLogAsync(run.Id, e => followed.Add(e.Message));
        var agentHome = ClientOf("agent-follow", server.Client());
        // The flow's labels are etl and this host: an agent with etl (and, as every agent, its host label) runs it.
        var ran = await agentHome.RunAgentAsync("follow-agent", once: true, labels: ["etl"]).WaitAsync(TimeSpan.FromMinutes(2));

        var ended = await follow.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Contains(run.Id, ran.Select(r => r.Id));
        Assert.Equal(RunState.Success, ended.State);
        Assert.Contains(followed, m => m.Contains("hello", StringComparison.Ordinal));
        Assert.Equal((await ops.GetRunLogAsync(run.Id)).Select(e => e.Message), followed);
    }

    public void Dispose()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }
}
