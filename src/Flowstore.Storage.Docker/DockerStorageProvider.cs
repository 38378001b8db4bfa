using System.Text;

namespace Flowstore.Storage.Docker;

/// <summary>
/// Docker storage: builds the flow into an image (Docker.DotNet; context made in memory), pushes it, and reads the
/// script (or the compiled flow) back out of the image at run time, through a Docker engine or, when none is
/// reachable, straight from the registry's HTTP API. The storage version is the image digest.
/// </summary>
public sealed class DockerStorageProvider : IStorageProvider
{
    /// <summary>The clock of generated tags (tests set it).</summary>
    internal Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>Retries registry calls that failed for a transient reason (tests shorten the backoff).</summary>
    internal StorageRetry Retry { get; set; } = StorageRetry.Default;

    public string Type => "Docker";

    public Type SettingsType => typeof(DockerStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var docker = Normalize((DockerStorage)settings, context.ScriptPath, context.FlowSlug);
        // Registration builds from the local script (or stores its compiled flow): a changed script is a new
        // version, to be built. The generated tag stays out of the key (see DockerStorage.TagGenerated).
        return docker.BuildsImage || !docker.StoredAsScript ? docker with { ScriptSha256 = context.ScriptSha256[..12] } : docker;
    }

    public async Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var docker = (DockerStorage)settings;
        if (docker.BuildsImage)
        {
            var generated = docker.ImageTag is null;
            var (image, version, script) = await BuildAndPushAsync(docker, context.ScriptPath, context.FlowSlug, context.CompiledFlow,
                context.Secrets, context.Progress, context.Log, cancellationToken).ConfigureAwait(false);
            // The script as built into the image: the engine checks it against the flow (ScriptToStore checked the
            // copied file before the build; this covers a Dockerfile that puts or changes the script itself).
            return new PreparedStorage(docker with { ImageTag = image.Tag, TagGenerated = generated, ImageDigest = version }, script);
        }

        // The image already holds the flow (seed case b, or an image published on its own): check it is there.
        var read = await ReadAsync(docker, null, context.Secrets, context.Progress, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': {read.Origin} is in the image ({read.Version}).");
        return new PreparedStorage(docker with { ImageDigest = read.Version }, docker.StoredAsScript ? new StoredScript(Encoding.UTF8.GetString(read.Content), read.Origin) : null);
    }

    /// <summary>
    /// A script image about to be built: the local file copied to the flow's path, when it is not the registered
    /// file, must declare the flow before anything is built or pushed (the file as built into the image is checked again).
    /// </summary>
    public StoredScript? ScriptToStore(StorageSettings settings, StorageRegistrationContext context)
    {
        if (settings is not DockerStorage { BuildsImage: true, StoredAsScript: true, Path: { } path, Files: { } files } docker)
        {
            return null;
        }
        var source = files.FirstOrDefault(f => f.Value == path).Key;
        if (source is null || string.Equals(source, context.ScriptPath, StringComparison.Ordinal) || !File.Exists(source))
        {
            return null;
        }
        var image = ImageReference.FromSettings(docker);
        var target = docker.ImageTag is null ? image.Name : image.ToString();
        return new StoredScript(File.ReadAllText(source), $"'{source}' (copied to {target}:{path})");
    }

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var docker = (DockerStorage)settings;
        var read = await ReadAsync(docker, pinnedVersion, secrets, null, cancellationToken).ConfigureAwait(false);
        var sha = FlowStructure.Sha256Hex(read.Content);
        return docker.StoredAsScript
            ? new FetchedFlowSource(Encoding.UTF8.GetString(read.Content), null, sha, read.Version, read.Origin)
            : new FetchedFlowSource(null, read.Content, sha, read.Version, read.Origin);
    }

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var docker = Normalize((DockerStorage)settings, context.ScriptPath, context.FlowSlug);
        if (docker.StoredAsScript && docker.Files is not { Count: > 0 })
        {
            // Publishing puts the local script into a new image, also for a storage that names an existing image.
            docker = docker with { Files = new Dictionary<string, string>(StringComparer.Ordinal) { [context.ScriptPath] = docker.Path! } };
        }
        var (image, version, _) = await BuildAndPushAsync(docker, context.ScriptPath, context.FlowSlug, context.CompiledFlow,
            context.Secrets, context.Progress, context.Log, cancellationToken).ConfigureAwait(false);
        // The published storage names the image as it is now: registration checks it and builds nothing.
        var published = docker with
        {
            ImageTag = image.Tag, TagGenerated = false, ImageDigest = version, Files = null, Dockerfile = null, BaseImage = null, ScriptSha256 = null,
        };
        return new PublishedFlowSource(published, version, $"{image}:{docker.Path}");
    }

    /// <summary>
    /// Completes the settings without I/O: absolute local paths (relative to the script's folder), absolute paths in
    /// the image, a default path, an image name from the flow's slug, and, when registration builds a script image
    /// without Files, the registered script copied to the path. Validates names and tags.
    /// </summary>
    internal static DockerStorage Normalize(DockerStorage docker, string scriptPath, string flowSlug)
    {
        var baseDir = Path.GetDirectoryName(scriptPath)!;
        docker.Validate();
        var files = docker.Files is { Count: > 0 } given
            ? given.ToDictionary(f => Path.GetFullPath(f.Key, baseDir), f => "/" + ImageFileReader.Normalize(f.Value), StringComparer.Ordinal)
            : docker.Files;
        docker = docker with { Files = files, Dockerfile = docker.Dockerfile is null ? null : Path.GetFullPath(docker.Dockerfile, baseDir) };
        var builds = docker.BuildsImage;
        string path;
        if (docker.Path is { Length: > 0 } named)
        {
            path = "/" + ImageFileReader.Normalize(named);
        }
        else if (!docker.StoredAsScript)
        {
            path = $"/flowstore/{ImageReference.NameFromSlug(flowSlug)["flowstore/".Length..]}.dll";
        }
        else if (files is { Count: 1 } single)
        {
            path = single.Values.First();
        }
        else if (files?.TryGetValue(scriptPath, out var destination) == true)
        {
            path = destination;
        }
        else if (builds)
        {
            path = "/flows/" + Path.GetFileName(scriptPath);
        }
        else
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Docker storage of image '{docker.ImageName}' needs Path: where the flow script is in the image.") { Target = docker.ImageName };
        }
        if (builds && docker.StoredAsScript && files is not { Count: > 0 })
        {
            files = new Dictionary<string, string>(StringComparer.Ordinal) { [scriptPath] = path };
        }
        docker = docker with { Path = path, Files = files, ImageName = docker.ImageName ?? ImageReference.NameFromSlug(flowSlug) };
        _ = ImageReference.FromSettings(docker);
        return docker;
    }

    /// <summary>
    /// Builds the image (the files, or the compiled flow at Path), reads the flow back out of it (a compiled flow that
    /// differs from the one built in: the image is removed, never pushed), then pushes it when a registry is set.
    /// Returns the image (with its tag), its version (the registry's digest, else the image ID) and, for a script
    /// image, the script as it is in the image.
    /// </summary>
    private async Task<(ImageReference Image, string Version, StoredScript? Script)> BuildAndPushAsync(DockerStorage docker, string scriptPath, string flowSlug,
        byte[]? compiledFlow, ISecretResolver secrets, IProgress<StorageProgress>? progress, Action<string> log, CancellationToken cancellationToken)
    {
        var tag = docker.ImageTag ?? ImageReference.GeneratedTag(Clock());
        var image = ImageReference.FromSettings(docker, tag);
        var path = docker.Path!;

        var files = new List<BuildContext.ImageFile>();
        foreach (var (source, destination) in docker.Files ?? [])
        {
            if (!File.Exists(source))
            {
                throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.ObjectNotFound,
                    $"The file '{source}' that Docker storage copies to '{destination}' in the image does not exist.") { Target = source };
            }
            files.Add(new BuildContext.ImageFile(source, await File.ReadAllBytesAsync(source, cancellationToken).ConfigureAwait(false), destination));
        }
        byte[]? assembly = null;
        if (!docker.StoredAsScript)
        {
            assembly = compiledFlow ?? throw new InvalidOperationException($"The compiled flow was not given to the Docker storage provider for '{scriptPath}'.");
            files.RemoveAll(f => f.Destination == path);
            files.Add(new BuildContext.ImageFile(scriptPath, assembly, path));
        }

        var credentials = image.Registry is null ? null
            : await RegistryCredentials.ResolveAsync(docker, secrets, cancellationToken).ConfigureAwait(false);
        var host = DockerEngine.HostFor(docker);
        var (engine, failure) = await DockerEngine.TryConnectAsync(host, Retry, cancellationToken).ConfigureAwait(false);
        if (engine is null)
        {
            throw DockerErrors.NoEngineForBuild(host, image.ToString(), failure!);
        }
        using (engine)
        {
            log($"Building {image} on {host}.");
            string imageId;
            using (var context = await BuildContext.CreateAsync(docker, files, flowSlug, cancellationToken).ConfigureAwait(false))
            {
                imageId = await engine.BuildAsync(image, context, BuildContext.DockerfileName, credentials, progress, cancellationToken).ConfigureAwait(false);
            }

            var origin = $"{image}:{path}";
            StoredScript? script = null;
            try
            {
                var stored = await engine.ReadFileAsync(imageId, path, cancellationToken).ConfigureAwait(false);
                if (assembly is not null)
                {
                    if (!stored.AsSpan().SequenceEqual(assembly))
                    {
                        throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidData,
                            $"The image {image} holds a different file at '{path}' than the compiled flow it was built with; " +
                            "a Dockerfile instruction after the copy changed it.") { Target = origin };
                    }
                }
                else
                {
                    script = new StoredScript(Encoding.UTF8.GetString(stored), origin);
                }
            }
            catch (FlowstoreException)
            {
                // A broken image is never pushed nor registered.
                await engine.TryRemoveImageAsync(image.ToString()).ConfigureAwait(false);
                throw;
            }

            var version = imageId;
            if (image.Registry is not null)
            {
                try
                {
                    version = await engine.PushAsync(image, credentials, progress, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is FlowstoreException or OperationCanceledException)
                {
                    // Nothing is registered: the image this build tagged must not stay behind (a CI agent would fill up).
                    await engine.TryRemoveImageAsync(image.ToString()).ConfigureAwait(false);
                    log($"Removed {image} from the Docker engine at {host}: pushing it failed.");
                    throw;
                }
            }
            log($"Built {image} ({version}) with '{path}'.");
            return (image, version, script);
        }
    }

    /// <summary>What was read out of an image: the file, the image's version (digest), and where it came from.</summary>
    private sealed record ImageRead(byte[] Content, string Version, string Origin);

    /// <summary>
    /// Reads the flow file out of the image: through the engine (pull when a registry is set; the local image
    /// otherwise), or from the registry's HTTP API when no engine answers. Pinned: the image by that digest.
    /// </summary>
    private async Task<ImageRead> ReadAsync(DockerStorage docker, string? pinnedVersion, ISecretResolver secrets,
        IProgress<StorageProgress>? progress, CancellationToken cancellationToken)
    {
        var path = docker.Path ?? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData,
            "Docker storage has no Path (where the flow is in the image); register the flow again.");
        var image = ImageReference.FromSettings(docker);
        if (pinnedVersion is not null)
        {
            if (!pinnedVersion.StartsWith("sha256:", StringComparison.Ordinal))
            {
                throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.InvalidArgument,
                    $"'{pinnedVersion}' is not an image digest (sha256:...); Docker storage cannot fetch {image} at it.") { Target = image.ToString() };
            }
            image = image.WithDigest(pinnedVersion);
        }
        else if (!docker.StoredAsScript && docker.ImageDigest is { } frozenDigest && image.Registry is not null)
        {
            // Frozen: the image registration built, not whatever the tag points at now.
            image = image.WithDigest(frozenDigest);
        }

        var credentials = image.Registry is null ? null
            : await RegistryCredentials.ResolveAsync(docker, secrets, cancellationToken).ConfigureAwait(false);
        var host = DockerEngine.HostFor(docker);
        var (engine, failure) = await DockerEngine.TryConnectAsync(host, Retry, cancellationToken).ConfigureAwait(false);
        if (engine is not null)
        {
            using (engine)
            {
                string reference;
                if (image.Registry is not null)
                {
                    await engine.PullAsync(image, credentials, progress, cancellationToken).ConfigureAwait(false);
                    reference = image.ToString();
                }
                else
                {
                    // No registry: the image lives in this engine only (a pinned version is its image ID).
                    reference = image.Digest ?? image.ToString();
                }
                var inspect = await engine.InspectAsync(reference, cancellationToken).ConfigureAwait(false);
                if (inspect is null)
                {
                    throw pinnedVersion is not null
                        ? new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                            $"The image {image.Name} at {pinnedVersion} is no longer in the Docker engine at {host}.") { Target = image.ToString() }
                        : DockerErrors.ImageNotFound(image.ToString(), $"the Docker engine at {host} does not have it and no registry is set");
                }
                var version = DockerEngine.VersionOf(inspect, image);
                var content = await engine.ReadFileAsync(reference, path, cancellationToken).ConfigureAwait(false);
                return new ImageRead(content, version, $"{image}:{path}");
            }
        }
        if (image.Registry is null)
        {
            throw DockerErrors.NoEngineNoRegistry(host, image.ToString(), failure!);
        }
        using var registry = new RegistryClient(image, credentials, Retry);
        var (digest, bytes) = await registry.ReadFileAsync(path, cancellationToken).ConfigureAwait(false);
        return new ImageRead(bytes, digest, $"{image}:{path}");
    }
}
