using Microsoft.Extensions.FileSystemGlobbing;

namespace Flowstore.Engine;

/// <summary>
/// Path patterns with "**", which matches any depth of folders ("flows/**/*.cs"): PowerShell's own wildcards match
/// one folder level only, so such a pattern is split into the folder it starts from and a glob matched below it.
/// </summary>
public static class ScriptFiles
{
    private static readonly char[] Wildcards = ['*', '?', '['];

    /// <summary>True when the pattern has "**" and needs <see cref="Match"/>.</summary>
    public static bool HasGlobstar(string pattern) => pattern.Contains("**", StringComparison.Ordinal);

    /// <summary>
    /// The folder before the first segment with a wildcard, and the rest as a glob: "flows/**/*.cs" → ("flows",
    /// "**/*.cs"); "/srv/f/**/x*.cs" → ("/srv/f", "**/x*.cs"); "**/*.cs" → ("", "**/*.cs"). Both '/' and '\' separate.
    /// </summary>
    public static (string Root, string Glob) Split(string pattern)
    {
        var segments = pattern.Replace('\\', '/').Split('/');
        var first = Array.FindIndex(segments, s => s.IndexOfAny(Wildcards) >= 0);
        if (first < 0)
        {
            return (pattern, "");
        }
        var root = string.Join('/', segments[..first]);
        if (root.Length == 0 && first > 0)
        {
            root = "/";
        }
        return (root, string.Join('/', segments[first..].Where(s => s.Length > 0)));
    }

    /// <summary>The files below <paramref name="root"/> that <paramref name="glob"/> matches ("**" any depth, "*" within a name), full paths in ordinal order.</summary>
    public static IReadOnlyList<string> Match(string root, string glob)
    {
        var matcher = new Matcher(OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
        matcher.AddInclude(glob);
        return matcher.GetResultsInFullPath(root).Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToArray();
    }
}
