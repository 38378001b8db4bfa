using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Backend.Postgres.Tests;

namespace Flowstore.Server.Tests;

/// <summary>
/// Faults around the real server process (started as Start-FlowServer starts it): its database going away and coming
/// back while it runs, and the server itself stopped or killed and started again on the same port and database.
/// </summary>
public sealed class ServerFaultTests : IDisposable
{
    private readonly TempDirectory _home = new("flowstore-server-fault-tests");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(5));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose()
    {
        _timeout.Dispose();
        _home.Dispose();
    }

    private static FlowRegistrationRequest Registration(string project, string name, string key) => new()
    {
        Project = project, Name = name, StructureJson = "{}", StructureHash = "h-" + key, RegistrationKey = key, StorageType = "Local", StorageJson = "{}",
    };

    [Fact]
    public async Task PostgresRestart_WhileTheServerRuns_RequestsAreBackendUnavailable503_AndWorkAgainWithoutRestartingTheServer()
    {
        const string password = "canary-Pa55word-7d1e";
        await using var cluster = await PrivateCluster.StartAsync();
        await using var server = await ServerProcess.StartAsync(_home.Path, "Postgres", cluster.ConnectionString(password));
        var processId = server.ProcessId;
        using var client = server.Client();
        await client.CreateProjectAsync("team", null, Ct);
        Assert.Equal(1, (await client.RegisterFlowAsync(Registration("team", "my_flow", "k1"), Ct)).Flow.Version);

        await cluster.StopServerAsync();

        // Through the HTTP client: the backend's own error, id, kind and target kept.
        var read = await Assert.ThrowsAsync<FlowstoreException>(() => client.GetProjectsAsync(null, Ct));
        var write = await Assert.ThrowsAsync<FlowstoreException>(() => client.RegisterFlowAsync(Registration("team", "my_flow", "k2"), Ct));
        foreach (var error in new[] { read, write })
        {
            Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
            Assert.Equal(FlowErrorKind.ConnectionError, error.Kind);
            Assert.Contains($"127.0.0.1:{cluster.Port}/postgres", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(password, error.ToString(), StringComparison.Ordinal);
        }

        // On the wire: 503 with problem details; /health says Unhealthy naming the error.
        using (var http = new HttpClient())
        {
            using var response = await http.GetAsync(new Uri(server.Url, "api/v1/flows?project=team"), Ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(FlowstoreApi.ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
            Assert.Equal(ErrorIds.BackendUnavailable, problem.GetProperty("errorId").GetString());
            Assert.Equal(503, problem.GetProperty("status").GetInt32());

            using var health = await http.GetAsync(new Uri(server.Url, FlowstoreApi.HealthPath), Ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            var answer = JsonDocument.Parse(await health.Content.ReadAsStringAsync(Ct)).RootElement;
            Assert.Equal("Unhealthy", answer.GetProperty("status").GetString());
            Assert.Contains(ErrorIds.BackendUnavailable, answer.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        await cluster.StartServerAsync();
        await server.WaitForHealthAsync("Healthy");

        // The same server process, the same client: it works again, and the write refused during the outage left nothing.
        Assert.Equal(processId, server.ProcessId);
        using (var process = Process.GetProcessById(processId))
        {
            Assert.False(process.HasExited);
        }
        Assert.Equal("team", Assert.Single(await client.GetProjectsAsync(null, Ct)).Name);
        Assert.Equal(2, (await client.RegisterFlowAsync(Registration("team", "my_flow", "k2"), Ct)).Flow.Version);
        Assert.Equal(2, Assert.Single(await client.GetFlowsAsync(new FlowQuery { Project = "team" }, Ct)).Version);

        await server.StopAsync();
        Assert.DoesNotContain(password, await File.ReadAllTextAsync(server.LogFile, Ct), StringComparison.Ordinal);
    }
}
