namespace Flowstore.Commands;

/// <summary>
/// Get-FlowServer: which backend this Flowstore home uses (the embedded SQLite file, a server from FLOWSTORE_SERVER_URL,
/// or a saved connection), and where its API key comes from (never the key).
/// </summary>
[Cmdlet(VerbsCommon.Get, "FlowServer")]
[OutputType(typeof(FlowServerInfo))]
public sealed class GetFlowServerCommand : FlowCmdlet
{
    protected override void ProcessRecord()
    {
        try
        {
            WriteObject(FlowServerConnection.Describe(FlowstoreHome.Path));
        }
        catch (FlowstoreException e)
        {
            Terminate(e);
        }
    }
}
