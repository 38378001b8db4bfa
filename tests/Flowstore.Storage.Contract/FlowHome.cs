using Flowstore.Engine;

namespace Flowstore.Storage.Contract;

/// <summary>
/// An engine (<see cref="FlowClient"/>) on a FLOWSTORE_HOME of its own, in a new folder under the temp folder (in
/// <paramref name="group"/>, one per test project); disposing it disposes the client, releases its pooled database
/// connections and deletes the folder. For tests that take a storage through registration and runs.
/// </summary>
public sealed class FlowHome(string group) : IDisposable
{
    /// <summary>The folder of the test: the home is its "home" subfolder, scripts go next to it.</summary>
    public string Folder { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), group, Guid.NewGuid().ToString("N"))).FullName;

    public FlowClient Client => _client ??= new FlowClient(new FlowClientOptions { Home = Path.Combine(Folder, "home") });

    private FlowClient? _client;

    /// <summary>Writes a script (creating its folder) under <see cref="Folder"/> and returns its full path.</summary>
    public string Write(string name, string text)
    {
        var path = Path.Combine(Folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        _client?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still held open only leaves a folder in the temp directory.
        }
    }
}
