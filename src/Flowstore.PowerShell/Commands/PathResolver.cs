namespace Flowstore.Commands;

/// <summary>Turns -Path arguments (files, folders, wildcards) into flow script files.</summary>
internal static class PathResolver
{
    /// <summary>
    /// Files as given; folders expand to every *.cs below them; wildcards expand. A path that matches
    /// nothing is a non-terminating error naming it.
    /// </summary>
    public static IEnumerable<string> ResolveScripts(PSCmdlet cmdlet, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            IEnumerable<string> resolved;
            try
            {
                resolved = cmdlet.GetResolvedProviderPathFromPSPath(path, out var provider).ToArray();
                if (provider.Name != "FileSystem")
                {
                    throw new ItemNotFoundException($"'{path}' is not a file system path.");
                }
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                cmdlet.WriteError(new ErrorRecord(
                    new FlowstoreException(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound, $"Flow script '{path}' does not exist.", e),
                    ErrorIds.ScriptNotFound, ErrorCategory.ObjectNotFound, path));
                continue;
            }
            foreach (var item in resolved)
            {
                if (Directory.Exists(item))
                {
                    foreach (var file in Directory.EnumerateFiles(item, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                    {
                        yield return file;
                    }
                }
                else
                {
                    yield return item;
                }
            }
        }
    }
}
