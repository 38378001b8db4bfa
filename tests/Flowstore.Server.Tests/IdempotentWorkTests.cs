using System.Net;
using System.Text;
using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Backend.Postgres.Tests;
using Flowstore.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Flowstore.Server.Tests;

/// <summary>
/// A server that goes down right after a request's work committed, before its answer left (the crash window between
/// the commit and the answer): the client's retry under the same Idempotency-Key gets the one result and the work is
/// in the database once, for every call the HTTP client retries under a key. The real server (keys required) over
/// SQLite and over the test PostgreSQL server, the real HTTP client; the crash is a test-only fault
/// (<see cref="IAfterWorkFault"/>) that drops the connection where the server would have answered.
/// </summary>
public sealed class IdempotentWorkTests : IDisposable
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    /// <summary>Drops the connection of the next request to each armed endpoint once its work is done, as a crash would.</summary>
    private sealed class CrashAfterWork : IAfterWorkFault
    {
        private readonly HashSet<string> _armed = [];
        private readonly List<string> _crashed = [];

        public IReadOnlyList<string> Crashed
        {
            get
            {
                lock (_armed)
                {
                    return _crashed.ToArray();
                }
            }
        }

        public void Arm(params string[] endpoints)
        {
            lock (_armed)
            {
                _armed.UnionWith(endpoints);
            }
        }

        public ValueTask<bool> AfterWorkAsync(HttpContext context)
        {
            var name = context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IEndpointNameMetadata>()?.EndpointName;
            lock (_armed)
            {
                if (name is null || !_armed.Remove(name))
                {
                    return ValueTask.FromResult(false);
                }
                _crashed.Add(name);
            }
            context.Abort();
            return ValueTask.FromResult(true);
        }
    }

    private static FlowRegistrationRequest Registration(string project, string key) => new()
    {
        Project = project, Name = "my_flow", StructureJson = "{}", StructureHash = "h-" + key, RegistrationKey = key, StorageType = "Local", StorageJson = "{}",
    };

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task ServerDownRightAfterTheWorkCommitted_TheClientsRetryGetsTheOneResult_AndTheWorkIsDoneOnce(string backend)
    {
        var database = backend == "Postgres" ? await PostgresTestServer.CreateDatabaseAsync() : null;
        var crash = new CrashAfterWork();
        try
        {
            string[] args = database is null
                ? ["--Flowstore:ApiKeys=Required"]
                : ["--Flowstore:ApiKeys=Required", "--Flowstore:Backend=Postgres", $"--Flowstore:ConnectionString={PostgresTestServer.ConnectionStringFor(database)}"];
            using var server = new RunningServer(builder => builder.Services.AddSingleton<IAfterWorkFault>(crash), args);
            await server.InitializeAsync();
            try
            {
                var admin = (await File.ReadAllTextAsync(Path.Combine(server.Home, FlowApiKeys.AdminKeyFileName), Ct)).Trim();
                using var client = server.Client(admin);

                crash.Arm("CreateProject");
                var project = await client.CreateProjectAsync("team", null, Ct);
                Assert.Equal(project.Id, Assert.Single(await client.GetProjectsAsync(null, Ct)).Id);

                crash.Arm("RegisterFlow");
                var v1 = await client.RegisterFlowAsync(Registration("team", "k1"), Ct);
                Assert.Equal(RegistrationStatus.Registered, v1.Status);
                crash.Arm("RegisterFlow");
                var v2 = await client.RegisterFlowAsync(Registration("team", "k2"), Ct);
                Assert.Equal((RegistrationStatus.Registered, 2), (v2.Status, v2.Flow.Version));
                Assert.Equal([2, 1], (await client.GetFlowsAsync(new FlowQuery { Project = "team", IncludeArchived = true }, Ct)).Select(f => f.Version));

                crash.Arm("CreateRun");
                var run = await client.CreateRunAsync(new NewRun { Flow = v2.Flow }, Ct);
                Assert.Equal(run.Id, Assert.Single(await client.GetRunsAsync(new RunQuery { Project = "team" }, Ct)).Id);

                crash.Arm("ClaimRun");
                var claimed = await client.ClaimRunAsync("agent-1", null, null, Ct);
                Assert.Equal((run.Id, RunState.Running), (claimed?.Id, claimed?.State));

                crash.Arm("AppendRunLog");
                await client.AppendLogAsync(run.Id, [new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", "one"), new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", "two")], Ct);
                Assert.Equal(["one", "two"], (await client.GetRunLogAsync(run.Id, Ct)).Select(e => e.Message));

                crash.Arm("CompleteRun");
                Assert.True(await client.CompleteRunAsync(run.Id, "agent-1", new RunCompletion { State = RunState.Success }, Ct));
                Assert.Equal(RunState.Success, Assert.Single(await client.GetRunsAsync(new RunQuery { Project = "team" }, Ct)).State);

                // New-FlowApiKey through a server: the client makes the token and sends its hash; the key is recorded once
                // and the client's token works.
                crash.Arm("CreateApiKey");
                var keys = new FlowApiKeys(new Lazy<IFlowBackend>(client));
                var created = await keys.CreateAsync("ci", FlowRole.Registrar, null, null, "admin", Ct);
                Assert.Equal(created.Key.Id, Assert.Single(await client.ListApiKeysAsync(Ct), k => k.Name == "ci").Id);
                using (var ci = server.Client(created.Token))
                {
                    Assert.Single(await ci.GetProjectsAsync(null, Ct));
                }

                // Every call above was cut once, after its work, and retried.
                Assert.Equal(["CreateProject", "RegisterFlow", "RegisterFlow", "CreateRun", "ClaimRun", "AppendRunLog", "CompleteRun", "CreateApiKey"], crash.Crashed);
            }
            finally
            {
                await server.DisposeAsync();
            }
        }
        finally
        {
            if (database is not null)
            {
                await PostgresTestServer.DropDatabaseAsync(database);
            }
        }
    }

    [Fact]
    public async Task ARetryWithTheSameKey_IsGivenTheAnswerCommittedWithTheWork_ByteForByte_AlsoAfterARestart()
    {
        var crash = new CrashAfterWork();
        using var server = new RunningServer(builder => builder.Services.AddSingleton<IAfterWorkFault>(crash));
        await server.InitializeAsync();
        try
        {
            using var client = server.Client();
            await client.CreateProjectAsync("team", null, Ct);
            var v1 = (await client.RegisterFlowAsync(Registration("team", "k1"), Ct)).Flow;
            var run = JsonSerializer.Serialize(new NewRun { Flow = v1 }, FlowstoreApi.ClientOptions);

            var first = await PostAsync(server.Url, "api/v1/runs", run, "key-run");
            var again = await PostAsync(server.Url, "api/v1/runs", run, "key-run");
            await server.RestartAsync(); // the in-memory answers are gone: the database's answers it
            var afterRestart = await PostAsync(server.Url, "api/v1/runs", run, "key-run");

            Assert.Equal(HttpStatusCode.Created, first.Status);
            Assert.Equal("application/json; charset=utf-8", first.ContentType);
            Assert.Equal(first, again);
            Assert.Equal(first, afterRestart);
            Assert.Equal(JsonSerializer.Deserialize<FlowRunRecord>(first.Body, FlowstoreApi.ClientOptions)!.Id,
                Assert.Single(await client.GetRunsAsync(new RunQuery { Project = "team" }, Ct)).Id);

            // Cut after the work: the raw retry gets what the first would have been answered.
            crash.Arm("CreateRun");
            await Assert.ThrowsAsync<HttpRequestException>(() => PostAsync(server.Url, "api/v1/runs", run, "key-cut"));
            var retried = await PostAsync(server.Url, "api/v1/runs", run, "key-cut");
            Assert.Equal(HttpStatusCode.Created, retried.Status);
            var cut = JsonSerializer.Deserialize<FlowRunRecord>(retried.Body, FlowstoreApi.ClientOptions)!;
            Assert.Equal(2, (await client.GetRunsAsync(new RunQuery { Project = "team" }, Ct)).Count);
            Assert.Contains(await client.GetRunsAsync(new RunQuery { Project = "team" }, Ct), r => r.Id == cut.Id);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task AKeyWhoseTokenTheServerMade_IsNeverKeptInTheDatabase_SoARetryAfterARestartIsRefusedAsExisting()
    {
        using var server = new RunningServer(null, "--Flowstore:ApiKeys=Required");
        await server.InitializeAsync();
        try
        {
            var admin = (await File.ReadAllTextAsync(Path.Combine(server.Home, FlowApiKeys.AdminKeyFileName), Ct)).Trim();
            const string body = """{"name":"ops","role":"Reader"}""";

            var first = await PostAsync(server.Url, "api/v1/keys", body, "key-token", admin);
            Assert.Equal(HttpStatusCode.Created, first.Status);
            var token = JsonDocument.Parse(first.Body).RootElement.GetProperty("token").GetString()!;
            Assert.Equal(first, await PostAsync(server.Url, "api/v1/keys", body, "key-token", admin)); // from memory, within this process

            await server.StopAsync();
            foreach (var file in Directory.GetFiles(server.Home, "*", SearchOption.AllDirectories))
            {
                // The database, its WAL, the log: the token is in none of them.
                Assert.DoesNotContain(token, Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file, Ct)), StringComparison.Ordinal);
            }
            await server.InitializeAsync();
            var retry = await PostAsync(server.Url, "api/v1/keys", body, "key-token", admin);
            Assert.Equal(HttpStatusCode.Conflict, retry.Status);
            Assert.Contains(ErrorIds.ApiKeyExists, retry.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(token, retry.Body, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnAgentWhoseClaimLogAndCompletionWereCutAfterTheWork_SendsEachAgainAsTheSameRequest_AndItsRunIsExecutedAndRecordedOnce()
    {
        using var temp = new TempDirectory("flowstore-idempotent-agent-tests");
        var script = temp.Write("flows/once.cs", """
            using Flowstore;

            var flow = new Flow("once");
            flow.Task("hello", () => Console.WriteLine("hello once"));
            """);
        var crash = new CrashAfterWork();
        using var server = new RunningServer(builder => builder.Services.AddSingleton<IAfterWorkFault>(crash));
        await server.InitializeAsync();
        try
        {
            // The HTTP client gives up at the first cut connection: the agent's own retries send the calls again.
            using var backend = server.Client(attempts: 1);
            using var client = new FlowClient(new FlowClientOptions { Home = temp.File("agent"), Backend = backend })
            {
                Timing = new RunTiming
                {
                    ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
                    ReconnectTimeout = TimeSpan.FromMinutes(2),
                    HeartbeatInterval = TimeSpan.FromMilliseconds(200),
                    LogFlushInterval = TimeSpan.FromMilliseconds(100),
                    PollInterval = TimeSpan.FromMilliseconds(100),
                },
            };
            await client.EnsureProjectAsync("P", create: true);
            foreach (var plan in await client.PlanAsync(script, new RegisterOptions { Project = "P" }))
            {
                await client.ApplyAsync(plan, new RegisterOptions { Project = "P" });
            }
            var queued = await client.QueueRunAsync(await client.GetFlowAsync("once", "P"), null);

            crash.Arm("ClaimRun", "AppendRunLog", "CompleteRun");
            var warnings = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var done = await client.RunAgentAsync("agent-1", once: true, cancellationToken: Ct, warning: warnings.Enqueue).WaitAsync(TimeSpan.FromMinutes(2), Ct);

            var run = Assert.Single(await backend.GetRunsAsync(new RunQuery { Project = "P" }, Ct));
            var log = (await backend.GetRunLogAsync(run.Id, Ct)).Select(l => l.Message).ToList();
            var context = $"Run {run.State} ({run.ErrorId}: {run.Error}); log:{Environment.NewLine}{string.Join(Environment.NewLine, log)}" +
                $"{Environment.NewLine}cut: {string.Join(", ", crash.Crashed)}{Environment.NewLine}the agent said:{Environment.NewLine}{string.Join(Environment.NewLine, warnings)}";
            // The claim that was cut is the run executed (not left Running while the agent looks for another).
            Assert.True(done.Count == 1 && done[0].Id == queued.Id, context);
            Assert.True(run.State == RunState.Success, context);
            // The log batch that was cut is in the log once; the completion that was cut is recorded, not "no longer owned".
            Assert.True(log.Count(l => l == "hello once") == 1, context);
            Assert.True(!log.Any(l => l.Contains("no longer owned", StringComparison.Ordinal)), context);
            Assert.True(crash.Crashed.Order().SequenceEqual(["AppendRunLog", "ClaimRun", "CompleteRun"]), context);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private sealed record Answer(HttpStatusCode Status, string? ContentType, string Body);

    private async Task<Answer> PostAsync(Uri server, string path, string json, string idempotencyKey, string? apiKey = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, path))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(FlowstoreApi.IdempotencyKeyHeader, idempotencyKey);
        if (apiKey is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }
        using var response = await http.SendAsync(request, Ct);
        return new Answer(response.StatusCode, response.Content.Headers.ContentType?.ToString(), await response.Content.ReadAsStringAsync(Ct));
    }
}
