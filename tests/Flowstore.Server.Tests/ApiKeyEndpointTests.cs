using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Engine;

namespace Flowstore.Server.Tests;

/// <summary>
/// The key endpoints (/api/v1/keys): Admin only, the token sent once at creation (or never, when the client made it)
/// and never listed; the engine's key management (what New/Get/Revoke-FlowApiKey call) through a connected client.
/// </summary>
public sealed class ApiKeyEndpointTests : IAsyncLifetime, IDisposable
{
    private readonly KeyedServer _keyed = new();
    private readonly TempDirectory _clientHome = new("flowstore-server-tests");
    private readonly HttpClient _http = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    private RunningServer Server => _keyed.Server;

    public Task InitializeAsync() => _keyed.InitializeAsync();

    public Task DisposeAsync() => _keyed.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
        _timeout.Dispose();
        _clientHome.Dispose();
        _keyed.Dispose();
    }

    private static string Unique(string name) => $"{name}-{Guid.NewGuid():N}"[..20];

    private async Task<(HttpResponseMessage Response, string Text)> SendAsync(HttpMethod method, string path, string? token, string? json = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(Server.Url, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        var response = await _http.SendAsync(request, Ct);
        return (response, await response.Content.ReadAsStringAsync(Ct));
    }

    private static void AssertProblem(HttpResponseMessage response, string text, HttpStatusCode status, string errorId)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(FlowstoreApi.ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(errorId, JsonDocument.Parse(text).RootElement.GetProperty("errorId").GetString());
    }

    [Fact]
    public async Task TheEngineManagesKeysThroughTheServer_CreateListRevoke_AndTheKeyWorksUntilRevoked()
    {
        using var admin = _keyed.Admin();
        var project = await admin.CreateProjectAsync(Unique("keys"), null, Ct);
        using var client = new FlowClient(new FlowClientOptions { Home = _clientHome.Path, Backend = admin });

        var created = await client.ApiKeys.CreateAsync("ci", FlowRole.Registrar, [project.Name.ToUpperInvariant()], TimeSpan.FromDays(30),
            FlowApiKeys.LocalUser, Ct);

        Assert.Equal([project.Name], created.Key.Projects); // as the server spells it
        Assert.Equal("admin", created.Key.CreatedBy);     // the calling key, not what the client claimed
        Assert.StartsWith(ApiKeyToken.Prefix, created.Token, StringComparison.Ordinal);
        var listed = Assert.Single(await client.ApiKeys.ListAsync(Ct), k => k.Name == "ci");
        Assert.Equal(created.Key, listed);
        using (var ci = Server.Client(created.Token))
        {
            Assert.Single(await ci.GetProjectsAsync(project.Name, Ct));
        }

        var revoked = await client.ApiKeys.RevokeAsync(created.Key.Id, Ct);
        Assert.Equal(ApiKeyState.Revoked, revoked.State);
        using (var ci = Server.Client(created.Token))
        {
            var refused = await Assert.ThrowsAsync<FlowstoreException>(() => ci.GetProjectsAsync(null, Ct));
            Assert.Equal(ErrorIds.ApiKeyInvalid, refused.ErrorId);
            Assert.Contains("'ci' was revoked", refused.Message, StringComparison.Ordinal);
        }
        var unknown = await Assert.ThrowsAsync<FlowstoreException>(() => client.ApiKeys.RevokeAsync(Guid.NewGuid(), Ct));
        Assert.Equal(ErrorIds.ApiKeyNotFound, unknown.ErrorId);
        var exists = await Assert.ThrowsAsync<FlowstoreException>(() => client.ApiKeys.CreateAsync("ADMIN", FlowRole.Reader, null, null, null, Ct));
        Assert.Equal(ErrorIds.ApiKeyExists, exists.ErrorId);
        var noProject = await Assert.ThrowsAsync<FlowstoreException>(() => admin.CreateApiKeyAsync(new NewApiKey
        {
            Name = Unique("lost"), Role = FlowRole.Reader, Projects = ["no-such-project"], TokenHash = ApiKeyToken.Hash(ApiKeyToken.Generate()),
        }, Ct));
        Assert.Equal(ErrorIds.ProjectNotFound, noProject.ErrorId);
        Assert.Contains("no-such-project", noProject.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutATokenHash_TheServerMakesTheToken_AndSendsItOnceOnly()
    {
        var name = Unique("curl");
        var (response, text) = await SendAsync(HttpMethod.Post, "api/v1/keys", _keyed.AdminToken, $$"""{"name": "{{name}}", "role": "Reader"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        var answer = JsonSerializer.Deserialize<CreatedApiKeyAnswer>(text, FlowstoreApi.ClientOptions)!;
        var token = answer.Token!;
        Assert.True(ApiKeyToken.HasTokenShape(token));
        Assert.Equal(name, answer.Key.Name);
        Assert.Equal(FlowRole.Reader, answer.Key.Role);
        Assert.Equal($"/api/v1/keys/{answer.Key.Id}", response.Headers.Location?.OriginalString);

        using (var reader = Server.Client(token))
        {
            await reader.GetFlowsAsync(new FlowQuery(), Ct);
        }
        var (listResponse, list) = await SendAsync(HttpMethod.Get, "api/v1/keys", _keyed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, listResponse.StatusCode);
        Assert.Contains(name, list, StringComparison.Ordinal);
        Assert.DoesNotContain(token, list, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKeyToken.Hash(token), list, StringComparison.Ordinal);

        await Server.StopAsync(); // flushes the log
        Assert.DoesNotContain(token, await File.ReadAllTextAsync(Server.LogFile, Ct), StringComparison.Ordinal);
        var database = await File.ReadAllBytesAsync(Path.Combine(Server.Home, "flowstore.db"), Ct);
        Assert.Equal(-1, Encoding.UTF8.GetString(database).IndexOf(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATokenSentAsTheHash_IsRequestInvalid_WithoutEchoingIt()
    {
        var token = ApiKeyToken.Generate();
        var (response, text) = await SendAsync(HttpMethod.Post, "api/v1/keys", _keyed.AdminToken,
            $$"""{"name": "{{Unique("oops")}}", "role": "Reader", "tokenHash": "{{token}}"}""");

        AssertProblem(response, text, HttpStatusCode.BadRequest, ErrorIds.RequestInvalid);
        Assert.Equal("tokenHash", JsonDocument.Parse(text).RootElement.GetProperty("field").GetString());
        Assert.DoesNotContain(token, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyEndpoints_AreAdminOnly_AccessDeniedNamingAdmin_AndApiKeyInvalidWithoutAKey()
    {
        using var admin = _keyed.Admin();
        using var client = new FlowClient(new FlowClientOptions { Home = _clientHome.Path, Backend = admin });
        var project = await admin.CreateProjectAsync(Unique("limited"), null, Ct);
        var registrar = await client.ApiKeys.CreateAsync(Unique("ci"), FlowRole.Registrar, null, null, null, Ct);
        var limitedAdmin = await client.ApiKeys.CreateAsync(Unique("padmin"), FlowRole.Admin, [project.Name], null, null, Ct);

        using (var ci = Server.Client(registrar.Token))
        {
            foreach (var call in new Func<Task>[]
            {
                () => ci.ListApiKeysAsync(Ct),
                () => ci.CreateApiKeyAsync(new NewApiKey { Name = Unique("x"), Role = FlowRole.Admin, TokenHash = ApiKeyToken.Hash(ApiKeyToken.Generate()) }, Ct),
                () => ci.RevokeApiKeyAsync(registrar.Key.Id, Ct),
            })
            {
                var denied = await Assert.ThrowsAsync<FlowstoreException>(call);
                Assert.Equal(ErrorIds.AccessDenied, denied.ErrorId);
                Assert.Contains("managing API keys needs role Admin", denied.Message, StringComparison.Ordinal);
            }
        }
        using (var padmin = Server.Client(limitedAdmin.Token))
        {
            var denied = await Assert.ThrowsAsync<FlowstoreException>(() => padmin.ListApiKeysAsync(Ct));
            Assert.Equal(ErrorIds.AccessDenied, denied.ErrorId);
            Assert.Contains("not limited to projects", denied.Message, StringComparison.Ordinal);
        }
        Assert.Equal(ApiKeyState.Active, (await admin.ListApiKeysAsync(Ct)).Single(k => k.Id == registrar.Key.Id).State);

        var (response, text) = await SendAsync(HttpMethod.Get, "api/v1/keys", token: null);
        AssertProblem(response, text, HttpStatusCode.Unauthorized, ErrorIds.ApiKeyInvalid);
        (response, text) = await SendAsync(HttpMethod.Post, "api/v1/keys", registrar.Token, """{"name": "sneaky", "role": "Admin"}""");
        AssertProblem(response, text, HttpStatusCode.Forbidden, ErrorIds.AccessDenied);
    }

    [Fact]
    public async Task ServerSideOnlyCalls_AreApiKeysNotSupported_ThroughAClient()
    {
        using var admin = _keyed.Admin();
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => admin.FindApiKeyByHashAsync(ApiKeyToken.Hash(_keyed.AdminToken), Ct));
        Assert.Equal(ErrorIds.ApiKeysNotSupported, error.ErrorId);
        Assert.Contains(Server.Url.ToString(), error.Message, StringComparison.Ordinal);
        error = await Assert.ThrowsAsync<FlowstoreException>(() => admin.CreateFirstApiKeyAsync(new NewApiKey
        {
            Name = "second-admin", Role = FlowRole.Admin, TokenHash = ApiKeyToken.Hash(ApiKeyToken.Generate()),
        }, Ct));
        Assert.Equal(ErrorIds.ApiKeysNotSupported, error.ErrorId);
        Assert.DoesNotContain(await admin.ListApiKeysAsync(Ct), k => k.Name == "second-admin");
    }
}
