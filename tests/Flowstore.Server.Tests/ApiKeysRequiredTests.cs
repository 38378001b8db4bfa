using System.Net;
using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Backend.Sqlite;
using Flowstore.Engine;

namespace Flowstore.Server.Tests;

/// <summary>
/// The server with Flowstore:ApiKeys=Required: keys from the backend's own key store, roles checked per endpoint, the
/// first start's admin key in an owner-only file of the server's home.
/// </summary>
public sealed class ApiKeysRequiredTests : IAsyncLifetime, IDisposable
{
    private readonly RunningServer _server = new(null, "--Flowstore:ApiKeys=Required");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    private string AdminKeyFile => Path.Combine(_server.Home, FlowApiKeys.AdminKeyFileName);

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    public void Dispose()
    {
        _timeout.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task FirstStart_WritesAnOwnerOnlyAdminKey_ThatTheServerAccepts_AndNeverLogs()
    {
        Assert.True(File.Exists(AdminKeyFile));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AdminKeyFile));
        }
        var token = (await File.ReadAllTextAsync(AdminKeyFile, Ct)).Trim();

        using var admin = _server.Client(token);
        var project = await admin.CreateProjectAsync("keys-" + Guid.NewGuid().ToString("N")[..8], null, Ct);
        Assert.Single(await admin.GetProjectsAsync(project.Name, Ct));

        await _server.RestartAsync(); // a second start makes no second key
        Assert.Equal(token, (await File.ReadAllTextAsync(AdminKeyFile, Ct)).Trim());
        await _server.StopAsync();
        var log = await File.ReadAllTextAsync(_server.LogFile, Ct);
        Assert.Contains(AdminKeyFile, log, StringComparison.Ordinal);
        Assert.DoesNotContain(token, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServerFile_NamesTheAdminKeyFile_OnlyAfterTheStartThatMadeIt_AndNeverHoldsTheKey()
    {
        var serverFile = Path.Combine(_server.Home, FlowServer.ServerFileName);
        var token = (await File.ReadAllTextAsync(AdminKeyFile, Ct)).Trim();
        var first = JsonSerializer.Deserialize<FlowServerFile>(await File.ReadAllTextAsync(serverFile, Ct), FlowstoreApi.ClientOptions)!;
        Assert.Equal("Required", first.ApiKeys);
        Assert.Equal(AdminKeyFile, first.AdminKeyFile);
        Assert.DoesNotContain(token, await File.ReadAllTextAsync(serverFile, Ct), StringComparison.Ordinal);

        await _server.RestartAsync();

        var second = JsonSerializer.Deserialize<FlowServerFile>(await File.ReadAllTextAsync(serverFile, Ct), FlowstoreApi.ClientOptions)!;
        Assert.Equal("Required", second.ApiKeys);
        Assert.Null(second.AdminKeyFile);
    }

    [Fact]
    public async Task NoKey_IsApiKeyInvalid_With401ProblemDetails()
    {
        using var open = _server.Client();
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => open.GetProjectsAsync(null, Ct));
        Assert.Equal(ErrorIds.ApiKeyInvalid, error.ErrorId);

        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri(_server.Url, "api/v1/flows"), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AReaderKey_ReadsButMayNotRegister_AccessDeniedNamingTheRole()
    {
        string readerToken;
        using (var store = new SqliteFlowBackend(Path.Combine(_server.Home, SqliteFlowBackend.DefaultFileName)))
        {
            var keys = new FlowApiKeys(new Lazy<IFlowBackend>(() => store));
            readerToken = (await keys.CreateAsync("ops", FlowRole.Reader, null, null, "test", Ct)).Token;
        }
        using var reader = _server.Client(readerToken);

        await reader.GetFlowsAsync(new FlowQuery(), Ct);
        var denied = await Assert.ThrowsAsync<FlowstoreException>(() => reader.RegisterFlowAsync(new FlowRegistrationRequest
        {
            Project = "p", Name = "f", StructureJson = "{}", StructureHash = "h", RegistrationKey = "k", StorageType = "Local", StorageJson = "{}",
        }, Ct));

        Assert.Equal(ErrorIds.AccessDenied, denied.ErrorId);
        Assert.Contains("Registrar", denied.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(readerToken, denied.Message, StringComparison.Ordinal);
    }
}
