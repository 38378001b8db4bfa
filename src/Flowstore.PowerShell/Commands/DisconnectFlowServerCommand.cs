namespace Flowstore.Commands;

/// <summary>
/// Disconnect-FlowServer: this Flowstore home goes back to its embedded database; the saved URL and the stored API key
/// are removed. FLOWSTORE_SERVER_URL, when set, still wins (it is not saved state).
/// </summary>
[Cmdlet(VerbsCommunications.Disconnect, "FlowServer", SupportsShouldProcess = true)]
[OutputType(typeof(FlowServerInfo))]
public sealed class DisconnectFlowServerCommand : FlowCmdlet
{
    /// <summary>Output which backend the home uses afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var home = FlowstoreHome.Path;
        if (!ShouldProcess(home, "Forget the saved Flowstore server connection of the home"))
        {
            return;
        }
        var had = RunOrTerminate(ct => FlowServerConnection.DisconnectAsync(home, ct));
        if (!had)
        {
            WriteWarning($"The Flowstore home '{home}' had no saved server connection.");
        }
        if (PassThru)
        {
            WriteObject(FlowServerConnection.Describe(home));
        }
    }
}
