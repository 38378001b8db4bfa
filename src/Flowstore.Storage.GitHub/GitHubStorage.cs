namespace Flowstore;

/// <summary>GitHub storage settings (placeholder: the provider is being written).</summary>
public sealed class GitHubStorage : StorageSettings
{
    public override string Type => "GitHub";

    public override bool IsScript => true;

    public override string Locator => "github:";
}
