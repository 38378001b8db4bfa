namespace Flowstore.Commands;

/// <summary>Stop-FlowRun: cancels a queued run at once, and asks a running one to stop (its agent cancels it at the next heartbeat).</summary>
[Cmdlet(VerbsLifecycle.Stop, "FlowRun", SupportsShouldProcess = true)]
[OutputType(typeof(FlowRunRecord))]
public sealed class StopFlowRunCommand : FlowCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    public Guid[] Id { get; set; } = Array.Empty<Guid>();

    /// <summary>Output the run after the request.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var id in Id)
        {
            if (!ShouldProcess($"run {id}", "Stop"))
            {
                continue;
            }
            try
            {
                var run = Await(ct => Client.StopRunAsync(id, ct));
                if (PassThru.IsPresent)
                {
                    WriteObject(run);
                }
            }
            catch (FlowstoreException e)
            {
                WriteError(ToErrorRecord(e, id));
            }
        }
    }
}
