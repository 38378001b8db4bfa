using System.Text;

namespace Flowstore;

/// <summary>One file of a flow's source: the flow script, or a file it loads with <c>#load</c>.</summary>
/// <param name="Name">
/// The file's path relative to the flow script's folder, with '/' separators (<c>lib/helpers.cs</c>,
/// <c>../shared/retry.cs</c>); the flow script's own file name for the script. Loaded files are hashed by it.
/// </param>
/// <param name="Path">The file as diagnostics, stack traces and messages name it (a local path, a URL, an object key).</param>
/// <param name="Text">The file's text.</param>
/// <param name="Version">The storage's own version of this file when it has one per file (an object's ETag or generation), else null.</param>
/// <param name="LoadedBy">Where it is loaded (<c>flows/etl.cs:2</c>), for messages; null for the flow script.</param>
public sealed record FlowSourceFile(string Name, string Path, string Text, string? Version = null, string? LoadedBy = null);

/// <summary>
/// The source of a flow: its script and every file the script loads (<c>#load "lib/helpers.cs"</c>, and what those load),
/// each once, as one storage gave them at one version. <see cref="Sha256"/> covers all of them: it keys the compile cache
/// and is recorded as a run's script SHA-256, so a changed loaded file is a changed source.
/// </summary>
public sealed class FlowSources
{
    /// <param name="script">The flow script.</param>
    /// <param name="loaded">The files it loads, directly or through other loaded files, each once.</param>
    public FlowSources(FlowSourceFile script, IReadOnlyList<FlowSourceFile>? loaded = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        Script = script;
        Loaded = loaded ?? Array.Empty<FlowSourceFile>();
        Sha256 = ComputeSha256(script, Loaded);
    }

    /// <summary>The flow script.</summary>
    public FlowSourceFile Script { get; }

    /// <summary>The files the script loads, in the order they were first loaded.</summary>
    public IReadOnlyList<FlowSourceFile> Loaded { get; }

    /// <summary>Every file: the script first, then the loaded files.</summary>
    public IEnumerable<FlowSourceFile> Files => Loaded.Prepend(Script);

    /// <summary>
    /// SHA-256 of the source: of the script's text alone when it loads nothing (as for any single-file script), else of
    /// the script's text and each loaded file's name and text.
    /// </summary>
    public string Sha256 { get; }

    /// <summary>A script that loads no other file.</summary>
    public static FlowSources Single(string text, string path)
        => new(new FlowSourceFile(System.IO.Path.GetFileName(path.Replace('\\', '/')), path, text));

    private static string ComputeSha256(FlowSourceFile script, IReadOnlyList<FlowSourceFile> loaded)
    {
        if (loaded.Count == 0)
        {
            return FlowStructure.Sha256Hex(script.Text);
        }
        // Each file as its name and the SHA-256 of its text, sorted by name: the order files are loaded in does not
        // matter, a renamed or moved helper does. The script itself is named by its place, not by its file name.
        var canonical = new StringBuilder("flowstore-sources/1\n");
        canonical.Append(":script ").Append(FlowStructure.Sha256Hex(script.Text)).Append('\n');
        foreach (var file in loaded.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            canonical.Append(file.Name).Append(' ').Append(FlowStructure.Sha256Hex(file.Text)).Append('\n');
        }
        return FlowStructure.Sha256Hex(canonical.ToString());
    }

    public override string ToString() => Loaded.Count == 0 ? Script.Path : $"{Script.Path} (+{Loaded.Count} loaded)";
}

/// <summary>What a storage read for one file a flow script loads.</summary>
/// <param name="Text">The file's text.</param>
/// <param name="Path">The file as messages and diagnostics name it (a local path, a URL, s3://bucket/key).</param>
/// <param name="Version">The storage's own version of this file when it has one per file (ETag, generation), else null.</param>
public sealed record ScriptFileContent(string Text, string Path, string? Version = null);

/// <summary>
/// Reads the files a flow script loads, from where the script came from and at the same version (the same commit, the
/// same image; objects beside the script's key). Paths are relative to the storage's root, with '/' separators, already
/// checked not to leave it.
/// </summary>
public interface IScriptFileReader
{
    /// <summary>The root paths are relative to, for messages ("the repository org/repo at 4f2c1e0", "'/home/me/flows'").</summary>
    string Root { get; }

    /// <summary>The error id of a loaded file that is not there: <see cref="ErrorIds.ScriptNotFound"/> locally, <see cref="ErrorIds.StorageNotFound"/> in a storage.</summary>
    string NotFoundErrorId { get; }

    /// <summary>The file at <paramref name="path"/> (relative to <see cref="Root"/>), or null when there is none.</summary>
    Task<ScriptFileContent?> ReadAsync(string path, CancellationToken cancellationToken);
}
