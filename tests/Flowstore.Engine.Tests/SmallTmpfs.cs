using System.Diagnostics;

namespace Flowstore.Testing;

/// <summary>
/// A small tmpfs mounted for one test (as root), to make a full disk for real: <see cref="Fill"/> writes a file until
/// the disk says ENOSPC, <see cref="Free"/> deletes it. Unmounted on dispose. Where mounting is impossible (not root,
/// no CAP_SYS_ADMIN, no mount binary) the constructor fails the test and says so: the test never skips.
/// </summary>
internal sealed class SmallTmpfs : IDisposable
{
    private readonly string _parent = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flowstore-tmpfs", Guid.NewGuid().ToString("N"));

    public SmallTmpfs(string size = "2m")
    {
        Path = System.IO.Path.Combine(_parent, "tmpfs");
        Directory.CreateDirectory(Path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", Path);
        if (code != 0)
        {
            Directory.Delete(_parent, recursive: true);
            Assert.Fail($"This test needs a small tmpfs as FLOWSTORE_HOME and could not mount one at '{Path}' " +
                $"(mount -t tmpfs exited {code}: {output.Trim()}). Run the tests as root with CAP_SYS_ADMIN; the test fails rather than skips.");
        }
    }

    /// <summary>The mounted folder.</summary>
    public string Path { get; }

    private string FillerPath => System.IO.Path.Combine(Path, "filler.bin");

    /// <summary>Writes a file until the tmpfs is full (ENOSPC); returns the bytes written.</summary>
    public long Fill()
    {
        var chunk = new byte[4096];
        long written = 0;
        using var stream = new FileStream(FillerPath, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        try
        {
            while (true)
            {
                stream.Write(chunk);
                written += chunk.Length;
            }
        }
        catch (IOException e) when (AtomicFile.IsDiskFull(e))
        {
            return written;
        }
    }

    /// <summary>Deletes what <see cref="Fill"/> wrote.</summary>
    public void Free() => File.Delete(FillerPath);

    /// <summary>Makes the file system read-only (remount), as a read-only disk or mount is.</summary>
    public void MakeReadOnly()
    {
        var (code, output) = Run("mount", "-o", "remount,ro", Path);
        Assert.True(code == 0, $"remounting '{Path}' read-only failed: {output}");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var (code, output) = Run("umount", Path);
        if (code != 0)
        {
            // Something still holds a file open: detach now, the kernel frees it when closed.
            Run("umount", "-l", Path);
        }
        _ = output;
        try
        {
            Directory.Delete(_parent, recursive: true);
        }
        catch (IOException)
        {
            // Still mounted (lazily detached): only an empty folder stays behind in the temp directory.
        }
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
