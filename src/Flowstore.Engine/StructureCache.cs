using System.Text.Json;

namespace Flowstore.Engine;

/// <summary>What a script's flows look like, without their code: enough to register them.</summary>
/// <param name="StorageInstance">
/// Which storage object of the script the flow sets: flows with the same number share one storage instance (one
/// upload, one image), null for a flow without storage.
/// </param>
internal sealed record CachedFlow(string Name, string Slug, string Structure, string? Storage, string[] Labels, string? Description, int? StorageInstance = null,
    string? Schedule = null);

/// <summary>
/// A content-addressed cache of each script's flow structures (by the source's SHA-256), so that
/// re-registering an unchanged file neither compiles nor runs it.
/// </summary>
internal sealed class StructureCache
{
    // 2: flows carry their storage instance. 3: slugs keep the letters and digits of any script (format 2 dropped all but a-z and 0-9).
    // 4: flows carry their schedule.
    private const int Format = 4;
    private readonly string _directory;

    public StructureCache(string directory) => _directory = directory;

    private string PathFor(string sha) => Path.Combine(_directory, $"{sha}.v{Format}.json");

    public IReadOnlyList<CachedFlow>? TryGet(string sha)
    {
        var path = PathFor(sha);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<CachedFlow[]>(File.ReadAllBytes(path)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Put(string sha, IReadOnlyList<CachedFlow> flows)
    {
        try
        {
            Directory.CreateDirectory(_directory);
            AtomicFile.Write(PathFor(sha), JsonSerializer.SerializeToUtf8Bytes(flows)); // no leftover temporary file when the disk is full
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only an optimisation: the next registration compiles again.
        }
    }

    /// <summary>The flows of a script; flows that set the same storage object get the same <see cref="CachedFlow.StorageInstance"/>.</summary>
    public static IReadOnlyList<CachedFlow> Describe(IReadOnlyList<Flow> flows)
        => Scripting.FlowSketch.Of(flows).Select(f => new CachedFlow(f.Name, f.Slug, f.Structure, f.Storage, f.Labels, f.Description, f.StorageInstance, f.Schedule)).ToArray();
}
