using System.Formats.Tar;
using System.IO.Compression;

namespace Flowstore.Storage.Docker;

/// <summary>Finds one file in tar streams: an archive from the engine, or image layers from the top down.</summary>
internal static class ImageFileReader
{
    /// <summary>What a layer says about a path.</summary>
    internal enum LayerVerdict
    {
        /// <summary>The layer does not touch the path: look in the layer below.</summary>
        NotHere,
        /// <summary>The layer holds the file.</summary>
        Found,
        /// <summary>The layer deletes the file or a folder above it (a whiteout): the image does not have it.</summary>
        Deleted,
    }

    /// <summary>"/flows/etl.cs" or "flows/etl.cs" → "flows/etl.cs".</summary>
    public static string Normalize(string path)
    {
        var parts = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p != ".")
            .ToArray();
        return string.Join('/', parts);
    }

    /// <summary>Opens a layer blob by its media type: gzip (Docker v2 and OCI "+gzip" layers), else a plain tar.</summary>
    public static Stream OpenLayer(Stream blob, string? mediaType)
    {
        if (mediaType?.Contains("zstd", StringComparison.OrdinalIgnoreCase) == true)
        {
            throw new NotSupportedException($"layers of type {mediaType} (zstd) cannot be read without an engine");
        }
        var buffered = new BufferedStream(blob, 64 * 1024);
        return mediaType?.Contains("gzip", StringComparison.OrdinalIgnoreCase) == true
            ? new GZipStream(buffered, CompressionMode.Decompress)
            : buffered;
    }

    /// <summary>Looks for <paramref name="path"/> in one layer tar, honouring whiteouts (.wh.name, .wh..wh..opq).</summary>
    public static async Task<(LayerVerdict Verdict, byte[]? Content)> SearchLayerAsync(Stream tar, string path, CancellationToken cancellationToken)
    {
        var target = Normalize(path);
        // Every folder above the target (and the target itself): a whiteout of any of them deletes the file.
        var ancestors = new List<string>();
        var parts = target.Split('/');
        for (var i = 1; i <= parts.Length; i++)
        {
            ancestors.Add(string.Join('/', parts.Take(i)));
        }
        var verdict = LayerVerdict.NotHere;
        byte[]? content = null;
        var reader = new TarReader(tar, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            var entryName = Normalize(entry.Name);
            if (entryName == target && entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile)
            {
                content = await ReadAsync(entry, cancellationToken).ConfigureAwait(false);
                verdict = LayerVerdict.Found;
                continue;
            }
            var slash = entryName.LastIndexOf('/');
            var entryFolder = slash < 0 ? "" : entryName[..slash];
            var entryFile = slash < 0 ? entryName : entryName[(slash + 1)..];
            if (verdict != LayerVerdict.Found && entryFile.StartsWith(".wh.", StringComparison.Ordinal))
            {
                if (entryFile == ".wh..wh..opq")
                {
                    // An opaque folder hides everything below it in lower layers.
                    if (entryFolder.Length == 0 || target.StartsWith(entryFolder + "/", StringComparison.Ordinal))
                    {
                        verdict = LayerVerdict.Deleted;
                    }
                }
                else
                {
                    var deleted = (entryFolder.Length == 0 ? "" : entryFolder + "/") + entryFile[4..];
                    if (ancestors.Contains(deleted))
                    {
                        verdict = LayerVerdict.Deleted;
                    }
                }
            }
        }
        return (verdict, content);
    }

    /// <summary>The one regular file in an archive the engine returned for a path (GetArchiveFromContainer).</summary>
    public static async Task<byte[]?> ReadSingleFileAsync(Stream tar, CancellationToken cancellationToken)
    {
        var reader = new TarReader(tar, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile)
            {
                return await ReadAsync(entry, cancellationToken).ConfigureAwait(false);
            }
        }
        return null;
    }

    private static async Task<byte[]> ReadAsync(TarEntry entry, CancellationToken cancellationToken)
    {
        if (entry.DataStream is null)
        {
            return [];
        }
        using var buffer = new MemoryStream();
        await entry.DataStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }
}
