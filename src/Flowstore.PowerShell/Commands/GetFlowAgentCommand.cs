namespace Flowstore.Commands;

/// <summary>
/// Get-FlowAgent: the agents the backend has seen (name, host, labels, last sign of life, current runs, version),
/// sorted by name; -Name filters by name (wildcards). Agents not seen for a day (FLOWSTORE_AGENT_LIST_WINDOW) are left
/// out unless -All is given; the agents' sweep removes those not seen for 7 days (FLOWSTORE_AGENT_RETENTION).
/// </summary>
[Cmdlet(VerbsCommon.Get, "FlowAgent")]
[OutputType(typeof(AgentRecord))]
public sealed class GetFlowAgentCommand : FlowCmdlet
{
    /// <summary>Only agents whose name matches one of these (wildcards, ignoring case).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Also the agents not seen within the list window (a day by default).</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var agents = RunOrTerminate(ct => Client.GetAgentsAsync(All.IsPresent, ct));
        var patterns = (Name ?? Array.Empty<string>()).Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        WriteObject(agents.Where(a => patterns.Length == 0 || patterns.Any(p => p.IsMatch(a.Name))), enumerateCollection: true);
    }
}
