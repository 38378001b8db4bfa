
namespace Flowstore.Storage.Gcs;

/// <summary>
/// Google Cloud Storage: the object storage of <see cref="ObjectStorageProvider{TSettings}"/> with the object's
/// generation as the storage version (pinned runs download that generation). The GCS calls, their retries and
/// errors are <see cref="GcsConnection"/>'s.
/// </summary>
public sealed partial class GcsStorageProvider : ObjectStorageProvider<GcsStorage>
{
    private readonly StorageRetry _retry;

    public GcsStorageProvider()
        : this(GcsRetryOptions.Default, TimeProvider.System)
    {
    }

    internal GcsStorageProvider(GcsRetryOptions retry, TimeProvider time)
        : base(time) => _retry = new StorageRetry(retry.Retry);

    public override string Type => "Gcs";

    protected override string DisplayName => "GCS";

    /// <summary>A generated key: &lt;flow-slug&gt;/&lt;utc timestamp&gt;&lt;suffix&gt;, e.g. etl/20261128T174500Z.</summary>
    internal string NewKey(string prefix, string suffix = "", int n = 1) => GeneratedKeys.Key(prefix, Time.GetUtcNow(), suffix, n);

    protected override async Task<IObjectStore> OpenAsync(GcsStorage settings, ISecretResolver secrets, Action<string> log, CancellationToken cancellationToken)
        => await GcsConnection.OpenAsync(settings, secrets, _retry, log, cancellationToken).ConfigureAwait(false);
}
