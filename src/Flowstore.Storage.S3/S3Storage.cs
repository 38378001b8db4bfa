[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.S3.S3StorageProvider))]

namespace Flowstore;

/// <summary>
/// S3 storage (Amazon S3 or any S3-compatible server). As a script (<see cref="ObjectStorageSettings.StoredAsScript"/>, opt-in as in
/// Prefect), every run fetches the object at <see cref="ObjectStorageSettings.Key"/>, so task code can change in the bucket without
/// re-registering. Frozen (the default), registration uploads the compiled flow and runs fetch that.
/// </summary>
/// <remarks>
/// Saved with the registered flow: bucket, key, endpoint, region and path style are kept; credentials never
/// are, only the name of the secret that holds them (<see cref="CredentialsSecret"/>).
/// </remarks>
public sealed record S3Storage : ObjectStorageSettings
{
    /// <summary>For deserialisation.</summary>
    public S3Storage()
    {
    }

    /// <param name="bucket">The bucket that holds the flow.</param>
    /// <param name="key">
    /// The object key. Script storage without <paramref name="localScriptPath"/>: the script already in the bucket
    /// (registration checks it). Otherwise where registration uploads; generated as <c>&lt;flow-slug&gt;/&lt;UTC
    /// yyyyMMddTHHmmssZ&gt;</c> (frozen: with <c>.dll</c>) when null.
    /// </param>
    /// <param name="storedAsScript">True: runs fetch the script. False: registration uploads the compiled flow.</param>
    /// <param name="localScriptPath">A local script that registration uploads to <paramref name="key"/> (script storage).</param>
    /// <param name="endpointUrl">An S3-compatible endpoint (e.g. http://127.0.0.1:9000); null for Amazon S3.</param>
    /// <param name="region">The region (e.g. eu-west-1); null for the SDK's own (AWS_REGION, profile), else us-east-1.</param>
    /// <param name="forcePathStyle">Address the bucket in the path (http://host/bucket/key), as most S3-compatible servers need.</param>
    /// <param name="credentialsSecret">
    /// Name of a secret whose value is a JSON object with ACCESS_KEY, SECRET_ACCESS_KEY and optionally
    /// SESSION_TOKEN (or accessKeyId, secretAccessKey, sessionToken); null for the AWS SDK's own credential chain.
    /// </param>
    public S3Storage(string bucket, string? key = null, bool storedAsScript = false, string? localScriptPath = null,
        string? endpointUrl = null, string? region = null, bool forcePathStyle = false, string? credentialsSecret = null)
        : base(bucket, key, storedAsScript, localScriptPath, endpointUrl, credentialsSecret)
    {
        Region = region;
        ForcePathStyle = forcePathStyle;
    }

    public override string Type => "S3";

    /// <summary>An S3-compatible endpoint URL; null for Amazon S3.</summary>
    [StorageSetting("An S3-compatible endpoint, e.g. http://127.0.0.1:9000; omit for Amazon S3.")]
    public override string? EndpointUrl { get; init; }

    /// <summary>The region; null for the SDK's default.</summary>
    [StorageSetting("The region, e.g. eu-west-1; defaults to the AWS SDK's (AWS_REGION, profile), else us-east-1.")]
    public string? Region { get; init; }

    /// <summary>Path-style addressing (bucket in the path).</summary>
    [StorageSetting("Addresses the bucket in the path (http://host/bucket/key), as most S3-compatible servers need.")]
    public bool ForcePathStyle { get; init; }

    /// <summary>Name of the secret holding the credentials (a JSON object); null for the SDK's credential chain.</summary>
    [StorageSetting("Name of a secret whose value is a JSON object with ACCESS_KEY, SECRET_ACCESS_KEY and optionally SESSION_TOKEN " +
        "(or accessKeyId, secretAccessKey, sessionToken); omit to use the AWS SDK's credential chain.", Secret = true)]
    public override string? CredentialsSecret { get; init; }

    protected override string UriScheme => "s3";

    protected override string LocatorScheme => "s3";

    public override string ToString() => Describe(string.IsNullOrEmpty(EndpointUrl) ? "" : $" at {EndpointUrl}");
}
