namespace Flowstore.Commands;

/// <summary>
/// Start-FlowRun: starts a run of a registered flow. Without -Wait the run is queued for an agent
/// (Start-FlowAgent); with -Wait it runs here and now: the current script is fetched from the flow's storage,
/// its structure checked against the registered one, and its tasks run. A failed run under -Wait writes an
/// error record and still outputs the run.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "FlowRun", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(FlowRunRecord))]
public sealed class StartFlowRunCommand : FlowCmdlet
{
    private const string ByName = "ByName";
    private const string ByObject = "ByObject";
    private const string Pin = "Pinned";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string Project { get; set; } = "";

    /// <summary>A given version (default: the latest registered).</summary>
    [Parameter(ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    public int? Version { get; set; }

    /// <summary>A flow version from Get-Flow.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByObject, ValueFromPipeline = true)]
    public FlowInfo? InputObject { get; set; }

    /// <summary>Re-run exactly the script an earlier run executed (when its storage keeps versions).</summary>
    [Parameter(Mandatory = true, ParameterSetName = Pin)]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    public Guid Pinned { get; set; }

    [Parameter]
    public Hashtable? Parameters { get; set; }

    /// <summary>Run here and now and return when done.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        FlowRecord flow;
        FlowRunRecord? pinned = null;
        try
        {
            if (ParameterSetName == Pin)
            {
                // The earlier run is read once and passed down: its flow version and its storage version.
                pinned = Await(ct => Client.GetRunAsync(Pinned, ct));
                flow = Await(ct => Client.GetFlowOfRunAsync(pinned, ct));
            }
            else
            {
                flow = ReadFlow(InputObject, Name, Project, Version);
            }
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, Name));
            return;
        }

        var action = Wait.IsPresent ? "Run here and now" : "Queue a run";
        if (!ShouldProcess($"flow '{flow.Name}' version {flow.Version} in project '{flow.Project}'", action))
        {
            return;
        }
        var parameters = ToDictionary(Parameters);
        try
        {
            if (!Wait.IsPresent)
            {
                WriteObject(Await(ct => Client.Runs.QueueRunAsync(flow, parameters, pinned, ct)));
                return;
            }
            var progress = new RunProgress(this, $"Run of flow '{flow.Name}'");
            var run = Await(ct => Client.Runs.RunNowAsync(flow, parameters, pinned, progress, ct));
            progress.Complete(run, flow);
            WriteObject(run);
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, flow.Name));
        }
    }
}
