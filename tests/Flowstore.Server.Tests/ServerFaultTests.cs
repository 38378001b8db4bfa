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

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task RetryAfterAServerRestart_OfARegistrationAndARunStart_IsAnsweredAsTheFirstTime_AndAppliedOnce(string backend)
    {
        var database = backend == "Postgres" ? await PostgresTestServer.CreateDatabaseAsync() : null;
        try
        {
            await using var server = await ServerProcess.StartAsync(_home.Path, backend,
                database is null ? null : PostgresTestServer.ConnectionStringFor(database));
            using var client = server.Client();
            await client.CreateProjectAsync("team", null, Ct);
            var v1 = (await client.RegisterFlowAsync(Registration("team", "my_flow", "k1"), Ct)).Flow;

            // The first tries: answered, but (say) the answers were lost on the way when the server went down.
            var registration = JsonSerializer.Serialize(Registration("team", "my_flow", "k2"), FlowstoreApi.ClientOptions);
            var run = JsonSerializer.Serialize(new NewRun { Flow = v1 }, FlowstoreApi.ClientOptions);
            var (registered, registeredBody) = await PostAsync(server.Url, "api/v1/flows/registrations", registration, "key-registration");
            var (started, startedBody) = await PostAsync(server.Url, "api/v1/runs", run, "key-run");
            Assert.Equal(HttpStatusCode.OK, registered);
            Assert.Equal(HttpStatusCode.Created, started);

            await server.KillAsync();
            await server.StartAgainAsync();

            // The retries reach a new server process: the first answers again, nothing done twice.
            var (registeredAgain, registeredAgainBody) = await PostAsync(server.Url, "api/v1/flows/registrations", registration, "key-registration");
            var (startedAgain, startedAgainBody) = await PostAsync(server.Url, "api/v1/runs", run, "key-run");
            Assert.Equal(registered, registeredAgain);
            Assert.Equal(registeredBody, registeredAgainBody);
            Assert.Equal(started, startedAgain);
            Assert.Equal(startedBody, startedAgainBody);
            var outcome = JsonSerializer.Deserialize<RegistrationOutcome>(registeredAgainBody, FlowstoreApi.ClientOptions)!;
            Assert.Equal(RegistrationStatus.Registered, outcome.Status);
            Assert.Equal(2, outcome.Flow.Version);

            var runs = await client.GetRunsAsync(new RunQuery { Project = "team" }, Ct);
            Assert.Equal(JsonSerializer.Deserialize<FlowRunRecord>(startedBody, FlowstoreApi.ClientOptions)!.Id, Assert.Single(runs).Id);
            Assert.Equal([2, 1], (await client.GetFlowsAsync(new FlowQuery { Project = "team", IncludeArchived = true }, Ct)).Select(f => f.Version));

            // Another key is another request.
            var (other, otherBody) = await PostAsync(server.Url, "api/v1/runs", run, "key-run-2");
            Assert.Equal(HttpStatusCode.Created, other);
            Assert.NotEqual(startedBody, otherBody);
            Assert.Equal(2, (await client.GetRunsAsync(new RunQuery { Project = "team" }, Ct)).Count);
        }
        finally
        {
            if (database is not null)
            {
                await PostgresTestServer.DropDatabaseAsync(database);
            }
        }
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task ServerKilledMidRegistration_EveryRegistrationIsRecordedWholeOrNotAtAll_AndTheRetriesCompleteThem(string backend)
    {
        const int Clients = 4;
        const int Changes = 6;
        var database = backend == "Postgres" ? await PostgresTestServer.CreateDatabaseAsync() : null;
        try
        {
            await using var server = await ServerProcess.StartAsync(_home.Path, backend,
                database is null ? null : PostgresTestServer.ConnectionStringFor(database));
            using (var setup = server.Client())
            {
                await setup.CreateProjectAsync("team", null, Ct);
            }
            var answered = 0;
            var outcomes = new System.Collections.Concurrent.ConcurrentBag<(int Client, int Change, RegistrationOutcome Outcome)>();

            // Each client registers changes of its own flow one after the other; a call cut by the kill is retried
            // (same Idempotency-Key) until the server is back.
            var registering = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                using var client = server.Client(attempts: 12, retryDelay: TimeSpan.FromMilliseconds(100));
                for (var change = 1; change <= Changes; change++)
                {
                    var outcome = await client.RegisterFlowAsync(Registration("team", $"flow_{c}", $"c{c}-k{change}"), Ct);
                    outcomes.Add((c, change, outcome));
                    Interlocked.Increment(ref answered);
                }
            })).ToArray();

            var deadline = DateTimeOffset.UtcNow.AddMinutes(2);
            while (Volatile.Read(ref answered) < Clients && !registering.All(t => t.IsCompleted))
            {
                Assert.True(DateTimeOffset.UtcNow < deadline, "the first registrations were not answered in time");
                await Task.Delay(10, Ct);
            }
            await server.KillAsync(); // registrations in flight are cut at whatever point they reached
            await server.StartAgainAsync();
            await Task.WhenAll(registering).WaitAsync(TimeSpan.FromMinutes(3), Ct);

            using var reader = server.Client();
            var flows = await reader.GetFlowsAsync(new FlowQuery { Project = "team", IncludeArchived = true }, Ct);
            for (var c = 0; c < Clients; c++)
            {
                var versions = flows.Where(f => f.Name == $"flow_{c}").OrderBy(f => f.Version).ToList();
                // Whole: one version per change, numbered without a gap or a repeat, each with its own key, and only
                // the newest not archived (a registration archives the older versions in the same transaction).
                Assert.Equal(Enumerable.Range(1, Changes), versions.Select(f => f.Version));
                Assert.Equal(Enumerable.Range(1, Changes).Select(k => $"c{c}-k{k}"), versions.Select(f => f.RegistrationKey));
                Assert.Equal([Changes], versions.Where(f => !f.Archived).Select(f => f.Version));
                Assert.All(versions, f => Assert.Equal(versions[0].VersionGroupId, f.VersionGroupId));
                // Every client got an answer for every change naming the version recorded for it.
                foreach (var (_, change, outcome) in outcomes.Where(o => o.Client == c))
                {
                    Assert.Equal(change, outcome.Flow.Version);
                }
            }
            Assert.Equal(Clients * Changes, outcomes.Count);
        }
        finally
        {
            if (database is not null)
            {
                await PostgresTestServer.DropDatabaseAsync(database);
            }
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(Uri server, string path, string json, string idempotencyKey)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, path))
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(FlowstoreApi.IdempotencyKeyHeader, idempotencyKey);
        using var response = await http.SendAsync(request, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }
}
