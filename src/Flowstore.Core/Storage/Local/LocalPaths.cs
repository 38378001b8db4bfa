namespace Flowstore;

/// <summary>
/// Local paths written for another operating system: 'C:\flows\x.cs' or '\\server\share\x.cs' on Linux and macOS,
/// '/srv/flows/x.cs' on Windows. Such a path is not relative to anything here, so it is never joined to a folder of
/// this machine ("/tmp/flows/C:\flows\x.cs"); it is kept verbatim (a flow registered on Windows may run on a Windows
/// agent) and refused with <see cref="ErrorIds.StorageInvalid"/> only where this machine has to read or write it.
/// </summary>
public static class LocalPaths
{
    /// <summary>True when the process runs on Windows (the rules of <see cref="ForeignSystem(string, bool)"/>).</summary>
    public static bool ThisIsWindows => OperatingSystem.IsWindows();

    /// <summary>The name of this machine's operating system family, for messages.</summary>
    public static string ThisSystem => ThisIsWindows ? "Windows" : OperatingSystem.IsMacOS() ? "macOS" : "Linux";

    /// <summary>"Windows" or "Unix" when the path is absolute in the other family's syntax; null when it is a path of this machine.</summary>
    public static string? ForeignSystem(string path) => ForeignSystem(path, ThisIsWindows);

    /// <inheritdoc cref="ForeignSystem(string)"/>
    /// <param name="path">The path as written.</param>
    /// <param name="windows">Whether this machine is Windows.</param>
    public static string? ForeignSystem(string path, bool windows)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        if (windows)
        {
            // '/srv/x' is a Unix absolute path; '//server/share' and '\\server\share' are UNC paths of Windows itself.
            return path[0] == '/' && !(path.Length > 1 && path[1] is '/' or '\\') ? "Unix" : null;
        }
        var drive = path.Length >= 2 && char.IsAsciiLetter(path[0]) && path[1] == ':' && (path.Length == 2 || path[2] is '\\' or '/');
        var unc = path.StartsWith(@"\\", StringComparison.Ordinal);
        return drive || unc ? "Windows" : null;
    }

    /// <summary>
    /// The absolute form of a path relative to <paramref name="baseDirectory"/>; a path of another operating system
    /// as it is (verbatim), never joined to the base.
    /// </summary>
    public static string Resolve(string path, string baseDirectory) => Resolve(path, baseDirectory, ThisIsWindows);

    /// <inheritdoc cref="Resolve(string, string)"/>
    public static string Resolve(string path, string baseDirectory, bool windows)
        => ForeignSystem(path, windows) is null ? Path.GetFullPath(path, baseDirectory) : path;

    /// <summary>
    /// Fails with <see cref="ErrorIds.StorageInvalid"/> when this machine cannot use the path because it is written for
    /// another operating system. <paramref name="what"/> says what the path is for ("the script file of flow 'x'").
    /// </summary>
    public static void RequireUsableHere(string? path, string what, string storageType = "Local", string setting = nameof(LocalStorage.Path))
    {
        if (path is not null && ForeignSystem(path) is { } system)
        {
            throw Foreign(path, system, what, storageType, setting);
        }
    }

    /// <summary>The error for a path of another operating system that this machine has to use.</summary>
    public static FlowstoreException Foreign(string path, string system, string what, string storageType, string setting)
        => new(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
            $"{what} is '{path}', a {system} path, which cannot be resolved on this machine ({ThisSystem}); give a path of this machine.")
        { Target = path, Hint = FlowHint.StorageSetting(storageType, setting) };
}
