namespace Flowstore;

/// <summary>Gcs storage settings (placeholder: the provider is being written).</summary>
public sealed class GcsStorage : StorageSettings
{
    public override string Type => "Gcs";

    public bool StoredAsScript { get; set; }

    public override bool IsScript => StoredAsScript;

    public override string Locator => "gcs:";
}
