namespace Flowstore.Commands;

/// <summary>
/// Get-FlowSchedule: the schedules of registered flows (their latest versions): what each is, whether it is active or
/// paused, its next occurrences, and the last run it created.
/// </summary>
[Cmdlet(VerbsCommon.Get, "FlowSchedule")]
[OutputType(typeof(FlowScheduleInfo))]
public sealed class GetFlowScheduleCommand : FlowCmdlet
{
    /// <summary>Only flows whose name matches one of these (wildcards, ignoring case).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Only flows of this project.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string? Project { get; set; }

    /// <summary>How many next occurrences to show (NextOccurrences); default 5.</summary>
    [Parameter]
    [ValidateRange(0, 1000)]
    public int Next { get; set; } = 5;

    protected override void ProcessRecord()
    {
        var schedules = RunOrTerminate(ct => Client.Schedules.GetAsync(Project, Name, Next, ct));
        WriteObject(schedules, enumerateCollection: true);
    }
}
