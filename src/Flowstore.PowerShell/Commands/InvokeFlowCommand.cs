namespace Flowstore.Commands;

/// <summary>Invoke-Flow: runs a flow straight from a script file, without a backend (the development loop).</summary>
[Cmdlet(VerbsLifecycle.Invoke, "Flow")]
[OutputType(typeof(FlowRunResult))]
public sealed class InvokeFlowCommand : FlowCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>The flow to run when the script holds several.</summary>
    [Parameter]
    public string? Name { get; set; }

    [Parameter]
    public Hashtable? Parameters { get; set; }

    protected override void ProcessRecord()
    {
        var file = GetUnresolvedProviderPathFromPSPath(Path);
        var progress = new RunProgress(this, "Invoke-Flow");
        FlowRunResult result;
        try
        {
            result = Await(ct => Client.InvokeScriptAsync(file, Name, ToDictionary(Parameters), progress, ct));
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, file));
            return;
        }
        progress.Complete(result);
        WriteObject(result);
    }
}
