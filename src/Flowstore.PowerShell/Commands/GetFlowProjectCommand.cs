namespace Flowstore.Commands;

/// <summary>Get-FlowProject: lists projects, optionally by name (wildcards allowed).</summary>
[Cmdlet(VerbsCommon.Get, "FlowProject")]
[OutputType(typeof(ProjectInfo))]
public sealed class GetFlowProjectCommand : FlowCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var projects = RunOrTerminate(ct => Client.GetProjectsAsync(null, ct));
        if (Name is null || Name.Length == 0)
        {
            WriteObject(projects, enumerateCollection: true);
            return;
        }
        foreach (var name in Name)
        {
            var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
            var matches = projects.Where(p => pattern.IsMatch(p.Name)).ToArray();
            if (matches.Length == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
            {
                WriteError(ToErrorRecord(new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                    $"Project '{name}' does not exist in {Client.Backend.Description}."), name));
            }
            WriteObject(matches, enumerateCollection: true);
        }
    }
}
