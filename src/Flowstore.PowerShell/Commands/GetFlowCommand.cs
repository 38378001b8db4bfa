namespace Flowstore.Commands;

/// <summary>
/// Get-Flow: lists registered flows (latest versions; -AllVersions for every version, archived included), each with
/// its storage as typed settings and its structure as objects.
/// </summary>
[Cmdlet(VerbsCommon.Get, "Flow", DefaultParameterSetName = ByName)]
[OutputType(typeof(FlowInfo))]
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
        var result = ParameterSetName == ById
            ? RunOrTerminate(ct => Client.Catalog.GetByIdsAsync(Id, ct))
            : RunOrTerminate(ct => Client.Catalog.SearchAsync(new FlowSearch
            {
                Names = Name,
                Project = Project,
                Version = Version,
                AllVersions = AllVersions.IsPresent,
            }, ct));
        foreach (var missing in result.Missing)
        {
            WriteError(ToErrorRecord(missing));
        }
        WriteObject(result.Flows.Select(FlowInfo.From), enumerateCollection: true);
    }
}
