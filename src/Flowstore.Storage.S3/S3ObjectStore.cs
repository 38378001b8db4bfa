using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Flowstore.Storage.S3;

/// <summary>
/// The S3 calls of one storage on one client: get (at an ETag or VersionId when pinned), put with the body's MD5,
/// and head. Transient failures (5xx, throttling, timeouts, connections reset or refused) are retried by the shared
/// <see cref="StorageRetry"/> policy; the SDK's own retry is off so that the attempts are counted in one place (the
/// SDK's retry skips some socket failures, e.g. a connection reset on connect).
/// </summary>
internal sealed class S3ObjectStore(IAmazonS3 client, S3Storage s3, string endpoint, StorageRetry retry, Action<string> log) : IObjectStore
{
    private const string VersionSeparator = ";versionId=";

    public string VersionNoun => "version";

    public string UriOf(string key) => $"s3://{s3.Bucket}/{key}";

    public void Dispose() => client.Dispose();

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

    public async Task<StoredObject> GetAsync(string key, string? pinnedVersion, CancellationToken cancellationToken)
    {
        string? pinnedTag = null, pinnedVersionId = null;
        if (pinnedVersion is not null)
        {
            (pinnedTag, pinnedVersionId) = ParseVersion(pinnedVersion);
        }
        try
        {
            var stored = await RetryAsync(key, "fetch", async ct =>
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
                return new StoredObject(buffer.ToArray(), FormatVersion(response.ETag ?? "", response.VersionId));
            }, cancellationToken).ConfigureAwait(false);
            if (pinnedVersionId is null && pinnedTag is not null && !string.Equals(ParseVersion(stored.Version).ETag, pinnedTag, StringComparison.Ordinal))
            {
                // Servers that ignore If-Match end here.
                throw PinnedUnavailable(key, pinnedVersion!, stored.Version);
            }
            return stored;
        }
        catch (AmazonS3Exception e) when (pinnedVersion is not null
            && (e.StatusCode == HttpStatusCode.PreconditionFailed || e.ErrorCode is "NoSuchVersion" || (e.ErrorCode is "InvalidArgument" && pinnedVersionId is not null)))
        {
            throw PinnedUnavailable(key, pinnedVersion, null);
        }
        catch (Exception e) when (e is not FlowstoreException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw Translate(e, key, "fetch");
        }
    }

    public async Task<string> PutAsync(string key, ObjectUpload upload, CancellationToken cancellationToken)
    {
        var md5 = Convert.ToBase64String(MD5.HashData(upload.Body));
        try
        {
            return await RetryAsync(key, "upload", async ct =>
            {
                var request = new PutObjectRequest
                {
                    BucketName = s3.Bucket,
                    Key = key,
                    InputStream = new MemoryStream(upload.Body, writable: false),
                    ContentType = upload.IsScript ? "text/plain; charset=utf-8" : "application/octet-stream",
                    // S3-compatible servers (s3rver) store aws-chunked bodies verbatim; a plain signed body works everywhere.
                    UseChunkEncoding = false,
                    // The server checks the body against its MD5, so a corrupted upload is refused rather than stored.
                    MD5Digest = md5,
                };
                request.Metadata.Add(ObjectUpload.ScriptShaMetadata, upload.ScriptSha256);
                if (upload.Sent is { } sent)
                {
                    request.StreamTransferProgress += (_, e) => sent(e.TransferredBytes);
                }
                var response = await client.PutObjectAsync(request, ct).ConfigureAwait(false);
                return FormatVersion(response.ETag ?? "", response.VersionId);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not FlowstoreException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw Translate(e, key, "upload");
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await RetryAsync(key, "upload", async ct => await client.GetObjectMetadataAsync(s3.Bucket, key, ct).ConfigureAwait(false), cancellationToken)
                .ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Free (or the bucket is missing, which the upload then reports by name).
            return false;
        }
        catch (Exception e) when (e is not FlowstoreException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw Translate(e, key, "upload");
        }
    }

    /// <summary>
    /// Runs one S3 call under the shared retry policy: transient failures are retried with backoff; when the
    /// attempts run out the last failure is translated like any other (StorageUnavailable or StorageRateLimited).
    /// </summary>
    private Task<T> RetryAsync<T>(string key, string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
        => retry.ExecuteAsync(new StorageCall<T>($"S3 at {endpoint}", $"{operation} of {UriOf(key)}")
        {
            OnException = e => IsTransient(e, cancellationToken) ? RetryVerdict.Transient(Describe(e)) : RetryVerdict.Stop,
            Log = log,
            Unavailable = failure => Translate(failure.Exception!, key, operation),
            Target = UriOf(key),
        }, call, cancellationToken);

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

    // ---------------------------------------------------------------- errors

    private FlowstoreException PinnedUnavailable(string key, string pinned, string? now)
        => new(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
            $"Version {pinned} of {UriOf(key)} is no longer available" +
            (now is null ? "" : $" (the object is now version {now})") +
            "; the bucket keeps only the current object unless versioning is enabled.")
        { Target = UriOf(key), Hint = FlowHint.RunUnpinned() };

    /// <summary>Turns an SDK or network failure into an error that names the bucket, key and endpoint, without echoing credentials.</summary>
    private FlowstoreException Translate(Exception error, string key, string operation)
    {
        var uri = UriOf(key);
        var where = endpoint;
        var failed = operation == "upload" ? ErrorIds.StoragePublishFailed : ErrorIds.StorageFetchFailed;
        var s3Error = Find<AmazonS3Exception>(error);
        if (s3Error is not null && s3Error.StatusCode != 0)
        {
            var code = s3Error.ErrorCode;
            var status = (int)s3Error.StatusCode;
            if (code is "NoSuchBucket")
            {
                return new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"The S3 bucket '{s3.Bucket}' does not exist at {where}; create it, or correct the bucket name.", error)
                { Target = uri, Hint = FlowHint.StorageSetting("S3", "Bucket") };
            }
            if (code is "NoSuchKey" || status == 404)
            {
                return new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"The S3 object {uri} does not exist (bucket '{s3.Bucket}', key '{key}', at {where}); publish the script to it first, " +
                    "or name a local script that registration uploads.", error) { Target = uri, Hint = FlowHint.PublishScript() };
            }
            if (status is 401 or 403 || code is "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken")
            {
                return new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                    $"S3 refused to {operation} {uri} at {where} ({code ?? status.ToString(CultureInfo.InvariantCulture)}): " +
                    (s3.CredentialsSecret is null
                        ? "check the AWS credentials the SDK found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE) or name a credentials secret, and their access to the bucket."
                        : $"check the credentials in the secret '{s3.CredentialsSecret}' and their access to bucket '{s3.Bucket}'."), error)
                {
                    Target = uri,
                    Hint = s3.CredentialsSecret is null ? FlowHint.StorageSetting("S3", "CredentialsSecret") : FlowHint.SetSecret(s3.CredentialsSecret),
                };
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
                "or name a Flowstore credentials secret in the storage.", error) { Target = uri, Hint = FlowHint.StorageSetting("S3", "CredentialsSecret") };
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
}
