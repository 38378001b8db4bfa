using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Polly;
using Polly.Retry;

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
}

/// <summary>
/// S3 storage through AWSSDK.S3: uploads the script (or the compiled flow) at registration or on publish,
/// fetches it at run time with its ETag (and VersionId when the bucket keeps versions) as the storage version.
/// Transient failures (5xx, throttling, timeouts, connections reset or refused) are retried with exponential
/// backoff and jitter by one Polly pipeline around each call; the SDK's own retry is off so that the attempts
/// are counted in one place (the SDK's retry skips some socket failures, e.g. a connection reset on connect).
/// </summary>
public sealed class S3StorageProvider : IStorageProvider
{
    private const string VersionSeparator = ";versionId=";
    private readonly S3ClientOptions _options;

    public S3StorageProvider()
        : this(new S3ClientOptions())
    {
    }

    internal S3StorageProvider(S3ClientOptions options) => _options = options;

    public string Type => "S3";

    public Type SettingsType => typeof(S3Storage);

    // ---------------------------------------------------------------- registration

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var s3 = (S3Storage)settings.Clone();
        Validate(s3);
        if (!s3.StoredAsScript && s3.LocalScriptPath is not null)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"S3 storage of flow '{context.Flow}': LocalScriptPath applies to script storage; add -StoredAsScript " +
                "(storedAsScript: true), or leave LocalScriptPath out to upload the compiled flow.") { Target = s3.LocalScriptPath };
        }
        if (s3.StoredAsScript && s3.Key is null && s3.LocalScriptPath is null)
        {
            // The seed: registering a script-mode flow with no key uploads the registered file.
            s3.LocalScriptPath = context.ScriptPath;
        }
        if (!s3.Uploads)
        {
            // A key and no local script: runs fetch what is there; code changes there need no registration.
            s3.AutoKeyPrefix = null;
            s3.UploadedSha256 = null;
            return s3;
        }
        if (s3.Key is null || s3.AutoKeyPrefix is not null)
        {
            // Generated at upload (PrepareRegistrationAsync); the key of the registration covers only the prefix.
            s3.Key = null;
            s3.AutoKeyPrefix = context.FlowSlug;
        }
        string sha;
        if (!s3.StoredAsScript)
        {
            // Frozen: the compiled flow of the registered script is what gets uploaded.
            sha = context.ScriptSha256;
        }
        else
        {
            s3.LocalScriptPath = Path.GetFullPath(s3.LocalScriptPath!, Path.GetDirectoryName(context.ScriptPath)!);
            // Read locally (nothing is uploaded here): the SHA of what will be uploaded belongs to the registration key.
            sha = string.Equals(s3.LocalScriptPath, context.ScriptPath, StringComparison.Ordinal)
                ? context.ScriptSha256
                : FlowStructure.Sha256Hex(ReadLocalScript(s3.LocalScriptPath, context.Flow));
        }
        s3.UploadedSha256 = sha[..16];
        return s3;
    }

    public async Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var s3 = (S3Storage)settings.Clone();
        using var client = await CreateClientAsync(s3, context.Secrets, cancellationToken).ConfigureAwait(false);
        if (!s3.Uploads)
        {
            // A key and no local script: the object must be there and declare this flow with this structure.
            var key = s3.Key!;
            var (bytes, version) = await GetAsync(client, s3, key, null, context.Log, cancellationToken).ConfigureAwait(false);
            var uri = UriOf(s3, key);
            if (context.CheckStoredScript is { } check)
            {
                await check(Encoding.UTF8.GetString(bytes), uri, cancellationToken).ConfigureAwait(false);
            }
            context.Log($"Flow '{context.Flow}': runs will fetch {uri} (now version {version}).");
            return s3;
        }

        byte[] body;
        string contentType;
        if (s3.StoredAsScript)
        {
            var local = s3.LocalScriptPath!;
            if (string.Equals(local, context.ScriptPath, StringComparison.Ordinal))
            {
                body = Encoding.UTF8.GetBytes(context.ScriptSource);
            }
            else
            {
                var text = ReadLocalScript(local, context.Flow);
                if (context.CheckStoredScript is { } check)
                {
                    // Another file than the registered one: it must declare the same flow before it goes up.
                    await check(text, local, cancellationToken).ConfigureAwait(false);
                }
                body = Encoding.UTF8.GetBytes(text);
            }
            contentType = "text/plain; charset=utf-8";
        }
        else
        {
            body = await context.CompiledAssembly(cancellationToken).ConfigureAwait(false);
            contentType = "application/octet-stream";
        }

        var target = s3.AutoKeyPrefix is not null
            ? await GenerateKeyAsync(client, s3, context.FlowSlug, s3.StoredAsScript ? "" : ".dll", context.Log, cancellationToken).ConfigureAwait(false)
            : s3.Key!;
        var uploaded = await PutAsync(client, s3, target, body, contentType,
            s3.StoredAsScript ? FlowStructure.Sha256Hex(body) : context.ScriptSha256, context.Progress,
            $"Uploading {(s3.StoredAsScript ? s3.LocalScriptPath : "the compiled flow '" + context.Flow + "'")} to {UriOf(s3, target)}",
            context.Log, cancellationToken).ConfigureAwait(false);
        s3.Key = target;
        context.Log($"Flow '{context.Flow}': {(s3.StoredAsScript ? "script" : "compiled flow")} uploaded to {UriOf(s3, target)} (version {uploaded}).");
        return s3;
    }

    // ---------------------------------------------------------------- publishing

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var s3 = (S3Storage)settings.Clone();
        Validate(s3);
        if (!s3.StoredAsScript)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Publish-FlowScript uploads scripts, but this S3 storage is frozen (registration uploads the compiled flow of '{context.ScriptPath}'). " +
                "Add -StoredAsScript (storedAsScript: true) to publish the script, or register without publishing.") { Target = context.ScriptPath };
        }
        if (s3.LocalScriptPath is not null
            && !string.Equals(Path.GetFullPath(s3.LocalScriptPath, Path.GetDirectoryName(context.ScriptPath)!), context.ScriptPath, StringComparison.Ordinal))
        {
            context.Warn($"Publishing '{context.ScriptPath}'; the storage's LocalScriptPath '{s3.LocalScriptPath}' is not uploaded.");
        }
        using var client = await CreateClientAsync(s3, context.Secrets, cancellationToken).ConfigureAwait(false);
        var key = s3.Key ?? await GenerateKeyAsync(client, s3, context.FlowSlug, "", context.Log, cancellationToken).ConfigureAwait(false);
        var version = await PutAsync(client, s3, key, Encoding.UTF8.GetBytes(context.ScriptSource), "text/plain; charset=utf-8",
            context.ScriptSha256, context.Progress, $"Uploading {context.ScriptPath} to {UriOf(s3, key)}", context.Log, cancellationToken).ConfigureAwait(false);
        // The published object is now the script runs fetch: registration checks it instead of uploading again.
        s3.Key = key;
        s3.AutoKeyPrefix = null;
        s3.LocalScriptPath = null;
        s3.UploadedSha256 = null;
        context.Log($"Published '{context.ScriptPath}' to {UriOf(s3, key)} (version {version}).");
        return new PublishedFlowSource(s3, version, UriOf(s3, key));
    }

    // ---------------------------------------------------------------- runs

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var s3 = (S3Storage)settings;
        Validate(s3);
        var key = s3.Key ?? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData,
            $"S3 storage {s3} names no object key; register the flow again.");
        using var client = await CreateClientAsync(s3, secrets, cancellationToken).ConfigureAwait(false);
        var (bytes, version) = await GetAsync(client, s3, key, pinnedVersion, null, cancellationToken).ConfigureAwait(false);
        var sha = FlowStructure.Sha256Hex(bytes);
        var origin = UriOf(s3, key);
        return s3.StoredAsScript
            ? new FetchedFlowSource(Encoding.UTF8.GetString(bytes), null, sha, version, origin)
            : new FetchedFlowSource(null, bytes, sha, version, origin);
    }

    // ---------------------------------------------------------------- S3 calls

    /// <summary>The storage version recorded with a run: the ETag, and the VersionId when the bucket keeps versions.</summary>
    internal static string FormatVersion(string etag, string? versionId)
    {
        var tag = etag.Trim('"');
        return string.IsNullOrEmpty(versionId) || versionId == "null" ? tag : tag + VersionSeparator + versionId;
    }

    internal static (string ETag, string? VersionId) ParseVersion(string version)
    {
        var at = version.IndexOf(VersionSeparator, StringComparison.Ordinal);
        return at < 0 ? (version.Trim('"'), null) : (version[..at].Trim('"'), version[(at + VersionSeparator.Length)..]);
    }

    private async Task<(byte[] Bytes, string Version)> GetAsync(IAmazonS3 client, S3Storage s3, string key, string? pinnedVersion,
        Action<string>? log, CancellationToken cancellationToken)
    {
        string? pinnedTag = null, pinnedVersionId = null;
        if (pinnedVersion is not null)
        {
            (pinnedTag, pinnedVersionId) = ParseVersion(pinnedVersion);
        }
        try
        {
            var (bytes, version) = await RetryAsync(s3, key, "fetch", log, async ct =>
            {
                var request = new GetObjectRequest { BucketName = s3.Bucket, Key = key };
                if (pinnedVersionId is not null)
                {
                    request.VersionId = pinnedVersionId;
                }
                else if (pinnedTag is not null)
                {
                    request.EtagToMatch = $"\"{pinnedTag}\"";
                }
                using var response = await client.GetObjectAsync(request, ct).ConfigureAwait(false);
                using var buffer = new MemoryStream(response.ContentLength > 0 ? (int)Math.Min(response.ContentLength, int.MaxValue) : 4096);
                await response.ResponseStream.CopyToAsync(buffer, ct).ConfigureAwait(false);
                return (buffer.ToArray(), FormatVersion(response.ETag ?? "", response.VersionId));
            }, cancellationToken).ConfigureAwait(false);
            if (pinnedVersionId is null && pinnedTag is not null && !string.Equals(ParseVersion(version).ETag, pinnedTag, StringComparison.Ordinal))
            {
                // Servers that ignore If-Match end here.
                throw PinnedUnavailable(s3, key, pinnedVersion!, version);
            }
            return (bytes, version);
        }
        catch (AmazonS3Exception e) when (pinnedVersion is not null
            && (e.StatusCode == HttpStatusCode.PreconditionFailed || e.ErrorCode is "NoSuchVersion" || (e.ErrorCode is "InvalidArgument" && pinnedVersionId is not null)))
        {
            throw PinnedUnavailable(s3, key, pinnedVersion, null);
        }
        catch (Exception e) when (e is not FlowstoreException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw Translate(e, s3, key, "fetch");
        }
    }

    private async Task<string> PutAsync(IAmazonS3 client, S3Storage s3, string key, byte[] body, string contentType, string? sha256,
        IProgress<StorageProgress>? progress, string activity, Action<string>? log, CancellationToken cancellationToken)
    {
        var md5 = Convert.ToBase64String(MD5.HashData(body));
        progress?.Report(new StorageProgress(activity, $"0 of {Size(body.Length)}", 0));
        try
        {
            var version = await RetryAsync(s3, key, "upload", log, async ct =>
            {
                var request = new PutObjectRequest
                {
                    BucketName = s3.Bucket,
                    Key = key,
                    InputStream = new MemoryStream(body, writable: false),
                    ContentType = contentType,
                    // S3-compatible servers (s3rver) store aws-chunked bodies verbatim; a plain signed body works everywhere.
                    UseChunkEncoding = false,
                    // The server checks the body against its MD5, so a corrupted upload is refused rather than stored.
                    MD5Digest = md5,
                };
                if (sha256 is not null)
                {
                    request.Metadata.Add("flowstore-script-sha256", sha256);
                }
                request.StreamTransferProgress += (_, e) =>
                    progress?.Report(new StorageProgress(activity, $"{Size(e.TransferredBytes)} of {Size(e.TotalBytes)}", Math.Min(99, e.PercentDone)));
                var response = await client.PutObjectAsync(request, ct).ConfigureAwait(false);
                return FormatVersion(response.ETag ?? "", response.VersionId);
            }, cancellationToken).ConfigureAwait(false);
            progress?.Report(new StorageProgress(activity, $"{Size(body.Length)} uploaded", 100));
            return version;
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw Translate(e, s3, key, "upload");
        }
    }

    /// <summary>
    /// A key for a flow that names none: <c>&lt;flow-slug&gt;/&lt;UTC yyyyMMddTHHmmssZ&gt;&lt;suffix&gt;</c>, with
    /// <c>-2</c>, <c>-3</c>, ... appended when an object of that name already exists (two uploads in one second).
    /// </summary>
    private Task<string> GenerateKeyAsync(IAmazonS3 client, S3Storage s3, string slug, string suffix, Action<string>? log, CancellationToken cancellationToken)
        => GeneratedKeys.FirstFreeAsync(slug, DateTimeOffset.UtcNow, suffix, async (key, ct) =>
        {
            try
            {
                await RetryAsync(s3, key, "upload", log,
                    async c => await client.GetObjectMetadataAsync(s3.Bucket, key, c).ConfigureAwait(false), ct).ConfigureAwait(false);
                return true;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                // Free (or the bucket is missing, which the upload then reports by name).
                return false;
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                throw Translate(e, s3, key, "upload");
            }
        }, cancellationToken);

    /// <summary>Runs one S3 call, retrying transient failures with exponential backoff and jitter.</summary>
    private async Task<T> RetryAsync<T>(S3Storage s3, string key, string operation, Action<string>? log,
        Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, _options.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.BaseDelay,
                MaxDelay = TimeSpan.FromSeconds(20),
                ShouldHandle = args => ValueTask.FromResult(
                    _options.MaxRetries > 0 && args.Outcome.Exception is { } e && IsTransient(e, cancellationToken)),
                OnRetry = args =>
                {
                    log?.Invoke($"S3 {operation} of {UriOf(s3, key)} at {Endpoint(s3)} failed ({Describe(args.Outcome.Exception!)}); " +
                        $"retry {args.AttemptNumber + 1} of {_options.MaxRetries} in {args.RetryDelay.TotalSeconds:0.0} s.");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        return await pipeline.ExecuteAsync(async ct => await call(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Failures worth another attempt: the server's 5xx and throttling, timeouts, and connections reset or refused.</summary>
    internal static bool IsTransient(Exception error, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        if (Find<AmazonServiceException>(error) is { } service && service.StatusCode != 0)
        {
            var status = (int)service.StatusCode;
            return status >= 500 || status is 408 or 429
                || service.ErrorCode is "SlowDown" or "RequestTimeout" or "Throttling" or "ThrottlingException" or "RequestTimeTooSkewed";
        }
        return IsNetworkFailure(error);
    }

    private async Task<AmazonS3Client> CreateClientAsync(S3Storage s3, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = s3.ForcePathStyle,
            // Retries are the pipeline's (RetryAsync); one attempt here.
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
        return credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }

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
                "(and SESSION_TOKEN for temporary credentials), or accessKeyId, secretAccessKey and sessionToken; " +
                $"set it with Set-FlowSecret -Name '{name}'.") { Target = name };
        }
        return string.IsNullOrEmpty(sessionToken)
            ? new BasicAWSCredentials(accessKey, secretKey)
            : new SessionAWSCredentials(accessKey, secretKey, sessionToken);
    }

    // ---------------------------------------------------------------- errors

    private static FlowstoreException PinnedUnavailable(S3Storage s3, string key, string pinned, string? now)
        => new(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
            $"Version {pinned} of {UriOf(s3, key)} is no longer available" +
            (now is null ? "" : $" (the object is now version {now})") +
            "; the bucket keeps only the current object unless versioning is enabled. Run without -Pinned to use the current script.")
        { Target = UriOf(s3, key) };

    /// <summary>Turns an SDK or network failure into an error that names the bucket, key and endpoint, without echoing credentials.</summary>
    internal static FlowstoreException Translate(Exception error, S3Storage s3, string key, string operation)
    {
        var uri = UriOf(s3, key);
        var where = Endpoint(s3);
        var failed = operation == "upload" ? ErrorIds.StoragePublishFailed : ErrorIds.StorageFetchFailed;
        var s3Error = Find<AmazonS3Exception>(error);
        if (s3Error is not null && s3Error.StatusCode != 0)
        {
            var code = s3Error.ErrorCode;
            var status = (int)s3Error.StatusCode;
            if (code is "NoSuchBucket")
            {
                return new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"The S3 bucket '{s3.Bucket}' does not exist at {where}; create it or correct -Bucket.", error) { Target = uri };
            }
            if (code is "NoSuchKey" || status == 404)
            {
                return new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"The S3 object {uri} does not exist (bucket '{s3.Bucket}', key '{key}', at {where}); upload it first " +
                    "(Publish-FlowScript -Path <file>), or give -LocalScriptPath so registration uploads it.", error) { Target = uri };
            }
            if (status is 401 or 403 || code is "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken")
            {
                return new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                    $"S3 refused to {operation} {uri} at {where} ({code ?? status.ToString(CultureInfo.InvariantCulture)}): " +
                    (s3.CredentialsSecret is null
                        ? "check the AWS credentials the SDK found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE) or name a secret with -CredentialsSecret, and their access to the bucket."
                        : $"check the credentials in the secret '{s3.CredentialsSecret}' and their access to bucket '{s3.Bucket}'."), error) { Target = uri };
            }
            if (code is "SlowDown" || status == 429)
            {
                return new FlowstoreException(ErrorIds.StorageRateLimited, FlowErrorKind.ConnectionError,
                    $"S3 kept asking to slow down while trying to {operation} {uri} at {where}, after retries; try again later.", error) { Target = uri };
            }
            if (status >= 500)
            {
                return new FlowstoreException(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
                    $"S3 at {where} failed to {operation} {uri} (HTTP {status} {code}) after retries; bucket '{s3.Bucket}'. Try again later.", error) { Target = uri };
            }
            return new FlowstoreException(failed, FlowErrorKind.InvalidOperation,
                $"S3 could not {operation} {uri} at {where}: HTTP {status} {code}.", error) { Target = uri };
        }
        if (IsNetworkFailure(error))
        {
            return new FlowstoreException(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
                $"S3 at {where} could not be reached to {operation} {uri} (bucket '{s3.Bucket}') after retries: {Describe(error)}. " +
                "Check the endpoint and the network, then try again.", error) { Target = uri };
        }
        if (error is AmazonClientException && error.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase))
        {
            return new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                $"No AWS credentials found to {operation} {uri}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, " +
                "or name a Flowstore secret with -CredentialsSecret.", error) { Target = uri };
        }
        return new FlowstoreException(failed, FlowErrorKind.InvalidOperation,
            $"S3 could not {operation} {uri} at {where}: {error.GetType().Name}.", error) { Target = uri };
    }

    private static bool IsNetworkFailure(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException or IOException or TimeoutException or OperationCanceledException)
            {
                return true;
            }
        }
        return false;
    }

    private static string Describe(Exception error)
    {
        if (Find<TimeoutException>(error) is not null)
        {
            return "timed out";
        }
        if (Find<AmazonServiceException>(error) is { StatusCode: not 0 } service)
        {
            return $"HTTP {(int)service.StatusCode} {service.ErrorCode}".TrimEnd();
        }
        var socket = Find<SocketException>(error);
        if (socket is not null)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.ConnectionReset => "connection reset",
                SocketError.TimedOut => "timed out",
                SocketError.HostNotFound or SocketError.NoData => "host not found",
                var other => other.ToString(),
            };
        }
        return Find<TimeoutException>(error) is not null || Find<OperationCanceledException>(error) is not null
            ? "timed out"
            : Find<IOException>(error) is not null ? "connection closed" : "network failure";
    }

    private static T? Find<T>(Exception error) where T : Exception
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- helpers

    private static void Validate(S3Storage s3)
    {
        if (string.IsNullOrWhiteSpace(s3.Bucket))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                "S3 storage needs a bucket (-Bucket, bucket:).");
        }
        if (s3.EndpointUrl is not null && !System.Uri.TryCreate(s3.EndpointUrl, UriKind.Absolute, out _))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"The S3 endpoint '{s3.EndpointUrl}' is not an absolute URL (e.g. http://127.0.0.1:9000).") { Target = s3.EndpointUrl };
        }
    }

    private static string ReadLocalScript(string path, string flow)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FlowstoreException(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound,
                $"The local script '{path}' that S3 storage of flow '{flow}' uploads does not exist.", e) { Target = path };
        }
    }

    internal static string UriOf(S3Storage s3, string key) => $"s3://{s3.Bucket}/{key}";

    private static string Endpoint(S3Storage s3) => s3.EndpointUrl?.TrimEnd('/') ?? $"Amazon S3 ({s3.Region ?? FallbackRegion()?.SystemName ?? "us-east-1"})";

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KB",
        _ => $"{bytes / (1024.0 * 1024):0.#} MB",
    };
}
