namespace Flowstore;

/// <summary>Docker storage settings (placeholder: the provider is being written).</summary>
public sealed class DockerStorage : StorageSettings
{
    public override string Type => "Docker";

    public bool StoredAsScript { get; set; }

    public override bool IsScript => StoredAsScript;

    public override string Locator => "docker:";
}
