using Amazon.Runtime;
using Amazon.S3;

namespace Flowstore.Storage.S3;

/// <summary>How the provider retries and times out (the defaults suit Amazon S3; tests shorten them).</summary>
internal sealed record S3ClientOptions
{
    /// <summary>Retries after the first attempt of a call that failed transiently (5xx, throttling, timeout, reset, refused).</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>The first backoff; each later one doubles, with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The time one attempt of a call may take.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The time to open a connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The shared retry policy with these retries and backoff.</summary>
    public StorageRetryOptions Retry => new() { MaxRetries = MaxRetries, BaseDelay = BaseDelay };
}

/// <summary>
/// S3 storage through AWSSDK.S3 (Amazon S3 or an S3-compatible server): the object storage of
/// <see cref="ObjectStorageProvider{TSettings}"/> with the ETag (and the VersionId when the bucket keeps versions)
/// as the storage version. The S3 calls, their retries and errors are <see cref="S3ObjectStore"/>'s.
/// </summary>
public sealed class S3StorageProvider : ObjectStorageProvider<S3Storage>
{
    private readonly S3ClientOptions _options;
    private readonly StorageRetry _retry;

    public S3StorageProvider()
        : this(new S3ClientOptions(), TimeProvider.System)
    {
    }

    internal S3StorageProvider(S3ClientOptions options, TimeProvider? time = null)
        : base(time ?? TimeProvider.System)
    {
        _options = options;
        _retry = new StorageRetry(options.Retry);
    }

    public override string Type => "S3";

    protected override string DisplayName => "S3";

    protected override async Task<IObjectStore> OpenAsync(S3Storage s3, ISecretResolver secrets, Action<string> log, CancellationToken cancellationToken)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = s3.ForcePathStyle,
            // Retries are the shared policy's (StorageRetry around each call); one attempt here.
            MaxErrorRetry = 0,
            Timeout = _options.AttemptTimeout,
            ConnectTimeout = _options.ConnectTimeout,
            // Checksums only where S3 requires them: S3-compatible servers reject or store trailing checksums.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (s3.EndpointUrl is not null)
        {
            config.ServiceURL = s3.EndpointUrl;
            config.AuthenticationRegion = s3.Region ?? "us-east-1";
        }
        else if (s3.Region is not null)
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(s3.Region);
        }
        else if (FallbackRegion() is null)
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.USEast1;
        }

        var credentials = await CredentialsAsync(s3, secrets, cancellationToken).ConfigureAwait(false);
        var client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
        return new S3ObjectStore(client, s3, Endpoint(s3), _retry, log);
    }

    private static string Endpoint(S3Storage s3) => s3.EndpointUrl?.TrimEnd('/') ?? $"Amazon S3 ({s3.Region ?? FallbackRegion()?.SystemName ?? "us-east-1"})";

    private static Amazon.RegionEndpoint? FallbackRegion()
    {
        try
        {
            return Amazon.Runtime.FallbackRegionFactory.GetRegionEndpoint();
        }
        catch (AmazonClientException)
        {
            return null;
        }
    }

    /// <summary>The credentials in the named secret, or null for the SDK's own chain (environment, profile, instance role).</summary>
    private static async Task<AWSCredentials?> CredentialsAsync(S3Storage s3, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        if (s3.CredentialsSecret is not { } name)
        {
            return null;
        }
        var value = await secrets.ResolveAsync(name, cancellationToken).ConfigureAwait(false);
        string? accessKey = null, secretKey = null, sessionToken = null;
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(value);
            if (json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                foreach (var property in json.RootElement.EnumerateObject())
                {
                    var text = property.Value.ValueKind == System.Text.Json.JsonValueKind.String ? property.Value.GetString() : null;
                    switch (property.Name.ToUpperInvariant().Replace("_", "", StringComparison.Ordinal))
                    {
                        case "ACCESSKEY" or "ACCESSKEYID" or "AWSACCESSKEYID":
                            accessKey = text;
                            break;
                        case "SECRETACCESSKEY" or "SECRETKEY" or "AWSSECRETACCESSKEY":
                            secretKey = text;
                            break;
                        case "SESSIONTOKEN" or "AWSSESSIONTOKEN":
                            sessionToken = text;
                            break;
                    }
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // The parser's message may quote the value: say only what is wrong with its shape.
        }
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData,
                $"The secret '{name}' (S3 credentials of {s3}) must be a JSON object with ACCESS_KEY and SECRET_ACCESS_KEY " +
                "(and SESSION_TOKEN for temporary credentials), or accessKeyId, secretAccessKey and sessionToken.")
            { Target = name, Hint = FlowHint.SetSecret(name) };
        }
        return string.IsNullOrEmpty(sessionToken)
            ? new BasicAWSCredentials(accessKey, secretKey)
            : new SessionAWSCredentials(accessKey, secretKey, sessionToken);
    }
}
