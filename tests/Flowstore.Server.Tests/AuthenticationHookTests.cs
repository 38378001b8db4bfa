using System.Net;
using Flowstore.Backend.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Flowstore.Server.Tests;

/// <summary>
/// The one place API keys plug in: an <see cref="IApiKeyAuthenticator"/> in DI is asked for every /api/v1 request with
/// the bearer token and the endpoint's operation; its refusals reach the client as the same error ids. Without one the
/// server is open (every other test here).
/// </summary>
public sealed class AuthenticationHookTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "test-admin-key-0b1c";
    private const string ReaderKey = "test-reader-key-9d8e";

    private readonly RunningServer _server = new(builder => builder.Services.AddSingleton<IApiKeyAuthenticator, KeyTable>());
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    public void Dispose()
    {
        _timeout.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task NoKeyOrAnUnknownKey_IsApiKeyInvalid_NotABare401()
    {
        foreach (var key in new[] { null, "not-a-key" })
        {
            using var client = _server.Client(key);
            var error = await Assert.ThrowsAsync<FlowstoreException>(() => client.GetProjectsAsync(null, Ct));
            Assert.Equal("ApiKeyInvalid", error.ErrorId);
            Assert.Equal(FlowErrorKind.PermissionDenied, error.Kind);
            if (key is not null)
            {
                Assert.DoesNotContain(key, error.Message, StringComparison.Ordinal);
            }
        }

        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri(_server.Url, "api/v1/projects"), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(FlowstoreApi.ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task TheOperationDecides_AReaderMayReadButNotWrite()
    {
        using var admin = _server.Client(AdminKey);
        using var reader = _server.Client(ReaderKey);
        var project = await admin.CreateProjectAsync("auth-" + Guid.NewGuid().ToString("N")[..8], null, Ct);

        Assert.Single(await reader.GetProjectsAsync(project.Name, Ct));
        var denied = await Assert.ThrowsAsync<FlowstoreException>(() => reader.PutSecretAsync("S", [1], Ct));
        Assert.Equal("AccessDenied", denied.ErrorId);
        Assert.Contains("WriteSecrets", denied.Message, StringComparison.Ordinal);
        Assert.Null(await admin.GetSecretAsync("S", Ct));
    }

    [Fact]
    public async Task WhoMadeIt_IsTheAuthenticatedKeysName_NotWhatTheClientClaims()
    {
        using var admin = _server.Client(AdminKey);
        var project = await admin.CreateProjectAsync("made-" + Guid.NewGuid().ToString("N")[..8], null, Ct);

        var flow = (await admin.RegisterFlowAsync(new FlowRegistrationRequest
        {
            Project = project.Name, Name = "f", StructureJson = "{}", StructureHash = "h", RegistrationKey = "k", StorageType = "Local",
            StorageJson = "{}", CreatedBy = "someone-else",
        }, Ct)).Flow;
        var run = await admin.CreateRunAsync(new NewRun { Flow = flow, CreatedBy = "someone-else" }, Ct);

        Assert.Equal("admin", flow.CreatedBy);
        Assert.Equal("admin", run.CreatedBy);
    }

    [Fact]
    public async Task HealthAndTheOpenApiDocument_NeedNoKey()
    {
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(_server.Url, "health"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(_server.Url, "openapi/v1.json"), Ct)).StatusCode);
    }

    [Fact]
    public async Task TheRequestLog_NamesTheKeyNotTheKey()
    {
        using (var admin = _server.Client(AdminKey))
        {
            await admin.GetProjectsAsync(null, Ct);
        }
        await _server.StopAsync();

        var log = await File.ReadAllTextAsync(_server.LogFile, Ct);
        Assert.Contains("GET /api/v1/projects 200", log, StringComparison.Ordinal);
        Assert.Contains("key=admin", log, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminKey, log, StringComparison.Ordinal);
    }

    /// <summary>Two keys: an admin that may do anything, a reader that may only read.</summary>
    private sealed class KeyTable : IApiKeyAuthenticator
    {
        public ValueTask<ApiCaller> AuthenticateAsync(string? bearerToken, ApiOperation operation, CancellationToken cancellationToken)
        {
            var caller = bearerToken switch
            {
                AdminKey => new ApiCaller("admin", "Admin"),
                ReaderKey => new ApiCaller("reader", "Reader"),
                _ => throw new FlowstoreException("ApiKeyInvalid", FlowErrorKind.PermissionDenied, "The API key is not known."),
            };
            if (caller.Role == "Reader" && operation is not (ApiOperation.ReadProjects or ApiOperation.ReadFlows or ApiOperation.ReadRuns))
            {
                throw new FlowstoreException("AccessDenied", FlowErrorKind.PermissionDenied,
                    $"The key '{caller.KeyName}' (Reader) may not {operation}.");
            }
            return ValueTask.FromResult(caller);
        }
    }
}
