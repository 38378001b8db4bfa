namespace Flowstore.Commands;

/// <summary>Test-FlowScript: loads a flow script and describes its flows (tasks, edges, parameters, hashes) without registering.</summary>
[Cmdlet(VerbsDiagnostic.Test, "FlowScript")]
[OutputType(typeof(FlowDescription))]
public sealed class TestFlowScriptCommand : FlowCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var file in PathResolver.ResolveScripts(this, Path))
        {
            try
            {
                WriteObject(Await(ct => Client.TestScriptAsync(file, Name, ct)), enumerateCollection: true);
            }
            catch (FlowstoreException e)
            {
                WriteError(ToErrorRecord(e, file));
            }
        }
    }
}
