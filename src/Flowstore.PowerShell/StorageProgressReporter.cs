namespace Flowstore.Commands;

/// <summary>Shows a storage operation (upload, build, push) as a progress bar of the calling cmdlet.</summary>
internal sealed class StorageProgressReporter : IProgress<StorageProgress>
{
    private const int ActivityId = 2;
    private readonly FlowCmdlet _cmdlet;
    private string? _activity;

    public StorageProgressReporter(FlowCmdlet cmdlet) => _cmdlet = cmdlet;

    public void Report(StorageProgress value)
    {
        _activity = value.Activity;
        var done = value.PercentComplete >= 100;
        _cmdlet.PostProgress(new ProgressRecord(ActivityId, value.Activity, string.IsNullOrEmpty(value.Status) ? value.Activity : value.Status)
        {
            PercentComplete = Math.Min(value.PercentComplete, 100),
            RecordType = done ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        });
        if (done)
        {
            _activity = null;
        }
    }

    /// <summary>Closes a bar left open (an operation that failed or reported no 100 %); call on the pipeline thread.</summary>
    public void Complete()
    {
        if (_activity is { } activity)
        {
            _cmdlet.WriteProgress(new ProgressRecord(ActivityId, activity, "done") { RecordType = ProgressRecordType.Completed });
            _activity = null;
        }
    }
}
