namespace Flowstore;

/// <summary>GitLab storage settings (placeholder: the provider is being written).</summary>
public sealed class GitLabStorage : StorageSettings
{
    public override string Type => "GitLab";

    public override bool IsScript => true;

    public override string Locator => "gitlab:";
}
