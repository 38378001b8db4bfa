namespace Flowstore.Bench.Harness;

/// <summary>
/// A suite's own folder under the system temp folder (<c>&lt;prefix&gt;&lt;random&gt;</c>) and the fresh Flowstore homes made in
/// it (homes/home-NNN); a home or the folder is deleted only without --keep-temp.
/// </summary>
public sealed class BenchTemp(string prefix, bool keep)
{
    private int _homes;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>A new home's path (not created: the engine creates it on first use).</summary>
    public string NewHome() => Path.Combine(Root, "homes", $"home-{Interlocked.Increment(ref _homes):D3}");

    /// <summary>Deletes a home (or any folder of the suite's), unless --keep-temp; one never created is fine.</summary>
    public void Delete(string folder)
    {
        if (keep)
        {
            return;
        }
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Runs <paramref name="work"/> with a fresh home, deleted afterwards.</summary>
    public async Task<T> InFreshHomeAsync<T>(Func<string, Task<T>> work)
    {
        var home = NewHome();
        try
        {
            return await work(home).ConfigureAwait(false);
        }
        finally
        {
            Delete(home);
        }
    }
}
