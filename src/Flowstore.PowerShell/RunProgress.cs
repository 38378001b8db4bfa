using System.Management.Automation;
using Flowstore.Engine;

namespace Flowstore.Commands;

/// <summary>Shows a running flow: progress (tasks done / total) and each task's output as host information.</summary>
internal sealed class RunProgress : IRunObserver
{
    private readonly FlowCmdlet _cmdlet;
    private readonly string _activity;

    public RunProgress(FlowCmdlet cmdlet, string activity)
    {
        _cmdlet = cmdlet;
        _activity = activity;
    }

    public void TaskStateChanged(TaskRunResult task, int done, int total)
    {
        var percent = total == 0 ? 100 : (int)(100.0 * done / total);
        _cmdlet.PostProgress(new ProgressRecord(1, _activity, $"{done}/{total} tasks done; {task.Name}: {task.State}") { PercentComplete = percent });
    }

    public void LogWritten(RunLogEntry entry)
    {
        var prefix = entry.Task is null ? "" : $"[{entry.Task}] ";
        switch (entry.Level)
        {
            case "Warning":
                _cmdlet.PostWarning(prefix + entry.Message);
                break;
            case "Error":
                _cmdlet.PostWarning(prefix + "ERROR: " + entry.Message);
                break;
            case "Output":
                _cmdlet.PostHost(prefix + entry.Message);
                break;
            default:
                _cmdlet.PostVerbose(prefix + entry.Message);
                break;
        }
    }

    /// <summary>Closes the progress bar and turns a failed run into an error record (the run object is still output).</summary>
    public void Complete(FlowRunResult result)
    {
        _cmdlet.WriteProgress(new ProgressRecord(1, _activity, "done") { RecordType = ProgressRecordType.Completed });
        if (result.State != RunState.Success)
        {
            var error = new FlowstoreException(result.State == RunState.Cancelled ? "FlowRunCancelled" : "FlowRunFailed",
                FlowErrorKind.InvalidOperation, $"Run of flow '{result.FlowName}' {result.State}: {result.Error}");
            _cmdlet.WriteError(FlowCmdlet.ToErrorRecord(error, result));
        }
    }
}
