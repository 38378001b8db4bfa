using System.Collections;
using System.Management.Automation;
using Flowstore.Engine;

namespace Flowstore.Commands;

/// <summary>
/// Start-FlowRun: runs a registered flow. With -Wait the run happens here and now: the current script is
/// fetched from the flow's storage, its structure checked against the registered one, and its tasks run.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "FlowRun", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(FlowRunResult))]
public sealed class StartFlowRunCommand : FlowCmdlet
{
    private const string ByName = "ByName";
    private const string ByObject = "ByObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string Project { get; set; } = "";

    /// <summary>A flow version from Get-Flow.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByObject, ValueFromPipeline = true)]
    public FlowRecord? InputObject { get; set; }

    /// <summary>A given version (default: the latest registered).</summary>
    [Parameter(ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    public int? Version { get; set; }

    [Parameter]
    public Hashtable? Parameters { get; set; }

    /// <summary>Run here and now and return when done.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        if (!Wait.IsPresent)
        {
            ThrowTerminatingError(new ErrorRecord(
                new PSNotSupportedException("Queued runs need a run queue and an agent, which this version does not have yet; use -Wait to run the flow here and now."),
                "RunQueueUnavailable", ErrorCategory.NotImplemented, Name));
        }
        FlowRecord flow;
        try
        {
            flow = InputObject ?? Run(ct => Client.GetFlowAsync(Name, Project, Version, ct));
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, Name));
            return;
        }
        if (!ShouldProcess($"flow '{flow.Name}' version {flow.Version} in project '{flow.Project}'", "Run"))
        {
            return;
        }
        var progress = new RunProgress(this, "Start-FlowRun");
        FlowRunResult result;
        try
        {
            result = Run(ct => Client.RunAsync(flow, ToDictionary(Parameters), progress, ct));
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, flow.Name));
            return;
        }
        progress.Complete(result);
        WriteObject(result);
    }
}
