using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Google;
using Google.Apis.Upload;
using Google.Cloud.Storage.V1;
using GcsObject = Google.Apis.Storage.v1.Data.Object;

namespace Flowstore.Storage.Gcs;

/// <summary>
/// Google Cloud Storage: uploads scripts or compiled flows, checks stored scripts at registration, and downloads
/// the object at run time (the generation is the provenance; pinned runs download that generation).
/// </summary>
public sealed partial class GcsStorageProvider : IStorageProvider
{
    /// <summary>Object metadata: the SHA-256 of the script an object holds or was compiled from.</summary>
    internal const string ScriptShaMetadata = "flowstore-script-sha256";

    private const string ScriptContentType = "text/x-csharp; charset=utf-8";
    private const string AssemblyContentType = "application/octet-stream";

    private readonly GcsRetryOptions _retry;
    private readonly TimeProvider _time;

    public GcsStorageProvider()
        : this(GcsRetryOptions.Default, TimeProvider.System)
    {
    }

    internal GcsStorageProvider(GcsRetryOptions retry, TimeProvider time)
    {
        _retry = retry;
        _time = time;
    }

    public string Type => "Gcs";

    public Type SettingsType => typeof(GcsStorage);

    /// <summary>A generated key: &lt;flow-slug&gt;/&lt;utc timestamp&gt;&lt;suffix&gt;, e.g. etl/20261128T174500Z.</summary>
    internal string NewKey(string prefix, string suffix = "", int n = 1) => GeneratedKeys.Key(prefix, _time.GetUtcNow(), suffix, n);

    /// <summary>
    /// A generated key no object has yet: -2, -3, ... is appended when one exists (two uploads in one second), so
    /// an upload never replaces the object of another registration.
    /// </summary>
    private Task<string> NewFreeKeyAsync(GcsConnection connection, string prefix, string suffix, CancellationToken cancellationToken)
        => GeneratedKeys.FirstFreeAsync(prefix, _time.GetUtcNow(), suffix,
            async (key, ct) => await TryGetObjectAsync(connection, key, ct).ConfigureAwait(false) is not null, cancellationToken);

    // ---------------------------------------------------------------- registration

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var gcs = (GcsStorage)settings.Clone();
        Validate(gcs);
        var baseDir = Path.GetDirectoryName(context.ScriptPath)!;
        if (string.IsNullOrEmpty(gcs.Key))
        {
            gcs.Key = null;
            gcs.AutoKeyPrefix = context.FlowSlug;
        }
        else
        {
            gcs.AutoKeyPrefix = null;
        }

        if (gcs.StoredAsScript)
        {
            // Registration uploads a local script when one is named, or when there is no key to read from.
            if (gcs.LocalScriptPath is not null || gcs.Key is null)
            {
                gcs.LocalScriptPath = gcs.LocalScriptPath is null ? context.ScriptPath : Path.GetFullPath(gcs.LocalScriptPath, baseDir);
                gcs.UploadedSha256 = ShortSha(LocalScriptSha(gcs.LocalScriptPath, context));
            }
            else
            {
                gcs.UploadedSha256 = null;
            }
        }
        else
        {
            if (gcs.LocalScriptPath is not null)
            {
                throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                    $"GCS storage of flow '{context.Flow}' names LocalScriptPath '{gcs.LocalScriptPath}' but is not script storage: " +
                    "add -StoredAsScript (storedAsScript: true), or drop LocalScriptPath to upload the compiled flow.") { Target = gcs.LocalScriptPath };
            }
            gcs.UploadedSha256 = ShortSha(context.ScriptSha256);
        }
        return gcs;
    }

    public async Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var gcs = (GcsStorage)settings.Clone();
        using var connection = await GcsConnection.OpenAsync(gcs, context.Secrets, _retry, context.Log, cancellationToken).ConfigureAwait(false);

        if (gcs.StoredAsScript && gcs.LocalScriptPath is null)
        {
            // A key and no local script: the object must exist and declare this flow with this structure.
            var key = gcs.Key!;
            var (text, generation) = await DownloadScriptAsync(connection, key, null, cancellationToken).ConfigureAwait(false);
            await (context.CheckStoredScript?.Invoke(text, $"gs://{gcs.Bucket}/{key}", cancellationToken) ?? Task.CompletedTask).ConfigureAwait(false);
            context.Log($"Flow '{context.Flow}': gs://{gcs.Bucket}/{key} exists (generation {generation}); runs will download it.");
            return gcs;
        }

        gcs.Key ??= await NewFreeKeyAsync(connection, gcs.AutoKeyPrefix!, gcs.StoredAsScript ? "" : ".dll", cancellationToken).ConfigureAwait(false);
        if (gcs.StoredAsScript)
        {
            var bytes = string.Equals(gcs.LocalScriptPath, context.ScriptPath, StringComparison.Ordinal)
                ? Encoding.UTF8.GetBytes(context.ScriptSource)
                : await ReadLocalScriptAsync(gcs.LocalScriptPath!, cancellationToken).ConfigureAwait(false);
            var sha = FlowStructure.Sha256Hex(bytes);
            if (sha != context.ScriptSha256 && context.CheckStoredScript is { } check)
            {
                // The file to upload is not the registered one: it must still declare this flow with this structure.
                await check(Encoding.UTF8.GetString(bytes), gcs.LocalScriptPath!, cancellationToken).ConfigureAwait(false);
            }
            gcs.UploadedSha256 = ShortSha(sha);
            var uploaded = await UploadAsync(connection, gcs.Key, bytes, ScriptContentType, sha, $"Uploading {Path.GetFileName(gcs.LocalScriptPath)}",
                context.Progress, cancellationToken).ConfigureAwait(false);
            context.Log($"Flow '{context.Flow}': uploaded '{gcs.LocalScriptPath}' to gs://{gcs.Bucket}/{gcs.Key} (generation {uploaded.Generation}).");
            return gcs;
        }

        // Frozen: the compiled flow.
        var assembly = await context.CompiledAssembly(cancellationToken).ConfigureAwait(false);
        var stored = await UploadAsync(connection, gcs.Key, assembly, AssemblyContentType, context.ScriptSha256, $"Uploading compiled flow '{context.Flow}'",
            context.Progress, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': uploaded the compiled flow to gs://{gcs.Bucket}/{gcs.Key} (generation {stored.Generation}).");
        return gcs;
    }

    // ---------------------------------------------------------------- publishing

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var gcs = (GcsStorage)settings.Clone();
        Validate(gcs);
        if (!gcs.StoredAsScript)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Publish-FlowScript uploads scripts, but this GCS storage is frozen (registration uploads the compiled flow of '{context.ScriptPath}'). " +
                "Add -StoredAsScript (storedAsScript: true) to publish the script, or register without publishing.") { Target = context.ScriptPath };
        }
        if (gcs.LocalScriptPath is not null
            && !string.Equals(Path.GetFullPath(gcs.LocalScriptPath, Path.GetDirectoryName(context.ScriptPath)!), context.ScriptPath, StringComparison.Ordinal))
        {
            context.Warn($"Publishing '{context.ScriptPath}'; the storage's LocalScriptPath '{gcs.LocalScriptPath}' is not uploaded.");
        }
        using var connection = await GcsConnection.OpenAsync(gcs, context.Secrets, _retry, context.Log, cancellationToken).ConfigureAwait(false);
        gcs.Key = string.IsNullOrEmpty(gcs.Key) ? await NewFreeKeyAsync(connection, context.FlowSlug, "", cancellationToken).ConfigureAwait(false) : gcs.Key;
        // Published: registration reads the object back (and checks it) instead of uploading again.
        gcs.AutoKeyPrefix = null;
        gcs.UploadedSha256 = null;
        gcs.LocalScriptPath = null;

        var bytes = Encoding.UTF8.GetBytes(context.ScriptSource);
        var uploaded = await UploadAsync(connection, gcs.Key, bytes, ScriptContentType, context.ScriptSha256, $"Uploading {Path.GetFileName(context.ScriptPath)}",
            context.Progress, cancellationToken).ConfigureAwait(false);
        var location = $"gs://{gcs.Bucket}/{gcs.Key}";
        context.Log($"Published '{context.ScriptPath}' to {location} (generation {uploaded.Generation}).");
        return new PublishedFlowSource(gcs, Generation(uploaded), location);
    }

    // ---------------------------------------------------------------- runs

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var gcs = (GcsStorage)settings;
        if (string.IsNullOrEmpty(gcs.Bucket) || string.IsNullOrEmpty(gcs.Key))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData,
                $"GCS storage {gcs} names no {(string.IsNullOrEmpty(gcs.Bucket) ? "bucket" : "object key")}; register the flow again.") { Target = gcs.Bucket };
        }
        long? pinned = null;
        if (pinnedVersion is not null)
        {
            if (!long.TryParse(pinnedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var generation))
            {
                throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.InvalidArgument,
                    $"'{pinnedVersion}' is not a GCS generation (a number), so gs://{gcs.Bucket}/{gcs.Key} cannot be fetched at it.") { Target = $"gs://{gcs.Bucket}/{gcs.Key}" };
            }
            pinned = generation;
        }

        using var connection = await GcsConnection.OpenAsync(gcs, secrets, _retry, _ => { }, cancellationToken).ConfigureAwait(false);
        var origin = $"gs://{gcs.Bucket}/{gcs.Key}";
        var (bytes, current) = await DownloadAsync(connection, gcs.Key, pinned, cancellationToken).ConfigureAwait(false);
        var version = Generation(current);
        if (gcs.StoredAsScript)
        {
            return new FetchedFlowSource(Encoding.UTF8.GetString(bytes), null, FlowStructure.Sha256Hex(bytes), version, origin);
        }
        return new FetchedFlowSource(null, bytes, FlowStructure.Sha256Hex(bytes), version, origin);
    }

    // ---------------------------------------------------------------- GCS calls

    private async Task<(string Text, string Generation)> DownloadScriptAsync(GcsConnection connection, string key, long? generation, CancellationToken cancellationToken)
    {
        var (bytes, obj) = await DownloadAsync(connection, key, generation, cancellationToken).ConfigureAwait(false);
        return (Encoding.UTF8.GetString(bytes), Generation(obj));
    }

    /// <summary>
    /// Reads the object's metadata, then its content at that generation, so the bytes and the generation recorded
    /// as provenance belong together. A pinned generation that is gone is <see cref="ErrorIds.PinnedVersionUnavailable"/>.
    /// </summary>
    private static async Task<(byte[] Bytes, GcsObject Object)> DownloadAsync(GcsConnection connection, string key, long? pinned, CancellationToken cancellationToken)
    {
        var bucket = connection.Bucket;
        for (var round = 1; ; round++)
        {
            var obj = await connection.RunAsync(GcsOperation.Read, key,
                ct => connection.Client.GetObjectAsync(bucket, key, new GetObjectOptions { Generation = pinned, RetryOptions = RetryOptions.Never }, ct),
                cancellationToken, e => pinned is null ? connection.NotFound(e, key) : PinnedGone(connection, key, pinned.Value)).ConfigureAwait(false);
            if (pinned is not null && obj.Generation != pinned)
            {
                // A store that keeps no older generations may answer with the live object instead of a 404.
                throw PinnedGone(connection, key, pinned.Value);
            }
            var bytes = await connection.RunAsync(GcsOperation.Read, key, async ct =>
            {
                using var buffer = new MemoryStream(obj.Size is { } size and < int.MaxValue ? (int)size : 0);
                await connection.Client.DownloadObjectAsync(bucket, key, buffer, new DownloadObjectOptions { Generation = obj.Generation }, ct).ConfigureAwait(false);
                return buffer.ToArray();
            }, cancellationToken, e => pinned is null ? connection.NotFound(e, key) : PinnedGone(connection, key, pinned.Value)).ConfigureAwait(false);
            if (obj.Md5Hash is null || obj.Md5Hash == Convert.ToBase64String(MD5.HashData(bytes)))
            {
                return (bytes, obj);
            }
            // The object was replaced between the two calls (a store that ignores the generation of a download).
            if (pinned is not null)
            {
                throw PinnedGone(connection, key, pinned.Value);
            }
            if (round == 3)
            {
                throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidData,
                    $"gs://{bucket}/{key} at {connection.Endpoint} kept changing while it was downloaded (MD5 mismatch, 3 tries); try again.") { Target = $"gs://{bucket}/{key}" };
            }
        }
    }

    private static async Task<GcsObject?> TryGetObjectAsync(GcsConnection connection, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.RunAsync(GcsOperation.Read, key,
                ct => connection.Client.GetObjectAsync(connection.Bucket, key, new GetObjectOptions { RetryOptions = RetryOptions.Never }, ct),
                cancellationToken, e => new NotFoundSignal(e)).ConfigureAwait(false);
        }
        catch (NotFoundSignal)
        {
            return null;
        }
    }

    /// <summary>Uploads with progress (reported as bytes sent of the total, ending with 100) and retries.</summary>
    private static async Task<GcsObject> UploadAsync(GcsConnection connection, string key, byte[] bytes, string contentType, string scriptSha,
        string activity, IProgress<StorageProgress>? progress, CancellationToken cancellationToken)
    {
        var target = $"gs://{connection.Bucket}/{key}";
        activity = $"{activity} to {target}";
        progress?.Report(new StorageProgress(activity, $"0 of {Size(bytes.Length)}", 0));
        var uploadProgress = new Progress(p =>
        {
            if (p.Status is UploadStatus.Uploading or UploadStatus.Completed)
            {
                var percent = bytes.Length == 0 ? 100 : (int)Math.Min(100, p.BytesSent * 100 / bytes.Length);
                progress?.Report(new StorageProgress(activity, $"{Size(p.BytesSent)} of {Size(bytes.Length)}", percent));
            }
        });
        var destination = new GcsObject
        {
            Bucket = connection.Bucket,
            Name = key,
            ContentType = contentType,
            Metadata = new Dictionary<string, string> { [ScriptShaMetadata] = scriptSha },
        };
        var uploaded = await connection.RunAsync(GcsOperation.Upload, key, async ct =>
        {
            using var content = new MemoryStream(bytes, writable: false);
            // One request up to the client's default chunk (10 MB): flows are far smaller, and some servers
            // (the Cloud Storage emulator) finalize a resumable upload with its first chunk.
            var stored = await connection.Client.UploadObjectAsync(destination, content, null, ct, progress is null ? null : uploadProgress).ConfigureAwait(false);
            // The store's size and MD5 must be those of what was sent: never record a flow that was cut short.
            if (stored.Size != (ulong)bytes.Length || (stored.Md5Hash is { } md5 && md5 != Convert.ToBase64String(MD5.HashData(bytes))))
            {
                throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidData,
                    $"GCS at {connection.Endpoint} stored {stored.Size} bytes at {target} (generation {stored.Generation}) for the {bytes.Length} bytes sent; " +
                    "the object does not hold the flow. Upload again.") { Target = target };
            }
            return stored;
        }, cancellationToken, e => connection.NotFound(e, key)).ConfigureAwait(false);
        progress?.Report(new StorageProgress(activity, $"{Size(bytes.Length)} uploaded, generation {uploaded.Generation}", 100));
        return uploaded;
    }

    private static string Size(long bytes) => bytes >= 1024 * 1024
        ? $"{bytes / (1024.0 * 1024):0.0} MB"
        : bytes >= 1024 ? $"{bytes / 1024.0:0} KB" : $"{bytes} bytes";

    private static FlowstoreException PinnedGone(GcsConnection connection, string key, long generation) =>
        new(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
            $"Generation {generation} of gs://{connection.Bucket}/{key} is no longer kept at {connection.Endpoint} (the object was replaced or deleted; " +
            "GCS keeps older generations only in buckets with Object Versioning). Run without -Pinned to use the current object.")
        { Target = $"gs://{connection.Bucket}/{key}" };

    private static string Generation(GcsObject obj) => obj.Generation?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string ShortSha(string sha) => sha[..16];

    /// <summary>The SHA-256 of the local script to upload; read here without side effects (Resolve runs under -WhatIf too).</summary>
    private static string LocalScriptSha(string path, StorageRegistrationContext context)
    {
        if (string.Equals(path, context.ScriptPath, StringComparison.Ordinal))
        {
            return context.ScriptSha256;
        }
        try
        {
            return FlowStructure.Sha256Hex(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw LocalScriptMissing(path);
        }
    }

    private static async Task<byte[]> ReadLocalScriptAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw LocalScriptMissing(path);
        }
    }

    private static FlowstoreException LocalScriptMissing(string path) =>
        new(ErrorIds.StorageInvalid, FlowErrorKind.ObjectNotFound,
            $"The local script '{path}' that GCS storage should upload (LocalScriptPath) does not exist.") { Target = path };

    /// <summary>Checks what a GCS call needs: a valid bucket name and endpoint URL.</summary>
    internal static void Validate(GcsStorage gcs)
    {
        if (string.IsNullOrWhiteSpace(gcs.Bucket))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                "GCS storage needs a bucket (-Bucket, bucket:).") { Target = "Bucket" };
        }
        if (!BucketName().IsMatch(gcs.Bucket))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"'{gcs.Bucket}' is not a valid GCS bucket name: 3-63 (or up to 222 with dots) lowercase letters, digits, '-', '_' and '.', " +
                "starting and ending with a letter or digit.") { Target = gcs.Bucket };
        }
        if (!string.IsNullOrEmpty(gcs.EndpointUrl)
            && !(Uri.TryCreate(gcs.EndpointUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"The GCS endpoint '{GcsConnection.DisplayEndpoint(gcs.EndpointUrl)}' is not an http:// or https:// URL.") { Target = "EndpointUrl" };
        }
        if (gcs.Key is { Length: > 0 } key && (key.Length > 1024 || key.Contains('\n') || key.Contains('\r')))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"'{key}' is not a valid GCS object name (at most 1024 bytes, no line breaks).") { Target = key };
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$")]
    private static partial Regex BucketName();

    private sealed class Progress(Action<IUploadProgress> report) : IProgress<IUploadProgress>
    {
        public void Report(IUploadProgress value) => report(value);
    }

    /// <summary>A 404 where "missing" is an answer, not an error.</summary>
    private sealed class NotFoundSignal(GoogleApiException inner) : FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound, "not found", inner);
}
