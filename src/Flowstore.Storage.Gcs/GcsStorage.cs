using System.Text.RegularExpressions;

[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.Gcs.GcsStorageProvider))]

namespace Flowstore;

/// <summary>
/// Google Cloud Storage. As a script (<see cref="ObjectStorageSettings.StoredAsScript"/>, opt-in as in the seed), every run downloads the
/// object at <see cref="ObjectStorageSettings.Key"/> in <see cref="ObjectStorageSettings.Bucket"/>, so task code can change by uploading the object again.
/// Frozen (the default), registration uploads the compiled flow and runs download it.
/// </summary>
/// <remarks>
/// With <see cref="ObjectStorageSettings.LocalScriptPath"/>, or with script storage and no key (a key is then generated as
/// <c>&lt;flow-slug&gt;/&lt;utc timestamp&gt;</c>), registration uploads the local script. With a key and no local
/// path, registration checks that the object exists and declares the flow with the structure being registered.
/// Credentials are never kept here: <see cref="CredentialsSecret"/> names a secret that holds a service-account JSON
/// key; without it Application Default Credentials are used, or no credentials at all when <see cref="EndpointUrl"/>
/// points at an emulator.
/// </remarks>
public sealed partial record GcsStorage : ObjectStorageSettings
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
        : base(bucket, key, storedAsScript, localScriptPath, endpointUrl, credentialsSecret)
    {
        Project = project;
    }

    public override string Type => "Gcs";

    /// <summary>The Google Cloud project billed for the requests (quota project).</summary>
    [StorageSetting("The Google Cloud project billed for the requests (quota project); defaults to the credential's.")]
    public string? Project { get; init; }

    /// <summary>An endpoint other than Google's (an emulator); kept with the flow.</summary>
    [StorageSetting("Another endpoint than Google's, e.g. an emulator (http://127.0.0.1:9199); kept with the flow.")]
    public override string? EndpointUrl { get; init; }

    /// <summary>Name of the secret holding a service-account JSON key; never the key itself.</summary>
    [StorageSetting("Name of the secret (a Flowstore secret, environment variable or vault) that holds a service-account JSON key. " +
        "Without it, Application Default Credentials are used, or none with an endpoint URL.", Secret = true)]
    public override string? CredentialsSecret { get; init; }

    protected override string UriScheme => "gs";

    protected override string LocatorScheme => "gcs";

    /// <summary>A valid bucket name, an object name GCS accepts.</summary>
    protected override void ValidateStore()
    {
        if (!BucketName().IsMatch(Bucket))
        {
            throw Invalid(nameof(Bucket), $"'{Bucket}' is not a valid GCS bucket name: 3-63 (or up to 222 with dots) lowercase letters, digits, '-', '_' and '.', " +
                "starting and ending with a letter or digit.", Bucket);
        }
        if (Key is { Length: > 0 } key && (key.Length > 1024 || key.Contains('\n') || key.Contains('\r')))
        {
            throw Invalid(nameof(Key), $"'{key}' is not a valid GCS object name (at most 1024 bytes, no line breaks).", key);
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$")]
    private static partial Regex BucketName();

    public override string ToString()
        => Describe(string.IsNullOrEmpty(EndpointUrl) ? "" : $" at {Storage.Gcs.GcsConnection.DisplayEndpoint(EndpointUrl)}");
}
