using System.Text.Json.Serialization;

[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.S3.S3StorageProvider))]

namespace Flowstore;

/// <summary>
/// S3 storage (Amazon S3 or any S3-compatible server). As a script (<see cref="StoredAsScript"/>, opt-in as in
/// Prefect), every run fetches the object at <see cref="Key"/>, so task code can change in the bucket without
/// re-registering. Frozen (the default), registration uploads the compiled flow and runs fetch that.
/// </summary>
/// <remarks>
/// Saved with the registered flow: bucket, key, endpoint, region and path style are kept; credentials never
/// are, only the name of the secret that holds them (<see cref="CredentialsSecret"/>).
/// </remarks>
public sealed record S3Storage : StorageSettings
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
    {
        Bucket = bucket;
        Key = key;
        StoredAsScript = storedAsScript;
        LocalScriptPath = localScriptPath;
        EndpointUrl = endpointUrl;
        Region = region;
        ForcePathStyle = forcePathStyle;
        CredentialsSecret = credentialsSecret;
    }

    public override string Type => "S3";

    /// <summary>The bucket that holds the flow.</summary>
    [StorageSetting("The bucket that holds the flow.", Mandatory = true)]
    public string Bucket { get; init; } = "";

    /// <summary>The object key; filled in by registration or publishing when it is generated.</summary>
    [StorageSetting("The object key. Script storage without a local script path: the script already in the bucket (registration checks it). " +
        "Otherwise where registration uploads; generated as <flow-slug>/<UTC yyyyMMddTHHmmssZ> when omitted.")]
    public string? Key { get; init; }

    /// <summary>Opt-in script storage, as in the seed.</summary>
    [StorageSetting("Runs fetch the script from the bucket (task code can change without re-registering); without it registration uploads the compiled flow.")]
    public bool StoredAsScript { get; init; }

    /// <summary>A local script that registration uploads (absolute once resolved).</summary>
    [StorageSetting("A local script that registration uploads to the key (script storage only).", LocalPath = StorageSettingPath.File)]
    public string? LocalScriptPath { get; init; }

    /// <summary>An S3-compatible endpoint URL; null for Amazon S3.</summary>
    [StorageSetting("An S3-compatible endpoint, e.g. http://127.0.0.1:9000; omit for Amazon S3.")]
    public string? EndpointUrl { get; init; }

    /// <summary>The region; null for the SDK's default.</summary>
    [StorageSetting("The region, e.g. eu-west-1; defaults to the AWS SDK's (AWS_REGION, profile), else us-east-1.")]
    public string? Region { get; init; }

    /// <summary>Path-style addressing (bucket in the path).</summary>
    [StorageSetting("Addresses the bucket in the path (http://host/bucket/key), as most S3-compatible servers need.")]
    public bool ForcePathStyle { get; init; }

    /// <summary>Name of the secret holding the credentials (a JSON object); null for the SDK's credential chain.</summary>
    [StorageSetting("Name of a secret whose value is a JSON object with ACCESS_KEY, SECRET_ACCESS_KEY and optionally SESSION_TOKEN " +
        "(or accessKeyId, secretAccessKey, sessionToken); omit to use the AWS SDK's credential chain.", Secret = true)]
    public string? CredentialsSecret { get; init; }

    /// <summary>
    /// Set when registration generates the key: the flow's slug, the generated key's prefix. The registration key
    /// covers this prefix instead of the timestamp, so registering an unchanged file again is Skipped.
    /// </summary>
    [JsonInclude]
    internal string? AutoKeyPrefix { get; init; }

    /// <summary>
    /// Set when registration uploads: the first 16 hex digits of the SHA-256 of what is uploaded (the local script
    /// for script storage, the registered script for frozen storage), so a changed file is a new version that is
    /// uploaded and an unchanged one is Skipped.
    /// </summary>
    [JsonInclude]
    internal string? UploadedSha256 { get; init; }

    public override bool IsScript => StoredAsScript;

    /// <summary>True when registration uploads (a local script, or the compiled flow).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    internal bool Uploads => !StoredAsScript || LocalScriptPath is not null;

    /// <summary>s3://bucket/key, or s3://bucket/&lt;slug&gt;/* for a generated key.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string ObjectUri => $"s3://{Bucket}/{(AutoKeyPrefix is not null ? AutoKeyPrefix + "/*" : Key ?? "(key to be generated)")}";

    public override string Locator
    {
        get
        {
            var locator = (StoredAsScript ? "s3:" : "s3-frozen:") + ObjectUri;
            if (!string.IsNullOrEmpty(EndpointUrl))
            {
                locator += " at " + EndpointUrl;
            }
            return UploadedSha256 is null ? locator : $"{locator}#{UploadedSha256}";
        }
    }

    /// <summary>The endpoint, when given, is an absolute URL.</summary>
    protected override void ValidateSettings()
    {
        if (EndpointUrl is not null && !Uri.TryCreate(EndpointUrl, UriKind.Absolute, out _))
        {
            throw Invalid(nameof(EndpointUrl), $"The S3 endpoint '{EndpointUrl}' is not an absolute URL (e.g. http://127.0.0.1:9000).", EndpointUrl);
        }
    }

    public override string ToString()
    {
        var where = (Key is not null ? $"s3://{Bucket}/{Key}" : ObjectUri) + (string.IsNullOrEmpty(EndpointUrl) ? "" : $" at {EndpointUrl}");
        return StoredAsScript ? $"S3 script {where}" : $"S3 frozen {where}";
    }
}
