using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.Gcs.GcsStorageProvider))]

namespace Flowstore;

/// <summary>
/// Google Cloud Storage. As a script (<see cref="StoredAsScript"/>, opt-in as in the seed), every run downloads the
/// object at <see cref="Key"/> in <see cref="Bucket"/>, so task code can change by uploading the object again.
/// Frozen (the default), registration uploads the compiled flow and runs download it.
/// </summary>
/// <remarks>
/// With <see cref="LocalScriptPath"/>, or with script storage and no key (a key is then generated as
/// <c>&lt;flow-slug&gt;/&lt;utc timestamp&gt;</c>), registration uploads the local script. With a key and no local
/// path, registration checks that the object exists and declares the flow with the structure being registered.
/// Credentials are never kept here: <see cref="CredentialsSecret"/> names a secret that holds a service-account JSON
/// key; without it Application Default Credentials are used, or no credentials at all when <see cref="EndpointUrl"/>
/// points at an emulator.
/// </remarks>
public sealed partial record GcsStorage : StorageSettings
{
    /// <summary>For deserialisation.</summary>
    public GcsStorage()
    {
    }

    /// <param name="bucket">The bucket that holds the flow.</param>
    /// <param name="key">The object name in the bucket; generated as &lt;flow-slug&gt;/&lt;utc timestamp&gt; when registration uploads and none is given.</param>
    /// <param name="project">The Google Cloud project billed for the requests (quota project); defaults to the credential's.</param>
    /// <param name="storedAsScript">True: runs download the script. False (default): registration uploads the compiled flow.</param>
    /// <param name="localScriptPath">A local script that registration uploads to <paramref name="key"/> (script storage).</param>
    /// <param name="endpointUrl">Another endpoint than Google's, e.g. an emulator at http://127.0.0.1:9199.</param>
    /// <param name="credentialsSecret">Name of the secret that holds a service-account JSON key.</param>
    public GcsStorage(string bucket, string? key = null, string? project = null, bool storedAsScript = false,
        string? localScriptPath = null, string? endpointUrl = null, string? credentialsSecret = null)
    {
        Bucket = bucket;
        Key = key;
        Project = project;
        StoredAsScript = storedAsScript;
        LocalScriptPath = localScriptPath;
        EndpointUrl = endpointUrl;
        CredentialsSecret = credentialsSecret;
    }

    public override string Type => "Gcs";

    /// <summary>The bucket that holds the flow.</summary>
    [StorageSetting("The bucket that holds the flow.", Mandatory = true)]
    public string Bucket { get; init; } = "";

    /// <summary>The object name; filled in by registration or publishing when it is generated.</summary>
    [StorageSetting("The object name in the bucket. Without it, registration (or publishing) uploads the script to a generated key, " +
        "<flow-slug>/<utc timestamp> (e.g. etl/20261128T174500Z).")]
    public string? Key { get; init; }

    /// <summary>The Google Cloud project billed for the requests (quota project).</summary>
    [StorageSetting("The Google Cloud project billed for the requests (quota project); defaults to the credential's.")]
    public string? Project { get; init; }

    /// <summary>Opt-in script storage, as in the seed.</summary>
    [StorageSetting("Runs download the script (script storage); without it registration uploads the compiled flow.")]
    public bool StoredAsScript { get; init; }

    /// <summary>A local script that registration uploads (absolute once registered).</summary>
    [StorageSetting("A local script that registration uploads to the key (or to a generated key); script storage only.", LocalPath = StorageSettingPath.File)]
    public string? LocalScriptPath { get; init; }

    /// <summary>An endpoint other than Google's (an emulator); kept with the flow.</summary>
    [StorageSetting("Another endpoint than Google's, e.g. an emulator (http://127.0.0.1:9199); kept with the flow.")]
    public string? EndpointUrl { get; init; }

    /// <summary>Name of the secret holding a service-account JSON key; never the key itself.</summary>
    [StorageSetting("Name of the secret (a Flowstore secret, environment variable or vault) that holds a service-account JSON key. " +
        "Without it, Application Default Credentials are used, or none with an endpoint URL.", Secret = true)]
    public string? CredentialsSecret { get; init; }

    /// <summary>
    /// Set by registration when the key is generated: the flow's slug, the generated key's prefix. The registration
    /// key covers this prefix instead of the timestamp, so registering an unchanged file again is Skipped.
    /// </summary>
    [JsonInclude]
    internal string? AutoKeyPrefix { get; init; }

    /// <summary>
    /// Set by registration when it uploads: the first 16 hex digits of the SHA-256 of what is uploaded (the local
    /// script for script storage, the registered script for frozen storage), so a changed file is a new version.
    /// </summary>
    [JsonInclude]
    internal string? UploadedSha256 { get; init; }

    public override bool IsScript => StoredAsScript;

    /// <summary>gs://bucket/key, or gs://bucket/&lt;slug&gt;/* for a generated key.</summary>
    [JsonIgnore]
    public string ObjectUri => $"gs://{Bucket}/{(AutoKeyPrefix is not null ? AutoKeyPrefix + "/*" : Key ?? "(key to be generated)")}";

    public override string Locator
    {
        get
        {
            var locator = (StoredAsScript ? "gcs:" : "gcs-frozen:") + ObjectUri;
            if (!string.IsNullOrEmpty(EndpointUrl))
            {
                locator += " at " + EndpointUrl;
            }
            return UploadedSha256 is null ? locator : $"{locator}#{UploadedSha256}";
        }
    }

    /// <summary>A valid bucket name, an http(s) endpoint, an object name GCS accepts.</summary>
    protected override void ValidateSettings()
    {
        if (!BucketName().IsMatch(Bucket))
        {
            throw Invalid(nameof(Bucket), $"'{Bucket}' is not a valid GCS bucket name: 3-63 (or up to 222 with dots) lowercase letters, digits, '-', '_' and '.', " +
                "starting and ending with a letter or digit.", Bucket);
        }
        if (!string.IsNullOrEmpty(EndpointUrl)
            && !(Uri.TryCreate(EndpointUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            throw Invalid(nameof(EndpointUrl), $"The GCS endpoint '{Storage.Gcs.GcsConnection.DisplayEndpoint(EndpointUrl)}' is not an http:// or https:// URL.");
        }
        if (Key is { Length: > 0 } key && (key.Length > 1024 || key.Contains('\n') || key.Contains('\r')))
        {
            throw Invalid(nameof(Key), $"'{key}' is not a valid GCS object name (at most 1024 bytes, no line breaks).", key);
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$")]
    private static partial Regex BucketName();

    public override string ToString()
    {
        var where = (Key is not null ? $"gs://{Bucket}/{Key}" : ObjectUri)
            + (string.IsNullOrEmpty(EndpointUrl) ? "" : $" at {Storage.Gcs.GcsConnection.DisplayEndpoint(EndpointUrl)}");
        return StoredAsScript ? $"Gcs script {where}" : $"Gcs frozen {where}";
    }
}
