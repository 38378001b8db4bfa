using Flowstore.Testing;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite.Tests;

/// <summary>
/// Faults of the database file itself, categorised by what is wrong with the file (never a connection error): not a
/// database or corrupt (read error), read-only (write error), a full disk (write error saying "the disk is full"; a
/// real small tmpfs, mounted by the test).
/// </summary>
public sealed class SqliteFileFaultTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private string DatabasePath => _directory.File("flowstore.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _timeout.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_a_ReadError_on_the_file()
    {
        File.WriteAllBytes(DatabasePath, Enumerable.Repeat((byte)0x5A, 8192).ToArray());

        var error = Assert.Throws<FlowstoreException>(() => new SqliteFlowBackend(DatabasePath));

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Equal(FlowErrorKind.ReadError, error.Kind);
        Assert.Equal(DatabasePath, error.Target);
        Assert.Contains("is not a database", error.Message);
    }

    [Fact]
    public async Task A_corrupt_database_is_a_ReadError_on_the_file()
    {
        using (var backend = new SqliteFlowBackend(DatabasePath))
        {
            for (var i = 0; i < 50; i++)
            {
                await backend.CreateProjectAsync($"project-{i}", new string('d', 500), _timeout.Token);
            }
        }
        SqliteConnection.ClearAllPools();
        // Keep the header page, overwrite every page after it with garbage.
        var bytes = File.ReadAllBytes(DatabasePath);
        Assert.True(bytes.Length > 8192, "the database should span several pages");
        for (var i = 4096; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i * 31);
        }
        File.WriteAllBytes(DatabasePath, bytes);

        var error = await Assert.ThrowsAsync<FlowstoreException>(async () =>
        {
            using var backend = new SqliteFlowBackend(DatabasePath);
            await backend.GetProjectsAsync(null, _timeout.Token);
        });

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Equal(FlowErrorKind.ReadError, error.Kind);
        Assert.Equal(DatabasePath, error.Target);
    }

    [Fact]
    public async Task A_read_only_database_is_a_WriteError_on_the_file()
    {
        using var tmpfs = new SmallTmpfs();
        var path = Path.Combine(tmpfs.Path, "flowstore.db");
        using (var backend = new SqliteFlowBackend(path))
        {
            await backend.CreateProjectAsync("before", null, _timeout.Token);
        }
        SqliteConnection.ClearAllPools();
        tmpfs.MakeReadOnly();

        var error = await Assert.ThrowsAsync<FlowstoreException>(async () =>
        {
            using var backend = new SqliteFlowBackend(path);
            await backend.CreateProjectAsync("after", null, _timeout.Token);
        });

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.NotEqual(FlowErrorKind.ConnectionError, error.Kind);
        Assert.Contains(error.Kind, new[] { FlowErrorKind.WriteError, FlowErrorKind.ResourceUnavailable });
        Assert.Equal(path, error.Target);
    }

    [Fact]
    public async Task A_full_disk_is_a_WriteError_that_says_the_disk_is_full()
    {
        using var tmpfs = new SmallTmpfs();
        var path = Path.Combine(tmpfs.Path, "flowstore.db");
        using var backend = new SqliteFlowBackend(path);
        await backend.CreateProjectAsync("before", null, _timeout.Token);
        tmpfs.Fill();

        var error = await Assert.ThrowsAsync<FlowstoreException>(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                await backend.CreateProjectAsync($"project-{i}", new string('d', 4000), _timeout.Token);
            }
        });

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Equal(FlowErrorKind.WriteError, error.Kind);
        Assert.Contains("the disk is full", error.Message);
        Assert.Equal(path, error.Target);

        tmpfs.Free();
        await backend.CreateProjectAsync("after", null, _timeout.Token);
    }
}
