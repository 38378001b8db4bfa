namespace Flowstore.Storage.Docker;

/// <summary>The errors of Docker storage, each naming the image, path, engine or registry at fault.</summary>
internal static class DockerErrors
{
    public static FlowstoreException ImageNotFound(string image, string detail) =>
        new(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
            $"The image {image} was not found: {detail}. Check ImageName/ImageTag/RegistryUrl, or build and push it by publishing the script.")
        { Target = image, Hint = FlowHint.PublishScript() };

    public static FlowstoreException PathNotInImage(string image, string path) =>
        new(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
            $"The image {image} has no file '{path}'. Check the storage's Path (where the flow is in the image) or the Files the image was built with.") { Target = $"{image}:{path}" };

    public static FlowstoreException RegistryDenied(ImageReference image, string detail) =>
        new(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied,
            $"The registry {image.Registry} denied access to {image}: {detail}. Check the secret named by RegistryCredentialsSecret.") { Target = image.ToString() };

    public static FlowstoreException NoEngineNoRegistry(string host, string image, string detail) =>
        new(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
            $"No Docker engine answers at {host} ({detail}) and the image {image} names no registry to read it from instead. " +
            "Start the engine, set DockerHost/DOCKER_HOST to one that runs, or push the image to a registry (RegistryUrl).") { Target = image };

    public static FlowstoreException NoEngineForBuild(string host, string image, string detail) =>
        new(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
            $"Building the image {image} needs a Docker engine; none answers at {host} ({detail}). " +
            "Start the engine or set DockerHost/DOCKER_HOST to one that runs.") { Target = image };
}
