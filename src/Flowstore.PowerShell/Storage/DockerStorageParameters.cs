using System.Collections;
using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Docker: the flow lives in a container image.</summary>
public sealed class DockerStorageParameters : IStorageParameters
{
    /// <summary>
    /// The registry the image is pushed to and read from, e.g. registry.example.com or http://127.0.0.1:5000
    /// (loopback registries are spoken to over HTTP). Without it the image stays in the local Docker engine.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RegistryUrl { get; set; }

    /// <summary>
    /// The image's repository name, e.g. flows/etl. With -StoredAsScript and no -Files, -Dockerfile or -BaseImage it
    /// names an image that already holds the flow script (no build; registration checks the file). Without it,
    /// registration builds an image named flowstore/&lt;flow-slug&gt;.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ImageName { get; set; }

    /// <summary>The image's tag; a build generates a UTC timestamp tag (e.g. 20261128T174500Z) when not given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ImageTag { get; set; }

    /// <summary>
    /// Where the flow script is in the image, e.g. /flows/my_flow.cs (frozen: where the compiled flow goes; default
    /// /flowstore/&lt;flow-slug&gt;.dll).
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Local files to copy into the image: @{ 'flows/my_flow.cs' = '/flows/my_flow.cs' } (local path = path in the image).</summary>
    [Parameter]
    public Hashtable? Files { get; set; }

    /// <summary>A Dockerfile the image is built from (its folder is the build context); the files are copied in after its instructions.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Dockerfile { get; set; }

    /// <summary>The image to build on (FROM) when no -Dockerfile is given; scratch by default.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BaseImage { get; set; }

    /// <summary>Runs read the flow script from the image; without it the compiled flow goes into the image (frozen).</summary>
    [Parameter]
    public SwitchParameter StoredAsScript { get; set; }

    /// <summary>
    /// The Docker engine, e.g. unix:///var/run/docker.sock or tcp://host:2375; else $env:DOCKER_HOST, else
    /// unix:///var/run/docker.sock. Runs on an agent where no engine answers read the image from the registry.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DockerHost { get; set; }

    /// <summary>
    /// Name of the secret (Set-FlowSecret, environment variable or vault) with the registry credentials:
    /// "user:password" or JSON {"username": "...", "password": "..."}.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RegistryCredentialsSecret { get; set; }

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet)
    {
        if (Dockerfile is not null && BaseImage is not null)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                "Use -Dockerfile or -BaseImage, not both: the Dockerfile's FROM names the base image.") { Target = Dockerfile };
        }
        Dictionary<string, string>? files = null;
        if (Files is not null)
        {
            files = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in Files)
            {
                var source = entry.Key?.ToString();
                var destination = entry.Value?.ToString();
                if (string.IsNullOrEmpty(source) || string.IsNullOrEmpty(destination))
                {
                    throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                        "-Files maps local files to paths in the image: @{ 'flows/my_flow.cs' = '/flows/my_flow.cs' }; an entry is empty.");
                }
                files[cmdlet.GetUnresolvedProviderPathFromPSPath(source)] = destination!;
            }
        }
        return new DockerStorage(
            Path,
            files,
            StoredAsScript.IsPresent,
            RegistryUrl,
            ImageName,
            ImageTag,
            Dockerfile is null ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(Dockerfile),
            BaseImage,
            DockerHost,
            RegistryCredentialsSecret);
    }
}
