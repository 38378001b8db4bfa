namespace Flowstore.Commands;

/// <summary>Wait-FlowRun: waits until runs end; a run that ended Failed or Cancelled writes an error and is still output.</summary>
[Cmdlet(VerbsLifecycle.Wait, "FlowRun")]
[OutputType(typeof(FlowRunRecord))]
public sealed class WaitFlowRunCommand : FlowCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    public Guid[] Id { get; set; } = Array.Empty<Guid>();

    /// <summary>Give up after this many seconds (error RunWaitTimedOut); by default wait as long as it takes.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSeconds { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var id in Id)
        {
            try
            {
                var run = Await(ct => Client.WaitRunAsync(id, TimeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : null, ct));
                RunProgress.ReportEnd(this, run);
                WriteObject(run);
            }
            catch (FlowstoreException e)
            {
                WriteError(ToErrorRecord(e, id));
            }
        }
    }
}
