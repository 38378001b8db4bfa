using Flowstore.Backend.Http;
using Flowstore.Engine;

namespace Flowstore.Server.Tests;

/// <summary>
/// The real server with Flowstore:ApiKeys=Required over SQLite (as <see cref="RunningServer"/>), and the admin key its
/// first start wrote to admin.key: a class fixture for tests that make keys through the API.
/// </summary>
public sealed class KeyedServer : IAsyncLifetime, IDisposable
{
    private readonly RunningServer _server = new(null, "--Flowstore:ApiKeys=Required");

    /// <summary>The server.</summary>
    public RunningServer Server => _server;

    /// <summary>The first start's admin key (from the owner-only admin.key).</summary>
    public string AdminToken { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        AdminToken = (await File.ReadAllTextAsync(Path.Combine(_server.Home, FlowApiKeys.AdminKeyFileName))).Trim();
    }

    /// <summary>A client with the admin key.</summary>
    public HttpFlowBackend Admin() => _server.Client(AdminToken);

    public Task DisposeAsync() => _server.DisposeAsync();

    public void Dispose() => _server.Dispose();
}
