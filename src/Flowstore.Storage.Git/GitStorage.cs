namespace Flowstore;

/// <summary>Git storage settings (placeholder: the provider is being written).</summary>
public sealed class GitStorage : StorageSettings
{
    public override string Type => "Git";

    public override bool IsScript => true;

    public override string Locator => "git:";
}
