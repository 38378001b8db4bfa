namespace Flowstore.Commands;

/// <summary>
/// Publish-FlowScript: puts a flow script into its storage on its own, as a CI step before Register-Flow:
/// commits it (GitHub, GitLab, Bitbucket Server, Git), uploads it (S3, GCS) or builds and pushes an image
/// (Docker). Outputs the storage that now holds it, with the storage's version, for Register-Flow.
/// </summary>
[Cmdlet(VerbsData.Publish, "FlowScript", SupportsShouldProcess = true)]
[OutputType(typeof(FlowPublication))]
public sealed class PublishFlowScriptCommand : FlowCmdlet
{
    /// <summary>The flow script to publish.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Where to publish; defaults to the storage the script's flow sets.</summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    public StorageSettings? Storage { get; set; }

    /// <summary>The flow, when the script declares several.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(FlowNameCompleter))]
    public string? Name { get; set; }

    /// <summary>Commit message (Git hosts and Git).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Message { get; set; }

    /// <summary>Branch to commit to (Git hosts and Git); defaults to the storage's ref, else the default branch.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Branch { get; set; }

    protected override void ProcessRecord()
    {
        var file = GetUnresolvedProviderPathFromPSPath(Path);
        var target = Storage is null ? $"'{file}' to the storage its flow sets" : $"'{file}' to {Storage}";
        if (!ShouldProcess(target, "Publish flow script"))
        {
            return;
        }
        var progress = new StorageProgressReporter(this);
        try
        {
            var options = new PublishOptions
            {
                Storage = Storage,
                Name = Name,
                Message = Message,
                Branch = Branch,
                Progress = progress,
                OnWarning = PostWarning,
            };
            var published = Await(ct => Client.PublishAsync(file, options, PostVerbose, ct));
            progress.Complete();
            WriteVerbose($"Published '{file}' (flow '{published.Flow}') to {published.Location}, version {published.StorageVersion}.");
            WriteObject(published);
        }
        catch (FlowstoreException e)
        {
            progress.Complete();
            WriteError(ToErrorRecord(e, file));
        }
    }
}
