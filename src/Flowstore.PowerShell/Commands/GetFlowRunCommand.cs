namespace Flowstore.Commands;

/// <summary>Get-FlowRun: runs by id, or filtered by flow, project and state; newest first.</summary>
[Cmdlet(VerbsCommon.Get, "FlowRun", DefaultParameterSetName = ByFilter)]
[OutputType(typeof(FlowRunRecord))]
public sealed class GetFlowRunCommand : FlowCmdlet
{
    private const string ByFilter = "ByFilter";
    private const string ById = "ById";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ById, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    public Guid[] Id { get; set; } = Array.Empty<Guid>();

    /// <summary>The flow's name.</summary>
    [Parameter(Position = 0, ParameterSetName = ByFilter)]
    [Alias("FlowName")]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = ByFilter)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string? Project { get; set; }

    // A string, not RunState: a value-type field of an engine type would make PowerShell load the engine
    // while it reflects over the module's types, before the module's assembly resolver is installed.
    [Parameter(ParameterSetName = ByFilter)]
    [ValidateSet("Scheduled", "Running", "Success", "Failed", "Cancelled", IgnoreCase = true)]
    public string? State { get; set; }

    /// <summary>Only the newest N runs.</summary>
    [Parameter(ParameterSetName = ByFilter)]
    [ValidateRange(1, int.MaxValue)]
    public int? Last { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ById)
        {
            foreach (var id in Id)
            {
                try
                {
                    WriteObject(Await(ct => Client.GetRunAsync(id, ct)));
                }
                catch (FlowstoreException e)
                {
                    WriteError(ToErrorRecord(e, id));
                }
            }
            return;
        }
        WriteObject(RunOrTerminate(ct => Client.GetRunsAsync(new RunQuery { FlowName = Name, Project = Project, State = State is null ? null : Enum.Parse<RunState>(State, ignoreCase: true), Last = Last }, ct)),
            enumerateCollection: true);
    }
}
