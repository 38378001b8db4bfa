namespace Flowstore.Commands;

/// <summary>Remove-FlowSecret: deletes a secret from the Flowstore secret store.</summary>
[Cmdlet(VerbsCommon.Remove, "FlowSecret", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveFlowSecretCommand : FlowCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SecretNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (!ShouldProcessOrForce($"secret '{name}'", "Remove from the Flowstore secret store", Force.IsPresent))
            {
                continue;
            }
            try
            {
                Await(ct => Client.RemoveSecretAsync(name, ct));
            }
            catch (FlowstoreException e)
            {
                WriteError(ToErrorRecord(e, name));
            }
        }
    }
}
