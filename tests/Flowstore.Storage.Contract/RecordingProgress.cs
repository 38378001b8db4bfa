namespace Flowstore.Storage.Contract;

/// <summary>Progress reports of a storage operation, in order (collected synchronously, safe across threads).</summary>
public sealed class RecordingProgress : IProgress<StorageProgress>
{
    private readonly List<StorageProgress> _reports = [];

    public IReadOnlyList<StorageProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return _reports.ToArray();
            }
        }
    }

    public void Report(StorageProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }
}
