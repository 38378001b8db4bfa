using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flowstore.Backend.Http;

namespace Flowstore.Server.Tests;

/// <summary>What the server answers beyond the contract: problem details for bad requests, health, OpenAPI, logs, retries.</summary>
public sealed class ServerTests : IAsyncLifetime, IDisposable
{
    private readonly RunningServer _server = new();
    private readonly HttpClient _http = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
        _timeout.Dispose();
        _server.Dispose();
    }

    private static string Unique(string name) => $"{name}-{Guid.NewGuid():N}"[..24];

    private async Task<(HttpResponseMessage Response, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json, Action<HttpRequestMessage>? adjust = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(_server.Url, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        adjust?.Invoke(request);
        var response = await _http.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static void AssertProblem(HttpResponseMessage response, JsonElement body, HttpStatusCode status, string errorId, string? field)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(FlowstoreApi.ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(errorId, body.GetProperty("errorId").GetString());
        Assert.Equal("urn:flowstore:errors:" + errorId, body.GetProperty("type").GetString());
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        var detail = body.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        Assert.DoesNotContain("   at ", detail, StringComparison.Ordinal); // no stack trace
        if (field is not null)
        {
            Assert.Equal(field, body.GetProperty("field").GetString());
            Assert.Contains($"'{field}'", detail, StringComparison.Ordinal);
        }
    }

    private async Task AssertNoProjectAsync(string name)
    {
        using var client = _server.Client();
        Assert.Empty(await client.GetProjectsAsync(name, Ct));
    }

    // ---------------------------------------------------------------- bad requests

    [Fact]
    public async Task MalformedJson_Is400RequestInvalid_AndWritesNothing()
    {
        var name = Unique("broken");

        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/projects", $$"""{"name": "{{name}}", "description": """);

        AssertProblem(response, body, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid, field: null);
        Assert.Contains("not valid JSON", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertNoProjectAsync(name);
    }

    [Fact]
    public async Task UnknownField_Is400NamingTheField_AndWritesNothing()
    {
        var name = Unique("typo");

        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/projects", $$"""{"name": "{{name}}", "descripton": "typo"}""");

        AssertProblem(response, body, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid, field: "descripton");
        Assert.Contains("not known", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertNoProjectAsync(name);
    }

    [Fact]
    public async Task WrongType_Is400NamingTheField()
    {
        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/projects", """{"name": 42}""");

        AssertProblem(response, body, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid, field: "name");
        Assert.Contains("does not have the right type", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongTypeInANestedField_Is400NamingItsPath()
    {
        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/runs/00000000-0000-0000-0000-000000000001/heartbeat",
            """{"agent": "a", "tasks": [{"name": "t", "slug": "t", "state": "Sleeping", "attempts": 1}]}""");

        AssertProblem(response, body, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid, field: "tasks[0].state");
    }

    [Fact]
    public async Task MissingRequiredField_Is400NamingTheField()
    {
        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/runs/claim", """{"runId": null}""");

        AssertProblem(response, body, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid, field: "agent");
        Assert.Contains("required", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NullWhereTheFieldHasNone_Is400NamingTheField()
    {
        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/projects", """{"name": null}""");

        AssertProblem(response, body, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid, field: "name");
    }

    [Fact]
    public async Task WrongTypeInTheQuery_Is400NamingTheParameter()
    {
        var (response, body) = await SendAsync(HttpMethod.Get, "api/v1/flows?version=latest", null);

        AssertProblem(response, body, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid, field: "version");
    }

    [Fact]
    public async Task FiftyMegabyteScript_IsRefusedWith413_AndNothingIsRegistered()
    {
        using var client = _server.Client();
        var project = await client.CreateProjectAsync(Unique("big"), null, Ct);
        var huge = new string('x', 50 * 1024 * 1024);
        var request = new FlowRegistrationRequest
        {
            Project = project.Name,
            Name = "huge",
            StructureJson = "{}",
            StructureHash = "h",
            RegistrationKey = "k",
            StorageType = "Local",
            StorageJson = """{"type":"Local"}""",
            Description = huge,
        };

        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/flows/registrations",
            JsonSerializer.Serialize(request, FlowstoreApi.ClientOptions), r => r.Headers.ExpectContinue = true);

        Assert.True(response.Content.Headers.ContentType is not null, $"{response.StatusCode} {body}");
        AssertProblem(response, body, HttpStatusCode.RequestEntityTooLarge, ErrorIds.RequestTooLarge, field: null);
        Assert.Contains("16 MB", body.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => client.RegisterFlowAsync(request, Ct));
        Assert.Equal(ErrorIds.RequestTooLarge, error.ErrorId);
        Assert.Empty(await client.GetFlowsAsync(new FlowQuery { Project = project.Name, IncludeArchived = true }, Ct));
    }

    [Fact]
    public async Task UnknownEndpoint_IsAProblemNamingTheApi()
    {
        var (response, body) = await SendAsync(HttpMethod.Get, "api/v2/projects", null);

        AssertProblem(response, body, HttpStatusCode.NotFound, ErrorIds.RequestInvalid, field: null);
        Assert.Contains("/api/v1", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- errors come back as the same exception

    [Fact]
    public async Task BackendErrors_ComeBackWithTheirIdKindTargetAndHint()
    {
        using var client = _server.Client();
        var project = await client.CreateProjectAsync(Unique("dup"), null, Ct);

        var exists = await Assert.ThrowsAsync<FlowstoreException>(() => client.CreateProjectAsync(project.Name, null, Ct));
        Assert.Equal(ErrorIds.ProjectExists, exists.ErrorId);
        Assert.Equal(FlowErrorKind.ResourceExists, exists.Kind);

        var missing = Unique("missing");
        var notFound = await Assert.ThrowsAsync<FlowstoreException>(() => client.RegisterFlowAsync(new FlowRegistrationRequest
        {
            Project = missing, Name = "f", StructureJson = "{}", StructureHash = "h", RegistrationKey = "k", StorageType = "Local", StorageJson = "{}",
        }, Ct));
        Assert.Equal(ErrorIds.ProjectNotFound, notFound.ErrorId);
        Assert.Equal(FlowHint.CreateProject(missing), notFound.Hint);

        var (response, body) = await SendAsync(HttpMethod.Post, "api/v1/projects", $$"""{"name": "{{project.Name}}"}""");
        AssertProblem(response, body, HttpStatusCode.Conflict, ErrorIds.ProjectExists, field: null);
        Assert.Equal("ResourceExists", body.GetProperty("kind").GetString());
    }

    // ---------------------------------------------------------------- health, OpenAPI

    [Fact]
    public async Task Health_AnswersHealthyNamingTheDatabase()
    {
        var (response, body) = await SendAsync(HttpMethod.Get, "health", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        Assert.Contains(Path.Combine(_server.Home, "flowstore.db"), body.GetProperty("backend").GetString(), StringComparison.Ordinal);

        using var client = _server.Client();
        Assert.Equal("Healthy", (await client.GetHealthAsync(Ct)).Status);
    }

    [Fact]
    public async Task OpenApiDocument_IsServedAndDescribesTheApi()
    {
        var (response, body) = await SendAsync(HttpMethod.Get, "openapi/v1.json", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("3.", body.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal("Flowstore", body.GetProperty("info").GetProperty("title").GetString());
        var paths = body.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var expected in new[]
        {
            "/api/v1/projects", "/api/v1/flows", "/api/v1/flows/registrations", "/api/v1/flows/groups/{versionGroupId}/archive",
            "/api/v1/runs", "/api/v1/runs/claim", "/api/v1/runs/stale", "/api/v1/runs/{id}/heartbeat", "/api/v1/runs/{id}/logs",
            "/api/v1/runs/{id}/complete", "/api/v1/runs/{id}/cancel", "/api/v1/secrets", "/api/v1/secrets/{name}",
            "/api/v1/keys", "/api/v1/keys/{id}/revoke",
            "/api/v1/runs/{id}/secret-values", "/api/v1/secret-ciphertexts", "/api/v1/secret-ciphertexts/{name}", "/api/v1/agents",
        })
        {
            Assert.Contains(expected, paths);
        }
        Assert.Equal("RegisterFlow", body.GetProperty("paths").GetProperty("/api/v1/flows/registrations").GetProperty("post").GetProperty("operationId").GetString());
        var keys = body.GetProperty("paths").GetProperty("/api/v1/keys");
        Assert.Equal("ListApiKeys", keys.GetProperty("get").GetProperty("operationId").GetString());
        Assert.Equal("CreateApiKey", keys.GetProperty("post").GetProperty("operationId").GetString());
        Assert.Equal("RevokeApiKey", body.GetProperty("paths").GetProperty("/api/v1/keys/{id}/revoke").GetProperty("post").GetProperty("operationId").GetString());
    }

    // ---------------------------------------------------------------- logs

    [Fact]
    public async Task RequestLog_HasOneStructuredLinePerRequest_AndNeverTheKeyOrABody()
    {
        const string canaryKey = "fs_canary_key_7f3c9a1b2d";
        const string canarySecret = "canary-secret-value-5e8d";
        var secretName = Unique("logged");

        await SendAsync(HttpMethod.Put, $"api/v1/secrets/{secretName}",
            JsonSerializer.Serialize(new SetSecretBody(canarySecret), FlowstoreApi.ClientOptions),
            r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", canaryKey));
        await SendAsync(HttpMethod.Put, $"api/v1/secret-ciphertexts/{secretName}-raw",
            JsonSerializer.Serialize(new PutSecretBody(Encoding.UTF8.GetBytes(canarySecret)), FlowstoreApi.ClientOptions),
            r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", canaryKey));
        await SendAsync(HttpMethod.Post, "api/v1/projects", $$"""{"name": "{{canarySecret}}", "bogus": "{{canarySecret}}"}""",
            r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", canaryKey));
        await _server.StopAsync(); // flushes the log

        var log = await File.ReadAllTextAsync(_server.LogFile, Ct);
        Assert.Contains($"PUT /api/v1/secrets/{secretName} 200", log, StringComparison.Ordinal);
        Assert.Contains($"PUT /api/v1/secret-ciphertexts/{secretName}-raw 204", log, StringComparison.Ordinal);
        Assert.Contains("POST /api/v1/projects 400", log, StringComparison.Ordinal);
        Assert.DoesNotContain(canaryKey, log, StringComparison.Ordinal);
        Assert.DoesNotContain(canarySecret, log, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(canarySecret)), log, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- unreachable, restarts, retries

    [Fact]
    public async Task ServerUnreachable_NamesTheUrl_ForReadsAndWrites()
    {
        var url = new Uri($"http://127.0.0.1:{FreePort()}/");
        using var client = new HttpFlowBackend(url, "some-key", new HttpFlowBackendOptions { Attempts = 3, RetryDelay = TimeSpan.FromMilliseconds(10) });

        var read = await Assert.ThrowsAsync<FlowstoreException>(() => client.GetProjectsAsync(null, Ct));
        var write = await Assert.ThrowsAsync<FlowstoreException>(() => client.CreateProjectAsync("p", null, Ct));

        foreach (var error in new[] { read, write })
        {
            Assert.Equal(ErrorIds.ServerUnreachable, error.ErrorId);
            Assert.Equal(FlowErrorKind.ConnectionError, error.Kind);
            Assert.Contains(url.ToString(), error.Message, StringComparison.Ordinal);
            Assert.Contains("3 attempts", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("some-key", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Url_WithCredentialsOrAQuery_IsRefused()
    {
        var error = Assert.Throws<FlowstoreException>(() => new HttpFlowBackend(new Uri("http://user:hunter2@127.0.0.1:1/"), null));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
        Assert.Throws<FlowstoreException>(() => new HttpFlowBackend(new Uri("http://127.0.0.1:1/?key=hunter2"), null));
        Assert.Throws<FlowstoreException>(() => new HttpFlowBackend(new Uri("ftp://127.0.0.1/"), null));
    }

    [Fact]
    public async Task ServerRestart_BetweenCalls_TheSameClientWorksAgain()
    {
        using var client = _server.Client();
        var project = await client.CreateProjectAsync(Unique("restart"), null, Ct);

        await _server.RestartAsync();

        Assert.Single(await client.GetProjectsAsync(project.Name, Ct));
        var outcome = await client.RegisterFlowAsync(new FlowRegistrationRequest
        {
            Project = project.Name, Name = "f", StructureJson = "{}", StructureHash = "h", RegistrationKey = "k", StorageType = "Local", StorageJson = "{}",
        }, Ct);
        Assert.Equal(RegistrationStatus.Registered, outcome.Status);
    }

    [Fact]
    public async Task ServerDown_ThenBack_ReadsFailAsUnreachableAndThenWork()
    {
        using var client = _server.Client(attempts: 2);
        var project = await client.CreateProjectAsync(Unique("down"), null, Ct);
        await _server.StopAsync();

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => client.GetProjectsAsync(project.Name, Ct));
        Assert.Equal(ErrorIds.ServerUnreachable, error.ErrorId);
        Assert.Contains(_server.Url.ToString(), error.Message, StringComparison.Ordinal);

        await _server.RestartAsync();
        Assert.Single(await client.GetProjectsAsync(project.Name, Ct));
    }

    [Fact]
    public async Task RepeatedPostWithOneIdempotencyKey_IsDoneOnce_AndAnsweredAlike()
    {
        var name = Unique("once");
        void Keyed(HttpRequestMessage r) => r.Headers.Add(FlowstoreApi.IdempotencyKeyHeader, "key-" + name);

        var (first, firstBody) = await SendAsync(HttpMethod.Post, "api/v1/projects", $$"""{"name": "{{name}}"}""", Keyed);
        var (again, againBody) = await SendAsync(HttpMethod.Post, "api/v1/projects", $$"""{"name": "{{name}}"}""", Keyed);
        var (unkeyed, unkeyedBody) = await SendAsync(HttpMethod.Post, "api/v1/projects", $$"""{"name": "{{name}}"}""");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(firstBody.GetProperty("id").GetString(), againBody.GetProperty("id").GetString());
        AssertProblem(unkeyed, unkeyedBody, HttpStatusCode.Conflict, ErrorIds.ProjectExists, field: null);
    }

    [Fact]
    public async Task ConnectionRefused_ThenServerUp_AKeyedCallSucceedsOnItsRetry()
    {
        var port = _server.Url.Port;
        await _server.StopAsync();
        using var client = new HttpFlowBackend(_server.Url, null, new HttpFlowBackendOptions { Attempts = 50, RetryDelay = TimeSpan.FromMilliseconds(20) });
        var name = Unique("retried");

        var creating = client.CreateProjectAsync(name, null, Ct);
        await _server.RestartAsync();
        var project = await creating;

        Assert.Equal(name, project.Name);
        Assert.Equal(port, _server.Url.Port);
        Assert.Single(await client.GetProjectsAsync(name, Ct));
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
