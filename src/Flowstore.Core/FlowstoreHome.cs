namespace Flowstore;

/// <summary>
/// The folder that holds Flowstore's local state (the embedded database, caches): <c>$FLOWSTORE_HOME</c>,
/// or <c>~/.flowstore</c> when the variable is unset or empty.
/// </summary>
public static class FlowstoreHome
{
    /// <summary>The environment variable that overrides the home folder.</summary>
    public const string EnvironmentVariable = "FLOWSTORE_HOME";

    /// <summary>The home folder's name under the user's profile when <see cref="EnvironmentVariable"/> is unset.</summary>
    public const string DefaultFolderName = ".flowstore";

    /// <summary>
    /// The full path of the home folder (not created): <c>$FLOWSTORE_HOME</c> made absolute, else <c>~/.flowstore</c>.
    /// Read on every call, so a change of the variable takes effect at once.
    /// </summary>
    public static string Path
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
            {
                return System.IO.Path.GetFullPath(ExpandTilde(fromEnvironment.Trim()));
            }

            var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(profile))
            {
                throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidOperation,
                    $"Cannot find the user's home folder for Flowstore's state; set {EnvironmentVariable} to a folder.");
            }
            return System.IO.Path.Combine(profile, DefaultFolderName);
        }
    }

    /// <summary>
    /// Creates the home folder when missing (owner-only permissions, 0700, on Unix) and returns its path.
    /// An existing folder's permissions are left as they are.
    /// </summary>
    public static string Ensure() => EnsureDirectory(Path);

    /// <summary>
    /// Creates <paramref name="directory"/> and its missing parents; on Unix the folders it creates get owner-only
    /// permissions (0700). Returns the full path.
    /// </summary>
    public static string EnsureDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = System.IO.Path.GetFullPath(directory);
        if (Directory.Exists(full))
        {
            return full;
        }
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(full);
            }
            else
            {
                // CreateDirectory(path, mode) gives the mode to the last folder only: create each missing one in turn.
                var missing = new Stack<string>();
                for (var dir = full; !string.IsNullOrEmpty(dir) && !Directory.Exists(dir); dir = System.IO.Path.GetDirectoryName(dir))
                {
                    missing.Push(dir);
                }
                while (missing.TryPop(out var dir))
                {
                    Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.PermissionDenied,
                $"Cannot create the folder '{full}': {e.Message}", e) { Target = full };
        }
        return full;
    }

    /// <summary>A leading <c>~</c> (alone, or followed by a separator) as the user's home folder; other paths unchanged.</summary>
    public static string ExpandTilde(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
        {
            var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return path.Length == 1 ? profile : System.IO.Path.Combine(profile, path[2..]);
        }
        return path;
    }
}
