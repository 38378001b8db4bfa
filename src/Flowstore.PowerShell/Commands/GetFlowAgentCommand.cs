namespace Flowstore.Commands;

/// <summary>
/// Get-FlowAgent: the agents the backend has seen (name, host, labels, last sign of life, current runs, version),
/// sorted by name; -Name filters by name (wildcards).
/// </summary>
[Cmdlet(VerbsCommon.Get, "FlowAgent")]
[OutputType(typeof(AgentRecord))]
public sealed class GetFlowAgentCommand : FlowCmdlet
{
    /// <summary>Only agents whose name matches one of these (wildcards, ignoring case).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var agents = RunOrTerminate(ct => Client.GetAgentsAsync(ct));
        var patterns = (Name ?? Array.Empty<string>()).Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        WriteObject(agents.Where(a => patterns.Length == 0 || patterns.Any(p => p.IsMatch(a.Name))), enumerateCollection: true);
    }
}
