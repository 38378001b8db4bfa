using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>A temporary Flowstore home with a client on it (SQLite backend in the home) and a project "P".</summary>
public abstract class EngineTestBase : IAsyncLifetime
{
    protected const string Project = "P";

    private protected TempDirectory Temp { get; } = new();

    protected string Home => Temp.File("home");

    protected FlowClient Client { get; private set; } = null!;

    private readonly List<IDisposable> _clients = new();

    public async Task InitializeAsync()
    {
        Client = NewClient();
        await Client.EnsureProjectAsync(Project, create: true);
    }

    public Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Temp.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The run timing of <see cref="Client"/> and of <see cref="NewClient"/> without a timing (the defaults unless overridden).</summary>
    protected virtual RunTiming ClientTiming => new();

    /// <summary>Another client on the same home (as a new pwsh session would create).</summary>
    protected FlowClient NewClient(RunTiming? timing = null)
    {
        var client = new FlowClient(new FlowClientOptions { Home = Home }) { Timing = timing ?? ClientTiming };
        _clients.Add(client);
        return client;
    }

    /// <summary>Disposes <paramref name="disposable"/> (a client, a backend) when the test ends.</summary>
    protected T Own<T>(T disposable) where T : IDisposable
    {
        _clients.Add(disposable);
        return disposable;
    }

    protected string WriteScript(string name, string text) => Temp.Write(name, text);

    /// <summary>Plans and applies the registration of every (selected) flow of a file, as Register-Flow does.</summary>
    protected static async Task<IReadOnlyList<FlowRegistration>> RegisterAsync(FlowClient client, string path, RegisterOptions options, Action<string>? log = null)
    {
        var plans = await client.PlanAsync(path, options, log);
        var results = new List<FlowRegistration>();
        foreach (var plan in plans)
        {
            results.Add(await client.ApplyAsync(plan, options, log));
        }
        return results;
    }

    protected Task<IReadOnlyList<FlowRegistration>> RegisterAsync(string path, RegisterOptions? options = null, Action<string>? log = null)
        => RegisterAsync(Client, path, options ?? new RegisterOptions { Project = Project }, log);

    protected async Task<FlowRegistration> RegisterOneAsync(string path, RegisterOptions? options = null)
        => Assert.Single(await RegisterAsync(path, options));
}
