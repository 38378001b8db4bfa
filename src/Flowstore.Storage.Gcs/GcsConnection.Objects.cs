using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Google.Apis.Upload;
using Google.Cloud.Storage.V1;
using GcsObject = Google.Apis.Storage.v1.Data.Object;

namespace Flowstore.Storage.Gcs;

/// <summary>The object calls of <see cref="IObjectStore"/>: download at a generation, upload, and metadata.</summary>
internal sealed partial class GcsConnection
{
    private const string ScriptContentType = "text/x-csharp; charset=utf-8";
    private const string AssemblyContentType = "application/octet-stream";

    public string VersionNoun => "generation";

    public string UriOf(string key) => $"gs://{Bucket}/{key}";

    /// <summary>
    /// Reads the object's metadata, then its content at that generation, so the bytes and the generation recorded
    /// as provenance belong together. A pinned generation that is gone is <see cref="ErrorIds.PinnedVersionUnavailable"/>.
    /// </summary>
    public async Task<StoredObject> GetAsync(string key, string? pinnedVersion, CancellationToken cancellationToken)
    {
        long? pinned = null;
        if (pinnedVersion is not null)
        {
            if (!long.TryParse(pinnedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var generation))
            {
                throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.InvalidArgument,
                    $"'{pinnedVersion}' is not a GCS generation (a number), so {UriOf(key)} cannot be fetched at it.") { Target = UriOf(key) };
            }
            pinned = generation;
        }
        var bucket = Bucket;
        for (var round = 1; ; round++)
        {
            var obj = await RunAsync(GcsOperation.Read, key,
                ct => Client.GetObjectAsync(bucket, key, new GetObjectOptions { Generation = pinned, RetryOptions = RetryOptions.Never }, ct),
                cancellationToken, e => pinned is null ? NotFound(e, key) : PinnedGone(key, pinned.Value)).ConfigureAwait(false);
            if (pinned is not null && obj.Generation != pinned)
            {
                // A store that keeps no older generations may answer with the live object instead of a 404.
                throw PinnedGone(key, pinned.Value);
            }
            var bytes = await RunAsync(GcsOperation.Read, key, async ct =>
            {
                using var buffer = new MemoryStream(obj.Size is { } size and < int.MaxValue ? (int)size : 0);
                await Client.DownloadObjectAsync(bucket, key, buffer, new DownloadObjectOptions { Generation = obj.Generation }, ct).ConfigureAwait(false);
                return buffer.ToArray();
            }, cancellationToken, e => pinned is null ? NotFound(e, key) : PinnedGone(key, pinned.Value)).ConfigureAwait(false);
            if (obj.Md5Hash is null || obj.Md5Hash == Convert.ToBase64String(MD5.HashData(bytes)))
            {
                return new StoredObject(bytes, Generation(obj));
            }
            // The object was replaced between the two calls (a store that ignores the generation of a download).
            if (pinned is not null)
            {
                throw PinnedGone(key, pinned.Value);
            }
            if (round == 3)
            {
                throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidData,
                    $"{UriOf(key)} at {Endpoint} kept changing while it was downloaded (MD5 mismatch, 3 tries); try again.") { Target = UriOf(key) };
            }
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
        => await MetadataAsync(GcsOperation.Read, key, e => new NotFoundSignal(e), cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>The live object's metadata before an upload, or null when there is none (a missing bucket is StorageNotFound).</summary>
    private Task<GcsObject?> CurrentAsync(string key, CancellationToken cancellationToken)
        => MetadataAsync(GcsOperation.Upload, key, e => BucketMissing(e) ? NotFound(e, key) : new NotFoundSignal(e), cancellationToken);

    /// <summary>The object's metadata, or null when <paramref name="onNotFound"/> calls a 404 a <see cref="NotFoundSignal"/>.</summary>
    private async Task<GcsObject?> MetadataAsync(GcsOperation operation, string key, Func<Google.GoogleApiException, FlowstoreException> onNotFound,
        CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync(operation, key,
                ct => Client.GetObjectAsync(Bucket, key, new GetObjectOptions { RetryOptions = RetryOptions.Never }, ct),
                cancellationToken, onNotFound).ConfigureAwait(false);
        }
        catch (NotFoundSignal)
        {
            return null;
        }
    }

    /// <summary>
    /// Uploads in one request with retries; the stored size and MD5 must be those of what was sent. An object that
    /// already holds these bytes (size, MD5 and the script's SHA-256 in its metadata) is kept as it is, so storing
    /// unchanged content keeps its generation (GCS makes a new generation for every upload, also of the same bytes).
    /// </summary>
    public async Task<string> PutAsync(string key, ObjectUpload upload, CancellationToken cancellationToken)
    {
        var bytes = upload.Body;
        var target = UriOf(key);
        var md5 = Convert.ToBase64String(MD5.HashData(bytes));
        if (await CurrentAsync(key, cancellationToken).ConfigureAwait(false) is { } current
            && current.Size == (ulong)bytes.Length && current.Md5Hash == md5
            && current.Metadata is { } metadata && metadata.TryGetValue(ObjectUpload.ScriptShaMetadata, out var sha) && sha == upload.ScriptSha256)
        {
            log($"{target} at {Endpoint} already holds these {bytes.Length} bytes (generation {current.Generation}); nothing uploaded.");
            return Generation(current);
        }
        var uploadProgress = upload.Sent is { } sent
            ? new Progress(p =>
            {
                if (p.Status is UploadStatus.Uploading or UploadStatus.Completed)
                {
                    sent(p.BytesSent);
                }
            })
            : null;
        var destination = new GcsObject
        {
            Bucket = Bucket,
            Name = key,
            ContentType = upload.IsScript ? ScriptContentType : AssemblyContentType,
            Metadata = new Dictionary<string, string> { [ObjectUpload.ScriptShaMetadata] = upload.ScriptSha256 },
        };
        var uploaded = await RunAsync(GcsOperation.Upload, key, async ct =>
        {
            using var content = new MemoryStream(bytes, writable: false);
            // One request up to the client's default chunk (10 MB): flows are far smaller, and some servers
            // (the Cloud Storage emulator) finalize a resumable upload with its first chunk.
            var stored = await Client.UploadObjectAsync(destination, content, null, ct, uploadProgress).ConfigureAwait(false);
            // The store's size and MD5 must be those of what was sent: never record a flow that was cut short.
            if (stored.Size != (ulong)bytes.Length || (stored.Md5Hash is { } storedMd5 && storedMd5 != md5))
            {
                throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidData,
                    $"GCS at {Endpoint} stored {stored.Size} bytes at {target} (generation {stored.Generation}) for the {bytes.Length} bytes sent; " +
                    "the object does not hold the flow. Upload again.") { Target = target };
            }
            return stored;
        }, cancellationToken, e => NotFound(e, key)).ConfigureAwait(false);
        return Generation(uploaded);
    }

    private FlowstoreException PinnedGone(string key, long generation) =>
        new(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
            $"Generation {generation} of {UriOf(key)} is no longer kept at {Endpoint} (the object was replaced or deleted; " +
            "GCS keeps older generations only in buckets with Object Versioning).")
        { Target = UriOf(key), Hint = FlowHint.RunUnpinned() };

    private static string Generation(GcsObject obj) => obj.Generation?.ToString(CultureInfo.InvariantCulture) ?? "";

    private sealed class Progress(Action<IUploadProgress> report) : IProgress<IUploadProgress>
    {
        public void Report(IUploadProgress value) => report(value);
    }

    /// <summary>A 404 where "missing" is an answer, not an error.</summary>
    private sealed class NotFoundSignal(Google.GoogleApiException inner)
        : FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound, "not found", inner);
}
