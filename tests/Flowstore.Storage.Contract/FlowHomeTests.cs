using Flowstore.Engine;
using Xunit;

namespace Flowstore.Storage.Contract;

/// <summary>
/// A test class whose tests each get an engine on a home of their own (<see cref="FlowHome"/>) with project "P"
/// created; a derived class sets up the rest (secrets, buckets, providers) in <see cref="ArrangeAsync"/>.
/// </summary>
/// <param name="group">The temp subfolder the homes go in (one per test project).</param>
public abstract class FlowHomeTests(string group) : IAsyncLifetime
{
    protected const string Project = "P";

    private readonly FlowHome _home = new(group);

    protected FlowClient Client => _home.Client;

    /// <summary>Warnings shown to the user, for tests that pass <c>Warnings.Add</c> as OnWarning.</summary>
    protected List<string> Warnings { get; } = new();

    /// <summary>Verbose messages, for tests that pass <c>Log.Add</c> as the log.</summary>
    protected List<string> Log { get; } = new();

    public async Task InitializeAsync()
    {
        await Client.EnsureProjectAsync(Project, create: true);
        await ArrangeAsync();
    }

    /// <summary>What the tests need besides the project, run before each test.</summary>
    protected virtual Task ArrangeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _home.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Writes a script next to the home and returns its full path.</summary>
    protected string Write(string name, string text) => _home.Write(name, text);
}
