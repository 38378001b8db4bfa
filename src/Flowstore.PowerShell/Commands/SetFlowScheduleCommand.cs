namespace Flowstore.Commands;

/// <summary>
/// Set-FlowSchedule: pauses (-Paused) or resumes (-Active) the schedule of a registered flow. Resuming starts from now:
/// occurrences that fell while it was paused get no run.
/// </summary>
[Cmdlet(VerbsCommon.Set, "FlowSchedule", SupportsShouldProcess = true, DefaultParameterSetName = Pause)]
[OutputType(typeof(FlowScheduleInfo))]
public sealed class SetFlowScheduleCommand : FlowCmdlet
{
    private const string Pause = "Paused";
    private const string Resume = "Active";

    /// <summary>The flow (its latest version).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The flow's project.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string Project { get; set; } = "";

    /// <summary>Pause the schedule: it creates no runs until made active.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Pause)]
    public SwitchParameter Paused { get; set; }

    /// <summary>Make the schedule active: runs are created from its next occurrence on.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Resume)]
    public SwitchParameter Active { get; set; }

    /// <summary>Output the schedule as it is now.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var pause = ParameterSetName == Pause;
        if (!ShouldProcess($"schedule of flow '{Name}' in project '{Project}'", pause ? "Pause" : "Make active"))
        {
            return;
        }
        FlowScheduleInfo schedule;
        try
        {
            schedule = Await(ct => Client.Schedules.SetPausedAsync(Project, Name, pause, cancellationToken: ct));
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, Name));
            return;
        }
        WriteVerbose($"The schedule of flow '{schedule.Name}' ({schedule.Schedule}) is {schedule.State.ToLowerInvariant()}" +
            (schedule.Next is { } next ? $"; next run at {next:u}." : "."));
        if (PassThru.IsPresent)
        {
            WriteObject(schedule);
        }
    }
}
