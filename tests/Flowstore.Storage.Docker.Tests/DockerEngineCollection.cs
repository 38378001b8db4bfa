namespace Flowstore.Storage.Docker.Tests;

/// <summary>
/// Test classes that build images with the same steps on the one test engine and remove images after failed
/// pushes: they run one after another, because the engine may hand a build a cached image that a concurrent
/// removal is deleting ("failed to get digest ... no such file").
/// </summary>
[CollectionDefinition(Name)]
public sealed class DockerEngineCollection
{
    public const string Name = "Docker engine builds";
}
