using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>Get-Flow: lists registered flows (latest versions; -AllVersions for every version, archived included).</summary>
[Cmdlet(VerbsCommon.Get, "Flow", DefaultParameterSetName = ByName)]
[OutputType(typeof(FlowRecord))]
public sealed class GetFlowCommand : FlowCmdlet
{
    private const string ByName = "ByName";
    private const string ById = "ById";

    [Parameter(Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter(ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string? Project { get; set; }

    [Parameter(ParameterSetName = ByName)]
    public int? Version { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ById, ValueFromPipelineByPropertyName = true)]
    public Guid[] Id { get; set; } = Array.Empty<Guid>();

    /// <summary>Every version, archived ones included, not only the latest.</summary>
    [Parameter]
    public SwitchParameter AllVersions { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ById)
        {
            foreach (var id in Id)
            {
                var found = RunOrTerminate(ct => Client.GetFlowsAsync(new FlowQuery { Id = id, IncludeArchived = true }, ct), id);
                if (found.Count == 0)
                {
                    WriteError(ToErrorRecord(new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                        $"No flow version has id {id}."), id));
                }
                WriteObject(found, enumerateCollection: true);
            }
            return;
        }

        var all = RunOrTerminate(ct => Client.GetFlowsAsync(new FlowQuery
        {
            Project = Project,
            Version = Version,
            IncludeArchived = AllVersions.IsPresent || Version is not null,
        }, ct));
        IEnumerable<FlowRecord> flows = all;
        if (!AllVersions.IsPresent && Version is null)
        {
            flows = flows.GroupBy(f => f.VersionGroupId).Select(g => g.MaxBy(f => f.Version)!);
        }
        if (Name is { Length: > 0 })
        {
            var patterns = Name.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
            flows = flows.Where(f => patterns.Any(p => p.IsMatch(f.Name)));
            foreach (var missing in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && !all.Any(f => string.Equals(f.Name, n, StringComparison.OrdinalIgnoreCase))))
            {
                WriteError(ToErrorRecord(new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                    Project is null ? $"Flow '{missing}' is not registered." : $"Flow '{missing}' is not registered in project '{Project}'."), missing));
            }
        }
        WriteObject(flows.OrderBy(f => f.Project, StringComparer.OrdinalIgnoreCase).ThenBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .ThenByDescending(f => f.Version).ToArray(), enumerateCollection: true);
    }
}
