namespace Flowstore.Engine;

/// <summary>
/// The error a run that did not succeed stands for, so that a caller waiting for it (a CI step) fails: a Failed
/// run keeps its own error id (the fetch, load, structure or parameter error that ended it; the id of an error
/// Flowstore raised inside a task, such as SecretNotFound; FlowRunFailed when a task failed otherwise), a Cancelled
/// run is FlowRunCancelled. Null for a run that succeeded or has not ended.
/// </summary>
public static class RunErrors
{
    public const string Failed = "FlowRunFailed";
    public const string Cancelled = "FlowRunCancelled";

    /// <param name="run">The run as it ended.</param>
    /// <param name="flow">The flow version it ran, when the caller holds it: the suggested fix can then name its script.</param>
    public static FlowstoreException? Of(FlowRunRecord run, FlowRecord? flow = null)
        => Of(run.State, run.FlowName, run.Error, run.ErrorId, run.Project, flow?.ScriptPath);

    public static FlowstoreException? Of(FlowRunResult result, FlowRecord? flow = null)
        => Of(result.State, result.FlowName, result.Error, result.ErrorId, result.Project ?? flow?.Project, flow?.ScriptPath);

    public static FlowstoreException? Of(RunState state, string flow, string? message, string? errorId, string? project = null, string? scriptPath = null)
    {
        if (state is RunState.Success or RunState.Scheduled or RunState.Running)
        {
            return null;
        }
        var id = state == RunState.Cancelled ? Cancelled : errorId is null or Failed ? Failed : errorId;
        return new FlowstoreException(id, FlowErrorKind.InvalidOperation, $"Run of flow '{flow}' {state}: {message}")
        {
            // The recorded run keeps the message only; the fix its error suggests is worked out again here.
            Hint = id switch
            {
                ErrorIds.StructureChanged or ErrorIds.FlowLoadFailed => FlowHint.RegisterFlow(scriptPath, project),
                ErrorIds.PinnedVersionUnavailable => FlowHint.RunUnpinned(),
                _ => null,
            },
        };
    }
}
