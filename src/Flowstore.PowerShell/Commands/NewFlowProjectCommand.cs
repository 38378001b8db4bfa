namespace Flowstore.Commands;

/// <summary>New-FlowProject: creates a project (a named group of flows).</summary>
[Cmdlet(VerbsCommon.New, "FlowProject", SupportsShouldProcess = true)]
[OutputType(typeof(ProjectInfo))]
public sealed class NewFlowProjectCommand : FlowCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter]
    public string? Description { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (!ShouldProcess($"project '{name}'", "Create project"))
            {
                continue;
            }
            try
            {
                WriteObject(Await(ct => Client.CreateProjectAsync(name, Description, ct)));
            }
            catch (FlowstoreException e)
            {
                WriteError(ToErrorRecord(e, name));
            }
        }
    }
}
