using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Flowstore.Storage.Docker;

/// <summary>
/// The Docker engine operations of Docker storage through Docker.DotNet: build from an in-memory context, push,
/// pull, and read one file out of an image (a container created but never started, then its archive).
/// </summary>
internal sealed partial class DockerEngine : IDisposable
{
    /// <summary>How long an engine may take to answer a ping before it counts as unreachable.</summary>
    internal static TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(5);

    private readonly DockerClient _client;
    private readonly StorageRetry _retry;

    private DockerEngine(DockerClient client, string host, StorageRetry retry)
    {
        _client = client;
        _retry = retry;
        Host = host;
    }

    /// <summary>The engine's address, e.g. unix:///var/run/docker.sock.</summary>
    public string Host { get; }

    public void Dispose() => _client.Dispose();

    /// <summary>The engine the settings choose: DockerHost, else DOCKER_HOST, else the default socket.</summary>
    public static string HostFor(DockerStorage storage) =>
        storage.DockerHost is { Length: > 0 } host ? host
        : Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } env ? env
        : "unix:///var/run/docker.sock";

    /// <summary>Connects and pings; returns null with the reason when no engine answers.</summary>
    public static async Task<(DockerEngine? Engine, string? Failure)> TryConnectAsync(string host, StorageRetry retry, CancellationToken cancellationToken)
    {
        Uri uri;
        try
        {
            uri = new Uri(host);
        }
        catch (UriFormatException)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"'{host}' is not a Docker engine address; use unix:///path/docker.sock or tcp://host:port.") { Target = host };
        }
        if (uri.Scheme == "unix" && !File.Exists(uri.LocalPath) && !Directory.Exists(Path.GetDirectoryName(uri.LocalPath)))
        {
            return (null, $"{uri.LocalPath} does not exist");
        }
        DockerClient? client = null;
        try
        {
            client = new DockerClientConfiguration(uri, defaultTimeout: TimeSpan.FromMinutes(10)).CreateClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(PingTimeout);
            await client.System.PingAsync(timeout.Token).ConfigureAwait(false);
            var engine = new DockerEngine(client, host, retry);
            client = null;
            return (engine, null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not FlowstoreException)
        {
            return (null, e is OperationCanceledException ? $"no answer within {PingTimeout.TotalSeconds:0} s" : Describe(e));
        }
        finally
        {
            client?.Dispose();
        }
    }

    /// <summary>Pulls the image from its registry (tag or digest), mapping failures to the storage errors.</summary>
    public async Task PullAsync(ImageReference image, RegistryCredentials? credentials, IProgress<StorageProgress>? progress, CancellationToken cancellationToken)
    {
        var error = await RegistryCallAsync(image, $"pulling {image}", async ct =>
        {
            var messages = new MessageCollector(message => ReportLayerProgress(progress, $"Pulling {image}", message));
            await _client.Images.CreateImageAsync(new ImagesCreateParameters
            {
                FromImage = image.Name,
                Tag = image.Digest ?? image.TagOrLatest,
            }, Auth(image, credentials), messages, ct).ConfigureAwait(false);
            return messages.Error;
        }, cancellationToken).ConfigureAwait(false);
        if (error.Failure is { } failure)
        {
            throw PullError(image, error.Status, failure, error.Exception);
        }
        progress?.Report(new StorageProgress($"Pulling {image}", "Pulled", 100));
    }

    /// <summary>What a pull or push through the engine reported: nothing (success), or the failure.</summary>
    private sealed record RegistryOutcome(string? Failure, HttpStatusCode? Status = null, Exception? Exception = null);

    /// <summary>
    /// Runs an engine call that talks to a registry (pull, push) with the shared retry policy: a registry the engine
    /// cannot reach, or one answering 5xx, is retried, then StorageUnavailable naming the registry.
    /// </summary>
    private Task<RegistryOutcome> RegistryCallAsync(ImageReference image, string operation, Func<CancellationToken, Task<string?>> call,
        CancellationToken cancellationToken)
        => _retry.ExecuteAsync(
            new StorageCall<RegistryOutcome>($"The registry {image.Registry} (through the Docker engine at {Host})", operation)
            {
                OnResult = outcome => outcome.Failure is { } failure && LooksUnreachable(failure) ? RetryVerdict.Transient(failure) : RetryVerdict.Stop,
                OnException = _ => RetryVerdict.Stop,
                Target = image.ToString(),
            },
            async ct =>
            {
                try
                {
                    return new RegistryOutcome(await call(ct).ConfigureAwait(false));
                }
                catch (DockerApiException e)
                {
                    return new RegistryOutcome(Describe(e), e.StatusCode, e);
                }
            }, cancellationToken);

    /// <summary>An engine's report that the registry could not be reached or failed on its side.</summary>
    private static bool LooksUnreachable(string detail) =>
        detail.Contains("connection refused", StringComparison.OrdinalIgnoreCase) || detail.Contains("no such host", StringComparison.OrdinalIgnoreCase)
        || detail.Contains("i/o timeout", StringComparison.OrdinalIgnoreCase) || detail.Contains("connection reset", StringComparison.OrdinalIgnoreCase)
        || ServerErrorPattern().IsMatch(detail);

    private static FlowstoreException PullError(ImageReference image, HttpStatusCode? status, string detail, Exception? inner)
    {
        if (LooksDenied(detail))
        {
            return DockerErrors.RegistryDenied(image, "pulling was refused: " + detail);
        }
        if (status == HttpStatusCode.NotFound || detail.Contains("not found", StringComparison.OrdinalIgnoreCase)
            || detail.Contains("manifest unknown", StringComparison.OrdinalIgnoreCase))
        {
            return image.Digest is not null
                ? new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                    $"The image {image} is no longer in the registry {image.Registry}: {detail}", inner) { Target = image.ToString() }
                : DockerErrors.ImageNotFound(image.ToString(), detail);
        }
        return new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidOperation,
            $"Pulling the image {image} failed: {detail}", inner) { Target = image.ToString() };
    }

    /// <summary>The image's ID and digests, or null when the engine does not have it.</summary>
    public async Task<ImageInspectResponse?> InspectAsync(string reference, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.Images.InspectImageAsync(reference, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerImageNotFoundException)
        {
            return null;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The image's version for provenance: its registry digest (repo digest) when it has one, else its ID.</summary>
    public static string VersionOf(ImageInspectResponse inspect, ImageReference image)
    {
        if (image.Digest is not null)
        {
            return image.Digest;
        }
        var prefix = image.Name + "@";
        var repoDigest = inspect.RepoDigests?.FirstOrDefault(d => d.StartsWith(prefix, StringComparison.Ordinal));
        return repoDigest is not null ? repoDigest[prefix.Length..] : inspect.ID;
    }

    /// <summary>
    /// Reads the file at <paramref name="path"/> out of the image: creates a container (never started), copies the
    /// path's archive out, removes the container.
    /// </summary>
    public async Task<byte[]> ReadFileAsync(string reference, string path, CancellationToken cancellationToken)
    {
        CreateContainerResponse container;
        try
        {
            container = await _client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Image = reference,
                // Never run: a command only so images without CMD/ENTRYPOINT (FROM scratch) can have a container.
                Cmd = ["/flowstore-never-started"],
                NetworkDisabled = true,
                Labels = new Dictionary<string, string> { ["org.flowstore.purpose"] = "read flow script" },
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw DockerErrors.ImageNotFound(reference, $"the Docker engine does not have it ({Describe(e)})");
        }
        try
        {
            GetArchiveFromContainerResponse archive;
            try
            {
                archive = await _client.Containers.GetArchiveFromContainerAsync(container.ID,
                    new GetArchiveFromContainerParameters { Path = path }, false, cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                throw DockerErrors.PathNotInImage(reference, path);
            }
            // The engine's chunked stream is read whole first: Docker.DotNet's chunked reader fails reads that a tar
            // reader makes across chunk ends. An archive of the one flow file is small.
            using var buffer = new MemoryStream();
            await using (archive.Stream.ConfigureAwait(false))
            {
                await archive.Stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            buffer.Position = 0;
            {
                return await ImageFileReader.ReadSingleFileAsync(buffer, cancellationToken).ConfigureAwait(false)
                    ?? throw new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                        $"'{path}' in the image {reference} is not a file (a folder or a link); set Path to the flow file itself.") { Target = $"{reference}:{path}" };
            }
        }
        finally
        {
            try
            {
                await _client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (DockerApiException)
            {
                // Best effort: a container that was never started holds nothing.
            }
        }
    }

    /// <summary>Builds an image from an in-memory context; returns the image ID. Failures name the failing step.</summary>
    public async Task<string> BuildAsync(ImageReference image, Stream context, string dockerfile, RegistryCredentials? credentials,
        IProgress<StorageProgress>? progress, CancellationToken cancellationToken)
    {
        var activity = $"Building image {image}";
        string? step = null;
        int stepNumber = 0, stepCount = 0;
        var messages = new MessageCollector(message =>
        {
            var line = message.Stream?.TrimEnd();
            if (line is null)
            {
                return;
            }
            var match = StepPattern().Match(line);
            if (match.Success)
            {
                step = line;
                stepNumber = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                stepCount = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                progress?.Report(new StorageProgress(activity, line, Math.Min(99, (stepNumber - 1) * 100 / Math.Max(1, stepCount))));
            }
        });
        var auths = credentials is null || image.Registry is null ? [] : new[] { Auth(image, credentials) };
        try
        {
            await _client.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters
            {
                Tags = [image.ToString()],
                Dockerfile = dockerfile,
                Remove = true,
                ForceRemove = true,
                Labels = new Dictionary<string, string> { ["org.flowstore.built-by"] = "Flowstore" },
            }, context, auths, new Dictionary<string, string>(), messages, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw BuildError(image, step, Describe(e), e);
        }
        if (messages.Error is { } error)
        {
            throw BuildError(image, step, error, null);
        }
        var inspect = await InspectAsync(image.ToString(), cancellationToken).ConfigureAwait(false)
            ?? throw BuildError(image, step, "the engine reported no image after the build", null);
        progress?.Report(new StorageProgress(activity, "Built " + inspect.ID[..Math.Min(19, inspect.ID.Length)], 100));
        return inspect.ID;
    }

    private static FlowstoreException BuildError(ImageReference image, string? step, string detail, Exception? inner) =>
        LooksUnreachable(detail)
            // A registry the build pulls from (the base image's) that cannot be reached: the same fault, and id, as at run time.
            ? new(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
                $"Building the image {image} failed{(step is null ? "" : " at " + step)}: a registry could not be reached: {detail}. " +
                "Check that it is up and reachable from this machine, then try again.", inner) { Target = image.ToString() }
            : new(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
            step is null
                ? $"Building the image {image} failed: {detail}"
                : $"Building the image {image} failed at {step}: {detail}", inner) { Target = image.ToString() };

    /// <summary>Pushes the image's tag to its registry; returns the manifest digest the registry gave it.</summary>
    public async Task<string> PushAsync(ImageReference image, RegistryCredentials? credentials, IProgress<StorageProgress>? progress, CancellationToken cancellationToken)
    {
        var activity = $"Pushing {image}";
        string? digest = null;
        var messages = new MessageCollector(message =>
        {
            if (message.Status is { } status && DigestPattern().Match(status) is { Success: true } match)
            {
                digest = match.Groups[1].Value;
            }
            ReportLayerProgress(progress, activity, message);
        });
        var pushed = await RegistryCallAsync(image, $"pushing {image}", async ct =>
        {
            await _client.Images.PushImageAsync(image.Name, new ImagePushParameters { Tag = image.TagOrLatest },
                Auth(image, credentials), messages, ct).ConfigureAwait(false);
            return messages.TakeError();
        }, cancellationToken).ConfigureAwait(false);
        if (pushed.Failure is { } error)
        {
            throw PushError(image, error, pushed.Exception);
        }
        if (digest is null)
        {
            var inspect = await InspectAsync(image.ToString(), cancellationToken).ConfigureAwait(false);
            digest = inspect is null ? null : VersionOf(inspect, image);
        }
        progress?.Report(new StorageProgress(activity, "Pushed " + digest, 100));
        return digest ?? throw PushError(image, "the registry reported no digest", null);
    }

    private static FlowstoreException PushError(ImageReference image, string detail, Exception? inner) =>
        LooksDenied(detail)
            ? new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
                $"The registry {image.Registry} denied pushing {image}: {detail}. Check the secret named by RegistryCredentialsSecret and its rights on {image.Repository}.", inner) { Target = image.ToString() }
            : new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                $"Pushing {image} to the registry {image.Registry} failed: {detail}", inner) { Target = image.ToString() };

    /// <summary>
    /// Removes an image tag a failed registration built (a build that failed its check, a push that failed);
    /// never throws. Untagged parent images are kept: they are the engine's build cache, which another build of
    /// the same steps may be using at this moment.
    /// </summary>
    public async Task TryRemoveImageAsync(string reference)
    {
        try
        {
            await _client.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = true, NoPrune = true }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
            // Best effort.
        }
    }

    private static AuthConfig Auth(ImageReference image, RegistryCredentials? credentials) => credentials is null
        ? new AuthConfig()
        : new AuthConfig { Username = credentials.Username, Password = credentials.Password, ServerAddress = image.Registry };

    private static bool LooksDenied(string detail) =>
        detail.Contains("unauthorized", StringComparison.OrdinalIgnoreCase)
        || detail.Contains("denied", StringComparison.OrdinalIgnoreCase)
        || detail.Contains("authentication required", StringComparison.OrdinalIgnoreCase)
        || detail.Contains("no basic auth credentials", StringComparison.OrdinalIgnoreCase);

    private static void ReportLayerProgress(IProgress<StorageProgress>? progress, string activity, JSONMessage message)
    {
        if (progress is null || message.Status is null)
        {
            return;
        }
        var percent = message.Progress is { Total: > 0 } p ? (int)Math.Min(99, p.Current * 100 / p.Total) : -1;
        var status = message.ID is null ? message.Status : $"{message.ID}: {message.Status}";
        progress.Report(new StorageProgress(activity, status, percent));
    }

    /// <summary>An engine error's message, without the Docker.DotNet wrapper text.</summary>
    private static string Describe(Exception e) => e switch
    {
        DockerApiException api => ApiMessage(api),
        HttpRequestException { InnerException: { } inner } => inner.Message,
        _ => e.Message,
    };

    private static string ApiMessage(DockerApiException e)
    {
        var body = e.ResponseBody?.Trim() ?? "";
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("message", out var message))
            {
                return message.GetString() ?? body;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return body.Length > 0 ? body : $"{(int)e.StatusCode} {e.StatusCode}";
    }

    [GeneratedRegex(@"^Step (\d+)/(\d+) : ")]
    private static partial Regex StepPattern();

    [GeneratedRegex(@"digest: (sha256:[0-9a-f]{64})")]
    private static partial Regex DigestPattern();

    [GeneratedRegex(@"\b5\d\d\b.*(status|error)|(status|error).*\b5\d\d\b|Service Unavailable|Bad Gateway|Internal Server Error", RegexOptions.IgnoreCase)]
    private static partial Regex ServerErrorPattern();

    /// <summary>Takes the engine's stream messages synchronously (so the error is known when the call returns).</summary>
    private sealed class MessageCollector(Action<JSONMessage> onMessage) : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }

        /// <summary>The error so far, cleared for the next attempt.</summary>
        public string? TakeError()
        {
            var error = Error;
            Error = null;
            return error;
        }

        public void Report(JSONMessage value)
        {
            var error = value.Error?.Message ?? value.ErrorMessage;
            if (!string.IsNullOrEmpty(error))
            {
                Error ??= error.Trim();
                return;
            }
            onMessage(value);
        }
    }
}
