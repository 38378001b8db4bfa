using System.Net;
using System.Net.Sockets;
using Google;
using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Polly.Timeout;

namespace Flowstore.Storage.Gcs;

/// <summary>How hard a GCS operation tries before it gives up.</summary>
/// <param name="MaxAttempts">Attempts per operation, the first included.</param>
/// <param name="BaseDelay">The first backoff; each later one doubles (with jitter).</param>
/// <param name="AttemptTimeout">How long one attempt may take.</param>
internal sealed record GcsRetryOptions(int MaxAttempts, TimeSpan BaseDelay, TimeSpan AttemptTimeout)
{
    public static GcsRetryOptions Default { get; } = new(4, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(100));

    /// <summary>The shared retry policy's options for these attempts, backoff and attempt timeout.</summary>
    public StorageRetryOptions Retry => new()
    {
        MaxRetries = Math.Max(0, MaxAttempts - 1),
        BaseDelay = BaseDelay,
        MaxDelay = TimeSpan.FromSeconds(30),
        AttemptTimeout = AttemptTimeout,
    };
}

/// <summary>What an operation does, for its error messages.</summary>
internal enum GcsOperation
{
    Read,
    Upload,
}

/// <summary>
/// One storage's client and the rules every call follows: credentials resolved at the moment of use, transient
/// failures (5xx, 408, 429, timeouts, refused or reset connections) retried by the shared <see cref="StorageRetry"/>
/// policy, and every other failure turned into a <see cref="FlowstoreException"/> that names the endpoint, bucket and object.
/// </summary>
/// <param name="settings">The storage: bucket, endpoint, credentials secret.</param>
/// <param name="client">The client built for it.</param>
/// <param name="retry">The provider's retry policy.</param>
/// <param name="log">Where retries and skipped uploads are told.</param>
/// <param name="credentialDescription">The credentials for messages: "the service account in secret 'X'", ...</param>
internal sealed partial class GcsConnection(GcsStorage settings, StorageClient client, StorageRetry retry, Action<string> log, string credentialDescription)
    : IObjectStore
{
    private const string GoogleEndpoint = "https://storage.googleapis.com";

    public StorageClient Client { get; } = client;

    public string Bucket => settings.Bucket;

    /// <summary>The endpoint for messages (never with user info).</summary>
    public string Endpoint => DisplayEndpoint(settings.EndpointUrl);

    public static string DisplayEndpoint(string? endpointUrl)
    {
        if (string.IsNullOrEmpty(endpointUrl))
        {
            return GoogleEndpoint;
        }
        return Uri.TryCreate(endpointUrl, UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped).TrimEnd('/')
            : endpointUrl;
    }

    /// <summary>The JSON API base URI for an endpoint: http://host:port -> http://host:port/storage/v1/.</summary>
    public static string BaseUri(string endpointUrl)
    {
        var trimmed = endpointUrl.TrimEnd('/');
        return trimmed.EndsWith("/storage/v1", StringComparison.OrdinalIgnoreCase) ? trimmed + "/" : trimmed + "/storage/v1/";
    }

    /// <summary>Builds the client: the credentials secret, else an emulator without credentials, else Application Default Credentials.</summary>
    public static async Task<GcsConnection> OpenAsync(GcsStorage settings, ISecretResolver secrets, StorageRetry retry, Action<string> log,
        CancellationToken cancellationToken)
    {
        var builder = new StorageClientBuilder();
        if (!string.IsNullOrEmpty(settings.EndpointUrl))
        {
            builder.BaseUri = BaseUri(settings.EndpointUrl);
        }
        string credentialDescription;
        if (!string.IsNullOrEmpty(settings.CredentialsSecret))
        {
            var json = await secrets.ResolveAsync(settings.CredentialsSecret, cancellationToken).ConfigureAwait(false);
            builder.GoogleCredential = ReadServiceAccount(json, settings);
            credentialDescription = $"the service account in secret '{settings.CredentialsSecret}'";
        }
        else if (!string.IsNullOrEmpty(settings.EndpointUrl))
        {
            builder.UnauthenticatedAccess = true;
            credentialDescription = "no credentials (an endpoint without a credentials secret)";
        }
        else
        {
            credentialDescription = "Application Default Credentials";
        }
        if (!string.IsNullOrEmpty(settings.Project) && !builder.UnauthenticatedAccess)
        {
            builder.QuotaProject = settings.Project;
        }

        StorageClient client;
        try
        {
            client = await builder.BuildAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Application Default Credentials were not found; the SDK's own message is not needed.
            throw new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                $"No Google credentials for GCS bucket '{settings.Bucket}': Application Default Credentials were not found. " +
                "Name a credentials secret that holds a service-account JSON key, " +
                "or set GOOGLE_APPLICATION_CREDENTIALS / run 'gcloud auth application-default login' where flows register and run.")
            { Target = settings.Bucket, Hint = FlowHint.StorageSetting("Gcs", "CredentialsSecret") };
        }
        // The HTTP layer's own timeout must not cut an attempt short of the one set here.
        if (retry.Options.AttemptTimeout is { } attemptTimeout)
        {
            client.Service.HttpClient.Timeout = attemptTimeout + TimeSpan.FromSeconds(5);
        }
        return new GcsConnection(settings, client, retry, log, credentialDescription);
    }

    private static GoogleCredential ReadServiceAccount(string json, GcsStorage settings)
    {
        try
        {
            return CredentialFactory.FromJson<ServiceAccountCredential>(json).ToGoogleCredential();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Neither the parser's message nor the exception is kept: both may quote the secret's text.
            throw new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                $"The secret '{settings.CredentialsSecret}' named by GCS storage of bucket '{settings.Bucket}' does not hold a service-account JSON key " +
                "(a JSON object with \"type\": \"service_account\", \"client_email\" and \"private_key\"); store the key file's text in it.")
            { Target = settings.CredentialsSecret, Hint = FlowHint.SetSecret(settings.CredentialsSecret!) };
        }
    }

    /// <summary>
    /// Runs one call under the shared retry policy (transient: 5xx, 408, 429, timeouts, refused or reset connections).
    /// <paramref name="key"/> names the object for messages (gs://bucket/key); <paramref name="onNotFound"/> builds
    /// the error for a 404, when the caller has a better one.
    /// </summary>
    public async Task<T> RunAsync<T>(GcsOperation operation, string key, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken,
        Func<GoogleApiException, FlowstoreException>? onNotFound = null)
    {
        var attempts = 0;
        try
        {
            return await retry.ExecuteAsync(new StorageCall<T>($"GCS at {Endpoint}", $"{Verb(operation)} gs://{settings.Bucket}/{key}")
            {
                OnException = e => IsTransient(e, cancellationToken) ? RetryVerdict.Transient(Describe(e)) : RetryVerdict.Stop,
                Log = log,
                Unavailable = failure => Translate(failure.Exception!, operation, key, failure.Attempts),
                Target = $"gs://{settings.Bucket}/{key}",
            }, async ct =>
            {
                attempts++;
                return await call(ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound && onNotFound is not null)
        {
            throw onNotFound(e);
        }
        catch (Exception e)
        {
            throw Translate(e, operation, key, attempts);
        }
    }

    private static string Verb(GcsOperation operation) => operation == GcsOperation.Upload ? "upload to" : "read of";

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        GoogleApiException g => g.HttpStatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
            || (int)g.HttpStatusCode >= 500,
        TimeoutRejectedException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HttpRequestException or IOException or SocketException => true,
        _ => false,
    };

    /// <summary>A short reason for a failure, without secrets (status codes, socket errors).</summary>
    private static string Describe(Exception e) => e switch
    {
        GoogleApiException g => $"HTTP {(int)g.HttpStatusCode} {g.HttpStatusCode}" + (g.Error?.Message is { Length: > 0 } m ? $": {m}" : ""),
        TimeoutRejectedException => "timed out",
        OperationCanceledException => "timed out",
        HttpRequestException { InnerException: SocketException s } => s.SocketErrorCode.ToString(),
        HttpRequestException { InnerException: IOException io } => io.Message,
        HttpRequestException h => h.HttpRequestError.ToString(),
        IOException io => io.Message,
        SocketException s => s.SocketErrorCode.ToString(),
        _ => e.GetType().Name,
    };

    private FlowstoreException Translate(Exception e, GcsOperation operation, string key, int attempts)
    {
        var bucket = settings.Bucket;
        var where = $"gs://{bucket}/{key}";
        var failedId = operation == GcsOperation.Upload ? ErrorIds.StoragePublishFailed : ErrorIds.StorageFetchFailed;
        if (e is GoogleApiException g)
        {
            var status = (int)g.HttpStatusCode;
            switch (g.HttpStatusCode)
            {
                case HttpStatusCode.NotFound:
                    return NotFound(g, key);
                case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                    return new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                        $"GCS at {Endpoint} refused the {Verb(operation)} {where} (HTTP {status}) with {credentialDescription}: " +
                        $"grant it access to bucket '{bucket}' (roles/storage.objectViewer to run, objectAdmin to upload), or name another credentials secret.")
                    { Target = where, Hint = FlowHint.StorageSetting("Gcs", "CredentialsSecret") };
                case HttpStatusCode.TooManyRequests:
                    return new FlowstoreException(ErrorIds.StorageRateLimited, FlowErrorKind.ConnectionError,
                        $"GCS at {Endpoint} kept answering 429 Too Many Requests for the {Verb(operation)} {where} after {attempts} attempts; try again later.")
                    { Target = where };
            }
            if (status >= 500 || g.HttpStatusCode == HttpStatusCode.RequestTimeout)
            {
                return Unavailable(where, attempts, Describe(e));
            }
            return new FlowstoreException(failedId, FlowErrorKind.InvalidOperation,
                $"GCS at {Endpoint} rejected the {Verb(operation)} {where}: {Describe(e)}.") { Target = where };
        }
        if (IsTransient(e, CancellationToken.None))
        {
            return Unavailable(where, attempts, Describe(e));
        }
        return new FlowstoreException(failedId, FlowErrorKind.InvalidOperation,
            $"The {Verb(operation)} {where} at {Endpoint} failed: {Describe(e)}.") { Target = where };
    }

    private FlowstoreException Unavailable(string where, int attempts, string reason) =>
        new(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
            $"GCS at {Endpoint} could not be reached for bucket '{settings.Bucket}' ({where}) after {attempts} attempt{(attempts == 1 ? "" : "s")}: {reason}. " +
            "Check that the endpoint is up and reachable from this machine, then try again.")
        { Target = where };

    /// <summary>A 404: the bucket (when GCS says so) or the object does not exist.</summary>
    public FlowstoreException NotFound(GoogleApiException e, string key)
    {
        var where = $"gs://{settings.Bucket}/{key}";
        return BucketMissing(e)
            ? new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                $"GCS bucket '{settings.Bucket}' does not exist at {Endpoint} (looking for {where}); create it, or correct the bucket name.")
            { Target = settings.Bucket, Hint = FlowHint.StorageSetting("Gcs", "Bucket") }
            : new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                $"GCS object '{key}' does not exist in bucket '{settings.Bucket}' at {Endpoint} ({where}); publish the script to it first " +
                "(or name a local script that registration uploads), or correct the key.") { Target = where, Hint = FlowHint.PublishScript() };
    }

    /// <summary>A 404 that GCS gives for an object in a bucket that does not exist.</summary>
    private static bool BucketMissing(GoogleApiException e)
        => e.Error?.Message?.Contains("bucket does not exist", StringComparison.OrdinalIgnoreCase) == true;

    public void Dispose() => Client.Dispose();
}
