namespace Flowstore.Commands;

/// <summary>Unregister-Flow: archives a flow (all its versions); it stays in history but no longer runs.</summary>
[Cmdlet(VerbsLifecycle.Unregister, "Flow", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
[OutputType(typeof(FlowInfo))]
public sealed class UnregisterFlowCommand : FlowCmdlet
{
    private const string ByName = "ByName";
    private const string ByObject = "ByObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string Project { get; set; } = "";

    /// <summary>A flow from Get-Flow.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByObject, ValueFromPipeline = true)]
    public FlowInfo? InputObject { get; set; }

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the archived flow.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        FlowRecord flow;
        try
        {
            flow = ReadFlow(InputObject, Name, Project, version: null);
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, Name));
            return;
        }
        if (!ShouldProcessOrForce($"flow '{flow.Name}' in project '{flow.Project}' (all versions)", "Unregister (archive)", Force.IsPresent))
        {
            return;
        }
        var changed = RunOrTerminate(ct => Client.UnregisterAsync(flow, ct), flow.Name);
        WriteVerbose($"Archived {changed} version(s) of flow '{flow.Name}'.");
        if (PassThru.IsPresent)
        {
            WriteObject(RunOrTerminate(ct => Client.GetFlowsAsync(new FlowQuery { Id = flow.Id, IncludeArchived = true }, ct)).Select(FlowInfo.From),
                enumerateCollection: true);
        }
    }
}
