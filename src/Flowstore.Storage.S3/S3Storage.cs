namespace Flowstore;

/// <summary>S3 storage settings (placeholder: the provider is being written).</summary>
public sealed class S3Storage : StorageSettings
{
    public override string Type => "S3";

    public bool StoredAsScript { get; set; }

    public override bool IsScript => StoredAsScript;

    public override string Locator => "s3:";
}
