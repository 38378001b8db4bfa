namespace Flowstore;

/// <summary>Bitbucket storage settings (placeholder: the provider is being written).</summary>
public sealed class BitbucketStorage : StorageSettings
{
    public override string Type => "Bitbucket";

    public override bool IsScript => true;

    public override string Locator => "bitbucket:";
}
