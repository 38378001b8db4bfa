using System.Text.Json.Serialization;

[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.Docker.DockerStorageProvider))]

namespace Flowstore;

/// <summary>
/// Docker storage: the flow lives in a container image. As a script (<see cref="StoredAsScript"/>), every run reads
/// the file at <see cref="Path"/> out of the image <see cref="ImageName"/>:<see cref="ImageTag"/> (through a Docker
/// engine, or straight from the registry when no engine is reachable), so a new image pushed under the same tag runs
/// its new code without re-registration. Frozen (the default), registration builds the compiled flow into an image.
/// <para>
/// Two ways of use, as in the seed: (a) <see cref="Path"/> + <see cref="Files"/> + <see cref="StoredAsScript"/>:
/// registration builds an image that copies the files in (and pushes it when <see cref="RegistryUrl"/> is set);
/// (b) <see cref="Path"/> + <see cref="StoredAsScript"/> + <see cref="ImageName"/> of an image that already holds the
/// file: no build, registration checks the file in the image.
/// </para>
/// </summary>
public sealed record DockerStorage : StorageSettings
{
    /// <summary>For deserialisation.</summary>
    public DockerStorage()
    {
    }

    /// <param name="path">Where the script (or, frozen, the compiled flow) is in the image, e.g. "/flows/my_flow.cs".</param>
    /// <param name="files">Local file → path in the image; the build copies them in.</param>
    /// <param name="storedAsScript">True: runs read the script from the image. False: the compiled flow goes into the image.</param>
    /// <param name="registryUrl">The registry to push to and pull from, e.g. "registry.example.com" or "http://127.0.0.1:5000".</param>
    /// <param name="imageName">The image's repository name, e.g. "flows/etl"; generated from the flow's name when not given.</param>
    /// <param name="imageTag">The image's tag; a UTC timestamp when not given.</param>
    /// <param name="dockerfile">A Dockerfile whose instructions start the image (its folder is the build context).</param>
    /// <param name="baseImage">The image to build on (FROM); "scratch" when not given.</param>
    /// <param name="dockerHost">The Docker engine, e.g. "unix:///var/run/docker.sock"; else DOCKER_HOST, else that socket.</param>
    /// <param name="registryCredentialsSecret">Name of the secret with the registry credentials ("user:password" or JSON).</param>
    public DockerStorage(
        string? path = null,
        IDictionary<string, string>? files = null,
        bool storedAsScript = false,
        string? registryUrl = null,
        string? imageName = null,
        string? imageTag = null,
        string? dockerfile = null,
        string? baseImage = null,
        string? dockerHost = null,
        string? registryCredentialsSecret = null)
    {
        Path = path;
        Files = files is null ? null : new Dictionary<string, string>(files, StringComparer.Ordinal);
        StoredAsScript = storedAsScript;
        RegistryUrl = registryUrl;
        ImageName = imageName;
        ImageTag = imageTag;
        Dockerfile = dockerfile;
        BaseImage = baseImage;
        DockerHost = dockerHost;
        RegistryCredentialsSecret = registryCredentialsSecret;
    }

    public override string Type => "Docker";

    /// <summary>The registry (host[:port], optionally with http:// or https://); none: the image stays in the local engine.</summary>
    [StorageSetting("The registry the image is pushed to and read from, e.g. registry.example.com or http://127.0.0.1:5000 " +
        "(loopback registries are spoken to over HTTP). Without it the image stays in the local Docker engine.")]
    public string? RegistryUrl { get; init; }

    /// <summary>The image's repository name (may include the registry when <see cref="RegistryUrl"/> is not set).</summary>
    [StorageSetting("The image's repository name, e.g. flows/etl. For script storage without files, a Dockerfile or a base image it names an " +
        "image that already holds the flow script (no build; registration checks the file). Without it, registration builds an image named flowstore/<flow-slug>.")]
    public string? ImageName { get; init; }

    /// <summary>The image's tag; generated (UTC timestamp) by a build when not given.</summary>
    [StorageSetting("The image's tag; a build generates a UTC timestamp tag (e.g. 20261128T174500Z) when not given.")]
    public string? ImageTag { get; init; }

    /// <summary>Where the script (script storage) or the compiled flow (frozen) is in the image; absolute.</summary>
    [StorageSetting("Where the flow script is in the image, e.g. /flows/my_flow.cs (frozen: where the compiled flow goes; default /flowstore/<flow-slug>.dll).")]
    public string? Path { get; init; }

    /// <summary>Local file → absolute path in the image, copied in by the build.</summary>
    [StorageSetting("Local files to copy into the image, local path = path in the image (e.g. 'flows/my_flow.cs' = '/flows/my_flow.cs').",
        LocalPath = StorageSettingPath.FileKeys)]
    public Dictionary<string, string>? Files { get; init; }

    /// <summary>A local Dockerfile the build starts from (its folder is the build context).</summary>
    [StorageSetting("A Dockerfile the image is built from (its folder is the build context); the files are copied in after its instructions.",
        LocalPath = StorageSettingPath.File)]
    public string? Dockerfile { get; init; }

    /// <summary>The image a generated Dockerfile builds on; "scratch" when not given.</summary>
    [StorageSetting("The image to build on (FROM) when no Dockerfile is given; scratch by default.")]
    public string? BaseImage { get; init; }

    /// <summary>Opt-in script storage, as in the seed.</summary>
    [StorageSetting("Runs read the flow script from the image; without it the compiled flow goes into the image (frozen).")]
    public bool StoredAsScript { get; init; }

    /// <summary>The Docker engine to use; else DOCKER_HOST; else unix:///var/run/docker.sock.</summary>
    [StorageSetting("The Docker engine, e.g. unix:///var/run/docker.sock or tcp://host:2375; else $env:DOCKER_HOST, else " +
        "unix:///var/run/docker.sock. Runs on an agent where no engine answers read the image from the registry.")]
    public string? DockerHost { get; init; }

    /// <summary>Name of the secret holding the registry credentials: "user:password" or {"username","password"}.</summary>
    [StorageSetting("Name of the secret (a Flowstore secret, environment variable or vault) with the registry credentials: " +
        "\"user:password\" or JSON {\"username\": \"...\", \"password\": \"...\"}.", Secret = true)]
    public string? RegistryCredentialsSecret { get; init; }

    /// <summary>The digest of the image that was built or checked (the registry's manifest digest, else the image ID).</summary>
    [JsonInclude]
    internal string? ImageDigest { get; init; }

    /// <summary>
    /// True when <see cref="ImageTag"/> was generated by the build that registration ran: the tag then stays out of
    /// the registration key, so registering the same script again is unchanged.
    /// </summary>
    [JsonInclude]
    internal bool TagGenerated { get; init; }

    /// <summary>Short SHA-256 of the local script a registration builds from (set when registration builds, and frozen).</summary>
    [JsonInclude]
    internal string? ScriptSha256 { get; init; }

    public override bool IsScript => StoredAsScript;

    /// <summary>True when registration builds the image (case a, frozen, or no image named), false when it only checks it (case b).</summary>
    [JsonIgnore]
    public bool BuildsImage =>
        Files is { Count: > 0 } || Dockerfile is not null || BaseImage is not null || ImageName is null
        || (!StoredAsScript && ImageDigest is null);

    public override string? RequestedRef => ImageTag is null ? null : "tag " + ImageTag;

    public override string Locator
    {
        get
        {
            var registry = RegistryUrl is null ? "" : RegistryUrl.TrimEnd('/') + "/";
            var tag = ImageTag is not null && !TagGenerated ? ":" + ImageTag : "";
            var sha = ScriptSha256 is null ? "" : "#" + ScriptSha256;
            return StoredAsScript
                ? $"docker:{registry}{ImageName}{tag}:{Path}{sha}"
                : $"docker-frozen:{registry}{ImageName}{tag}:{Path}{sha}";
        }
    }

    /// <summary>A Dockerfile or a base image, not both (the Dockerfile's FROM names the base).</summary>
    protected override void ValidateSettings()
    {
        if (Dockerfile is not null && BaseImage is not null)
        {
            throw Conflict("Docker storage takes a Dockerfile or a base image, not both: the Dockerfile's FROM names the base image.",
                Dockerfile, nameof(Dockerfile), nameof(BaseImage));
        }
    }

    public override string ToString()
    {
        var registry = RegistryUrl is null ? "" : RegistryUrl.TrimEnd('/') + "/";
        var image = ImageName is null ? "(generated image)" : $"{registry}{ImageName}:{ImageTag ?? "(generated tag)"}";
        return StoredAsScript
            ? $"Docker script {image} {Path ?? "(the registered file)"}"
            : $"Docker frozen {image} {Path ?? "(the compiled flow)"}";
    }
}
