namespace Flowstore.TestSupport;

/// <summary>
/// A fresh folder under the temp folder (in <paramref name="group"/>, one per test project), deleted on dispose
/// (dispose what holds files in it first: backends, script contexts).
/// </summary>
public sealed class TempDirectory(string group = "flowstore-tests") : IDisposable
{
    public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), group, Guid.NewGuid().ToString("N"))).FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes a file (creating its folder) and returns its full path.</summary>
    public string Write(string name, string text)
    {
        var path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a file still held open only leaves a folder in the temp directory.
        }
    }
}
