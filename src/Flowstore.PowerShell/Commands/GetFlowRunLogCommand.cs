namespace Flowstore.Commands;

/// <summary>Get-FlowRunLog: a run's log: task states, retries, task output and log calls, in order.</summary>
[Cmdlet(VerbsCommon.Get, "FlowRunLog", DefaultParameterSetName = ById)]
[OutputType(typeof(RunLogEntry))]
public sealed class GetFlowRunLogCommand : FlowCmdlet
{
    private const string ById = "ById";
    private const string ByRun = "ByRun";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ById, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    public Guid Id { get; set; }

    /// <summary>A run from Start-FlowRun or Get-FlowRun.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByRun, ValueFromPipeline = true)]
    public FlowRunRecord? Run { get; set; }

    /// <summary>Only the lines of this task.</summary>
    [Parameter]
    public string? Task { get; set; }

    /// <summary>Output each line as it is written, until the run ends (also a run on another machine, through a server).</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord()
    {
        var id = Run?.Id ?? Id;
        try
        {
            if (Follow.IsPresent)
            {
                var ended = Await(ct => Client.FollowRunLogAsync(id, entry =>
                {
                    if (Task is null || string.Equals(entry.Task, Task, StringComparison.OrdinalIgnoreCase))
                    {
                        PostAction(() => WriteObject(entry));
                    }
                }, ct));
                WriteVerbose($"Run {id} of flow '{ended.FlowName}' ended {ended.State}.");
                return;
            }
            // GetRunAsync first: an unknown id is a RunNotFound error, not an empty log.
            var log = Await(async ct =>
            {
                await Client.GetRunAsync(id, ct).ConfigureAwait(false);
                return await Client.GetRunLogAsync(id, ct).ConfigureAwait(false);
            });
            WriteObject(log.Where(e => Task is null || string.Equals(e.Task, Task, StringComparison.OrdinalIgnoreCase)), enumerateCollection: true);
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, id));
        }
    }
}
