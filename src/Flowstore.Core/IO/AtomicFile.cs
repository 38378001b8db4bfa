namespace Flowstore;

/// <summary>
/// Writes a file so that readers see the old content or the whole new content, never a part of it: the bytes go
/// to a temporary file next to the target, are flushed, and the temporary file is renamed into place. When any
/// step fails (a full disk, a read-only folder) the temporary file is removed and the target is left as it was.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>.</summary>
    /// <param name="path">The target file; its folder must exist.</param>
    /// <param name="content">The whole new content.</param>
    /// <param name="overwrite">False: create only; when the target exists (e.g. another process created it first) it is left
    /// alone and the call returns false.</param>
    /// <param name="durable">Flush to the disk (fsync) before the rename: for files whose loss breaks the home (the secret
    /// key), not for caches.</param>
    /// <param name="unixMode">The new file's permissions on Unix (e.g. owner-only); null for the default.</param>
    /// <returns>True when the target now holds <paramref name="content"/>.</returns>
    public static bool Write(string path, ReadOnlySpan<byte> content, bool overwrite = true, bool durable = false, UnixFileMode? unixMode = null)
    {
        var full = Path.GetFullPath(path);
        var temp = TempPathFor(full);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (unixMode is { } mode && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: durable);
            }
            if (overwrite)
            {
                File.Move(temp, full, overwrite: true);
                return true;
            }
            try
            {
                File.Move(temp, full, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(full))
            {
                return false;
            }
        }
        finally
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Nothing more can be done; the name marks it as a leftover temporary file.
            }
        }
    }

    /// <summary>The temporary name used for <paramref name="path"/>: hidden, unique, in the same folder (so the rename is atomic).</summary>
    public static string TempPathFor(string path)
        => Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..12] + ".tmp");

    /// <summary>True when <paramref name="error"/> says the disk (or quota) is full: ENOSPC/EDQUOT on Unix, ERROR_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is IOException)
            {
                var code = e.HResult & 0xFFFF;
                if (OperatingSystem.IsWindows() ? code is 112 or 39 : code is 28 or 122 or 69)
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>
    /// True when the folder holding <paramref name="path"/> has (almost) no free space left, for errors that do not
    /// say why (SQLite's "disk I/O error"). False when it cannot be told.
    /// </summary>
    public static bool IsNearlyFull(string path, long threshold = 64 * 1024)
    {
        try
        {
            var directory = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path));
            if (string.IsNullOrEmpty(directory))
            {
                return false;
            }
            return new DriveInfo(directory).AvailableFreeSpace < threshold;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }
}
