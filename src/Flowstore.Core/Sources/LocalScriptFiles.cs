namespace Flowstore;

/// <summary>
/// Reads the files a local flow script loads. The root they may not leave is the git working tree the script is in (the
/// nearest folder above it holding <c>.git</c>), so that a script loads <c>../lib/helpers.cs</c> of its repository as it
/// would from a Git storage; a script outside any repository may load files in its own folder and below.
/// </summary>
public sealed class LocalScriptFiles : IScriptFileReader
{
    private readonly string _root;

    /// <param name="root">The folder loaded files must be in (absolute).</param>
    public LocalScriptFiles(string root) => _root = Path.GetFullPath(root);

    /// <summary>The reader for a script file and the script's path relative to its root.</summary>
    public static (LocalScriptFiles Reader, string ScriptPath) For(string scriptPath)
    {
        var full = Path.GetFullPath(scriptPath);
        var folder = Path.GetDirectoryName(full)!;
        var root = folder;
        for (var current = new DirectoryInfo(folder); current is not null; current = current.Parent)
        {
            if (Directory.Exists(Path.Combine(current.FullName, ".git")) || File.Exists(Path.Combine(current.FullName, ".git")))
            {
                root = current.FullName;
                break;
            }
        }
        return (new LocalScriptFiles(root), Path.GetRelativePath(root, full).Replace('\\', '/'));
    }

    /// <summary>The root folder.</summary>
    public string RootDirectory => _root;

    public string Root => $"'{_root}'";

    public string NotFoundErrorId => ErrorIds.ScriptNotFound;

    public async Task<ScriptFileContent?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(Path.Combine(_root, path));
        if (!File.Exists(full))
        {
            return null;
        }
        var bytes = await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false);
        return new ScriptFileContent(System.Text.Encoding.UTF8.GetString(bytes), full);
    }
}
