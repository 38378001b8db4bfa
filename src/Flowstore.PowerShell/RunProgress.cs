namespace Flowstore.Commands;

/// <summary>
/// Shows a running flow: progress (tasks done / total), each task's output as host information, warnings as warnings,
/// error lines as red "ERROR: [task] ..." host information, and the rest (the provenance lines, task states) as verbose.
/// </summary>
internal sealed class RunProgress(FlowCmdlet cmdlet, string activity) : IRunObserver
{
    private readonly FlowCmdlet _cmdlet = cmdlet;
    private readonly string _activity = activity;

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
                _cmdlet.PostHostError(prefix + entry.Message);
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
    public void Complete(FlowRunResult result, FlowRecord? flow = null)
    {
        _cmdlet.WriteProgress(new ProgressRecord(1, _activity, "done") { RecordType = ProgressRecordType.Completed });
        Report(_cmdlet, RunErrors.Of(result, flow), result);
    }

    /// <summary>Closes the progress bar and reports a recorded run that did not succeed.</summary>
    public void Complete(FlowRunRecord run, FlowRecord? flow = null)
    {
        _cmdlet.WriteProgress(new ProgressRecord(1, _activity, "done") { RecordType = ProgressRecordType.Completed });
        ReportEnd(_cmdlet, run, flow);
    }

    /// <summary>An error record for a run that ended Failed or Cancelled (so $ErrorActionPreference = 'Stop' fails a CI step).</summary>
    public static void ReportEnd(Cmdlet cmdlet, FlowRunRecord run, FlowRecord? flow = null) => Report(cmdlet, RunErrors.Of(run, flow), run);

    private static void Report(Cmdlet cmdlet, FlowstoreException? error, object target)
    {
        if (error is not null)
        {
            cmdlet.WriteError(FlowCmdlet.ToErrorRecord(error, target));
        }
    }
}
