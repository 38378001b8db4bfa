namespace Flowstore.Commands;

/// <summary>Turns -Path arguments (files, folders, wildcards, "**" globs) into flow script files.</summary>
internal static class PathResolver
{
    /// <summary>
    /// A file as given (the engine refuses one that is not a .cs file); a folder expands to every *.cs below it;
    /// wildcards expand ("**" to any depth), keeping the .cs files. A path that matches no flow script (a missing
    /// file, a pattern that matches nothing, a folder without .cs files) is a non-terminating ScriptNotFound naming it.
    /// </summary>
    public static IEnumerable<string> ResolveScripts(PSCmdlet cmdlet, IEnumerable<string> paths)
        => ResolveScriptSources(cmdlet, paths).Select(s => s.Path);

    /// <summary>
    /// As <see cref="ResolveScripts"/>, with the folder each file was found under: the folder given, the folder a
    /// pattern starts from (its part before the first wildcard), none for a file named as such.
    /// </summary>
    public static IEnumerable<RegistrationSource> ResolveScriptSources(PSCmdlet cmdlet, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            IReadOnlyList<RegistrationSource> scripts;
            try
            {
                scripts = Resolve(cmdlet, path);
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException
                or NotSupportedException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                NotFound(cmdlet, path, $"Flow script '{path}' does not exist.", e);
                continue;
            }
            catch (FlowstoreException e)
            {
                NotFound(cmdlet, path, e.Message, e);
                continue;
            }
            foreach (var script in scripts)
            {
                yield return script;
            }
        }
    }

    private static IReadOnlyList<RegistrationSource> Resolve(PSCmdlet cmdlet, string path)
    {
        var wildcard = WildcardPattern.ContainsWildcardCharacters(path);
        IReadOnlyList<string> items;
        string? patternRoot = null;
        if (ScriptFiles.HasGlobstar(path))
        {
            var (root, glob) = ScriptFiles.Split(path);
            var folder = cmdlet.GetUnresolvedProviderPathFromPSPath(root.Length == 0 ? "." : root);
            if (!Directory.Exists(folder))
            {
                throw NoScripts(path, $"Flow script pattern '{path}' matches nothing: the folder '{folder}' does not exist.");
            }
            items = ScriptFiles.Match(folder, glob);
            patternRoot = folder;
        }
        else
        {
            items = cmdlet.GetResolvedProviderPathFromPSPath(path, out var provider).ToArray();
            if (provider.Name != "FileSystem")
            {
                throw new ItemNotFoundException($"'{path}' is not a file system path.");
            }
            if (wildcard)
            {
                patternRoot = PatternRoot(cmdlet, path);
            }
        }

        var scripts = new List<RegistrationSource>();
        var others = 0;
        foreach (var item in items)
        {
            if (Directory.Exists(item))
            {
                var below = Directory.EnumerateFiles(item, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
                if (below.Length == 0 && !wildcard)
                {
                    throw NoScripts(path, $"The folder '{item}' holds no flow script (no .cs file in it or below it).");
                }
                scripts.AddRange(below.Select(file => new RegistrationSource(file, patternRoot ?? item)));
            }
            else if (!wildcard || string.Equals(Path.GetExtension(item), ".cs", StringComparison.OrdinalIgnoreCase))
            {
                // A file named as such goes to the engine, which refuses it when it is not a .cs file.
                scripts.Add(new RegistrationSource(item, patternRoot));
            }
            else
            {
                others++;
            }
        }
        if (scripts.Count == 0)
        {
            throw NoScripts(path, others == 0
                ? $"Flow script pattern '{path}' matches nothing."
                : $"Flow script pattern '{path}' matches no flow script: {others} file(s), none a .cs file.");
        }
        return scripts;
    }

    /// <summary>The folder a wildcard pattern starts from: its folders before the first one with a wildcard.</summary>
    private static string PatternRoot(PSCmdlet cmdlet, string pattern)
    {
        var parts = pattern.Split('/', '\\');
        var fixedParts = parts.TakeWhile(p => !WildcardPattern.ContainsWildcardCharacters(p)).ToArray();
        // The last part names the files, unless a folder part before it holds the first wildcard.
        var folder = string.Join('/', fixedParts.Length == parts.Length ? fixedParts[..^1] : fixedParts);
        return cmdlet.GetUnresolvedProviderPathFromPSPath(folder.Length == 0 ? (pattern.StartsWith('/') ? "/" : ".") : folder);
    }

    private static FlowstoreException NoScripts(string path, string message)
        => new(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound, message) { Target = path };

    private static void NotFound(PSCmdlet cmdlet, string path, string message, Exception inner)
        => cmdlet.WriteError(new ErrorRecord(
            new FlowstoreException(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound, message, inner) { Target = path },
            ErrorIds.ScriptNotFound, ErrorCategory.ObjectNotFound, path));
}
