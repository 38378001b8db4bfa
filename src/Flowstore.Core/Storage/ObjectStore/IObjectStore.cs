namespace Flowstore;

/// <summary>
/// The calls in which object stores (S3, GCS, ...) differ, on one bucket with the credentials and retry rules of
/// one storage. <see cref="ObjectStorageProvider{TSettings}"/> builds registration, publishing and runs on them.
/// Every failure is a <see cref="FlowstoreException"/> that names the object: a missing object or bucket is
/// <see cref="ErrorIds.StorageNotFound"/>, refused credentials <see cref="ErrorIds.StorageAccessDenied"/>, a store
/// that stays unreachable after retries <see cref="ErrorIds.StorageUnavailable"/>.
/// </summary>
public interface IObjectStore : IDisposable
{
    /// <summary>What the store calls the version of an object in messages: "version", "generation".</summary>
    string VersionNoun { get; }

    /// <summary>Where an object is, for messages and provenance (never a secret): s3://bucket/key, gs://bucket/key.</summary>
    string UriOf(string key);

    /// <summary>True when an object of that name exists (a missing bucket may answer false: the upload then names it).</summary>
    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// The object's content and its storage version; with <paramref name="pinnedVersion"/> (a version this store
    /// returned before) that version, or <see cref="ErrorIds.PinnedVersionUnavailable"/> when the store no longer has it.
    /// </summary>
    Task<StoredObject> GetAsync(string key, string? pinnedVersion, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="upload"/> at <paramref name="key"/> (replacing what is there) and returns its storage version.</summary>
    Task<string> PutAsync(string key, ObjectUpload upload, CancellationToken cancellationToken);
}

/// <summary>An object's content and the store's version of it (ETag and VersionId, generation, ...).</summary>
public sealed record StoredObject(byte[] Bytes, string Version);

/// <summary>What to put into an object store.</summary>
/// <param name="Body">The script's UTF-8 text, or the compiled flow.</param>
/// <param name="IsScript">True for a script (a text content type), false for a compiled flow.</param>
/// <param name="ScriptSha256">SHA-256 of the script the object holds or was compiled from (kept as object metadata).</param>
/// <param name="Sent">Told the number of bytes sent so far while the upload runs; may be null.</param>
public sealed record ObjectUpload(byte[] Body, bool IsScript, string ScriptSha256, Action<long>? Sent = null)
{
    /// <summary>Object metadata: the SHA-256 of the script an object holds or was compiled from.</summary>
    public const string ScriptShaMetadata = "flowstore-script-sha256";
}
