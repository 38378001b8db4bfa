using System.Text.Json.Serialization;

namespace Flowstore;

/// <summary>
/// The settings every object storage (S3, GCS, ...) shares: where the flow is kept (<see cref="Bucket"/>,
/// <see cref="Key"/>), how (<see cref="StoredAsScript"/>, <see cref="LocalScriptPath"/>), which endpoint and
/// credentials secret, and the bookkeeping of uploads that registration fills in. As a script (opt-in, as in
/// Prefect's script based storage) every run fetches the object at the key, so task code can change in the bucket
/// without registering again; frozen (the default), registration uploads the compiled flow and runs fetch that.
/// <see cref="ObjectStorageProvider{TSettings}"/> reads and completes these.
/// </summary>
/// <remarks>
/// A store's record adds its own settings and says what its <see cref="EndpointUrl"/> and
/// <see cref="CredentialsSecret"/> are (their help differs from store to store), and how its URIs start.
/// </remarks>
public abstract record ObjectStorageSettings : StorageSettings
{
    /// <summary>For deserialisation.</summary>
    protected ObjectStorageSettings()
    {
    }

    /// <param name="bucket">The bucket that holds the flow.</param>
    /// <param name="key">The object key; generated at upload when null.</param>
    /// <param name="storedAsScript">True: runs fetch the script. False: registration uploads the compiled flow.</param>
    /// <param name="localScriptPath">A local script that registration uploads to <paramref name="key"/> (script storage).</param>
    /// <param name="endpointUrl">Another endpoint than the store's own; null for the store's.</param>
    /// <param name="credentialsSecret">Name of the secret that holds the credentials; null for the store's default.</param>
    protected ObjectStorageSettings(string bucket, string? key, bool storedAsScript, string? localScriptPath, string? endpointUrl, string? credentialsSecret)
    {
        Bucket = bucket;
        Key = key;
        StoredAsScript = storedAsScript;
        LocalScriptPath = localScriptPath;
        EndpointUrl = endpointUrl;
        CredentialsSecret = credentialsSecret;
    }

    /// <summary>The bucket that holds the flow.</summary>
    [StorageSetting("The bucket that holds the flow.", Mandatory = true)]
    public string Bucket { get; init; } = "";

    /// <summary>The object key; filled in by registration or publishing when it is generated.</summary>
    [StorageSetting("The object key in the bucket. Script storage without a local script path: the script already in the bucket " +
        "(registration checks it). Otherwise where registration (or publishing) uploads; generated as <flow-slug>/<UTC yyyyMMddTHHmmssZ> " +
        "(e.g. etl/20261128T174500Z) when omitted.")]
    public string? Key { get; init; }

    /// <summary>Opt-in script storage, as in Prefect's script based storage.</summary>
    [StorageSetting("Runs fetch the script from the bucket (task code can change without registering again); without it registration uploads the compiled flow.")]
    public bool StoredAsScript { get; init; }

    /// <summary>A local script that registration uploads (absolute once resolved).</summary>
    [StorageSetting("A local script that registration uploads to the key (or to a generated key); script storage only.", LocalPath = StorageSettingPath.File)]
    public string? LocalScriptPath { get; init; }

    /// <summary>Another endpoint than the store's own (a compatible server, an emulator); kept with the flow.</summary>
    public abstract string? EndpointUrl { get; init; }

    /// <summary>Name of the secret holding the credentials, never the credentials; null for the store's default.</summary>
    public abstract string? CredentialsSecret { get; init; }

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

    /// <summary>True when registration uploads (a local script, or the compiled flow); false when it checks an object already there.</summary>
    [JsonIgnore]
    internal bool Uploads => !StoredAsScript || LocalScriptPath is not null;

    /// <summary>The scheme of the store's object URIs: "s3", "gs".</summary>
    protected abstract string UriScheme { get; }

    /// <summary>The start of <see cref="Locator"/> for script storage ("s3", "gcs"; frozen adds "-frozen").</summary>
    protected abstract string LocatorScheme { get; }

    /// <summary>scheme://bucket/key, or scheme://bucket/&lt;slug&gt;/* for a generated key.</summary>
    [JsonIgnore]
    public string ObjectUri => $"{UriScheme}://{Bucket}/{(AutoKeyPrefix is not null ? AutoKeyPrefix + "/*" : Key ?? "(key to be generated)")}";

    public override string Locator
    {
        get
        {
            var locator = $"{LocatorScheme}{(StoredAsScript ? "" : "-frozen")}:{ObjectUri}";
            if (!string.IsNullOrEmpty(EndpointUrl))
            {
                locator += " at " + EndpointUrl;
            }
            return UploadedSha256 is null ? locator : $"{locator}#{UploadedSha256}";
        }
    }

    /// <summary>The endpoint, when given, is an http(s) URL; then the store's own rules (<see cref="ValidateStore"/>).</summary>
    protected sealed override void ValidateSettings()
    {
        if (!string.IsNullOrEmpty(EndpointUrl)
            && !(Uri.TryCreate(EndpointUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            // Only scheme, host and path: a URL with user info must not be repeated.
            var shown = uri?.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) ?? EndpointUrl;
            throw Invalid(nameof(EndpointUrl), $"The {Type} endpoint '{shown}' is not an http:// or https:// URL (e.g. http://127.0.0.1:9000).");
        }
        ValidateStore();
    }

    /// <summary>The store's own rules (bucket and key names); throw <see cref="StorageSettings.Invalid"/>.</summary>
    protected virtual void ValidateStore()
    {
    }

    /// <summary>"S3 script s3://bucket/key" (the key as given, else <see cref="ObjectUri"/>), then <paramref name="suffix"/>.</summary>
    protected string Describe(string suffix = "")
        => $"{Type} {(StoredAsScript ? "script" : "frozen")} {(Key is not null ? $"{UriScheme}://{Bucket}/{Key}" : ObjectUri)}{suffix}";
}
