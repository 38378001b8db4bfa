using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flowstore.Scripting;

/// <summary>One <c>#load "path"</c> line of a file, as written, with its 1-based line and column.</summary>
public sealed record LoadDirective(string File, int Line, int Column);

/// <summary>
/// The <c>#load</c> directives of flow scripts and the files they load: C# scripts' own directive (Roslyn parses it and
/// hands the leading ones out as <see cref="CompilationUnitSyntax.GetLoadDirectives"/>), here for flows, which compile as
/// regular C# files: the script and every loaded file become syntax trees of one compilation. Paths are relative to the
/// loading file, with '/' (or '\') separators, and may not leave the root of where the script is kept.
/// </summary>
public static class ScriptLoads
{
    private static readonly CSharpParseOptions DirectiveParseOptions = new(LanguageVersion.Latest, DocumentationMode.None);

    /// <summary>The <c>#load</c> directives at the start of a file (before its first token), in order.</summary>
    public static IReadOnlyList<LoadDirective> Parse(string text, string path)
        => Parse(CSharpSyntaxTree.ParseText(text, DirectiveParseOptions, path: path));

    /// <inheritdoc cref="Parse(string, string)"/>
    public static IReadOnlyList<LoadDirective> Parse(SyntaxTree tree)
        => tree.GetCompilationUnitRoot().GetLoadDirectives()
            .Where(d => d.IsActive)
            .Select(d =>
            {
                var position = d.GetLocation().GetLineSpan().StartLinePosition;
                return new LoadDirective(d.File.ValueText, position.Line + 1, position.Character + 1);
            })
            .ToArray();

    /// <summary>
    /// The text with its leading <c>#load</c> lines turned into comments (<c>//load "x.cs"</c>), so that it compiles as a
    /// regular C# file; every other line keeps its number and columns. A <c>#load</c> after the first token is left as
    /// it is: the compiler reports it (see <see cref="ScriptCompiler"/>).
    /// </summary>
    public static string WithoutLoadDirectives(string text, SyntaxTree tree)
    {
        var directives = tree.GetCompilationUnitRoot().GetLoadDirectives();
        if (directives.Count == 0)
        {
            return text;
        }
        var result = new StringBuilder(text.Length + directives.Count);
        var from = 0;
        foreach (var directive in directives.OrderBy(d => d.HashToken.SpanStart))
        {
            var hash = directive.HashToken.SpanStart;
            result.Append(text, from, hash - from).Append("//");
            from = hash + 1;
        }
        return result.Append(text, from, text.Length - from).ToString();
    }

    /// <summary>
    /// Reads the files a flow script loads (and those they load, each once) through <paramref name="reader"/>: the
    /// script's source. Errors name the file and line of the directive at fault: a path that is absolute or leaves the
    /// root, or that loads the flow script itself, is <see cref="ErrorIds.ScriptLoadInvalid"/>; a file that is not there
    /// has the reader's id (<see cref="ErrorIds.ScriptNotFound"/> locally, <see cref="ErrorIds.StorageNotFound"/> in a storage).
    /// </summary>
    /// <param name="scriptText">The flow script's text.</param>
    /// <param name="scriptPath">The script's path relative to the reader's root, '/'-separated (<c>flows/etl.cs</c>).</param>
    /// <param name="scriptDisplayPath">The script as messages and diagnostics name it.</param>
    /// <param name="reader">Reads loaded files from where the script came from, at the same version.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public static async Task<FlowSources> ResolveAsync(string scriptText, string scriptPath, string scriptDisplayPath, IScriptFileReader reader,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        scriptPath = scriptPath.Replace('\\', '/').TrimStart('/');
        var script = new FlowSourceFile(FileName(scriptPath), scriptDisplayPath, scriptText);
        var scriptDirectory = DirectoryOf(scriptPath);
        var loaded = new List<FlowSourceFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { scriptPath };
        // Depth first, in the order of the directives: a file comes after the files it loads, as a C# script loads them.
        var pending = new Stack<(string RootPath, FlowSourceFile File)>();
        pending.Push((scriptPath, script));
        while (pending.Count > 0)
        {
            var (rootPath, file) = pending.Pop();
            var found = new List<(string, FlowSourceFile)>();
            foreach (var directive in Parse(file.Text, file.Path))
            {
                var at = $"{file.Path}:{directive.Line}";
                var target = ResolvePath(DirectoryOf(rootPath), directive.File, at, reader.Root);
                if (target == scriptPath)
                {
                    throw new FlowstoreException(ErrorIds.ScriptLoadInvalid, FlowErrorKind.InvalidData,
                        $"#load \"{directive.File}\" at {at} loads the flow script '{scriptDisplayPath}' itself; a loaded file holds shared code " +
                        "(types and members) and is loaded by flow scripts, never the other way round.") { Target = file.Path };
                }
                if (!seen.Add(target))
                {
                    continue; // loaded already (a duplicate, or a cycle among loaded files): compiled once
                }
                var content = await reader.ReadAsync(target, cancellationToken).ConfigureAwait(false)
                    ?? throw new FlowstoreException(reader.NotFoundErrorId, FlowErrorKind.ObjectNotFound,
                        $"The file '{directive.File}' loaded by {at} (#load) does not exist: there is no '{target}' in {reader.Root}.") { Target = file.Path };
                var loadedFile = new FlowSourceFile(RelativeName(scriptDirectory, target), content.Path, content.Text, content.Version, at);
                loaded.Add(loadedFile);
                found.Add((target, loadedFile));
            }
            for (var i = found.Count - 1; i >= 0; i--)
            {
                pending.Push(found[i]);
            }
        }
        return new FlowSources(script, loaded);
    }

    /// <summary>
    /// The root-relative path a <c>#load</c> names, normalised ('.' and '..' resolved, '/' separators): an absolute
    /// path, a URL or a path that leaves the root is <see cref="ErrorIds.ScriptLoadInvalid"/> naming <paramref name="at"/>.
    /// </summary>
    internal static string ResolvePath(string fromDirectory, string relative, string at, string root)
    {
        var written = relative;
        relative = relative.Replace('\\', '/');
        if (relative.Length == 0 || relative.StartsWith('/') || relative.Contains(':', StringComparison.Ordinal))
        {
            throw new FlowstoreException(ErrorIds.ScriptLoadInvalid, FlowErrorKind.InvalidArgument,
                $"#load \"{written}\" at {at} is not a relative path: a flow script loads files by their path relative to the loading file " +
                "(#load \"lib/helpers.cs\").") { Target = at };
        }
        var segments = new List<string>();
        foreach (var segment in (fromDirectory.Length == 0 ? relative : fromDirectory + "/" + relative).Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }
            if (segment == "..")
            {
                if (segments.Count == 0)
                {
                    throw new FlowstoreException(ErrorIds.ScriptLoadInvalid, FlowErrorKind.InvalidArgument,
                        $"#load \"{written}\" at {at} leaves {root}: a flow script may load only files kept with it.") { Target = at };
                }
                segments.RemoveAt(segments.Count - 1);
                continue;
            }
            segments.Add(segment);
        }
        if (segments.Count == 0)
        {
            throw new FlowstoreException(ErrorIds.ScriptLoadInvalid, FlowErrorKind.InvalidArgument,
                $"#load \"{written}\" at {at} names a folder, not a file.") { Target = at };
        }
        return string.Join('/', segments);
    }

    /// <summary>The name a loaded file is hashed by: its path relative to the script's folder (<c>../lib/x.cs</c>).</summary>
    internal static string RelativeName(string scriptDirectory, string target)
    {
        var from = scriptDirectory.Length == 0 ? Array.Empty<string>() : scriptDirectory.Split('/');
        var to = target.Split('/');
        var common = 0;
        while (common < from.Length && common < to.Length - 1 && from[common] == to[common])
        {
            common++;
        }
        return string.Join('/', Enumerable.Repeat("..", from.Length - common).Concat(to.Skip(common)));
    }

    /// <summary>
    /// The name (see <see cref="FlowSourceFile.Name"/>) of the file a directive of the file named <paramref name="loadingName"/>
    /// loads: the names of a source set are relative to the script's folder and may start with '..'.
    /// </summary>
    internal static string LoadedName(string loadingName, string relative)
    {
        var segments = new List<string>();
        var directory = DirectoryOf(loadingName);
        foreach (var segment in (directory.Length == 0 ? relative : directory + "/" + relative).Replace('\\', '/').Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }
            if (segment == ".." && segments.Count > 0 && segments[^1] != "..")
            {
                segments.RemoveAt(segments.Count - 1);
                continue;
            }
            segments.Add(segment);
        }
        return string.Join('/', segments);
    }

    internal static string DirectoryOf(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    private static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];
}
