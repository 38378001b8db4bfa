using System.Net;
using System.Security;

namespace Flowstore.Commands;

/// <summary>
/// Connect-FlowServer: from now on, this Flowstore home talks to a Flowstore server instead of its embedded database.
/// The URL is saved in the home; the API key is kept encrypted in the home's secret store (never in a plain file), or
/// only the name of a secret that holds it is saved (-ApiKeySecret). The server is asked first, so a wrong URL or key
/// is an error here and nothing is saved.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "FlowServer", SupportsShouldProcess = true, DefaultParameterSetName = ByKey)]
[OutputType(typeof(FlowServerInfo))]
public sealed class ConnectFlowServerCommand : FlowCmdlet
{
    private const string ByKey = "ApiKey";
    private const string BySecret = "ApiKeySecret";

    /// <summary>The server's URL, e.g. http://flowstore.example:5080/.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Uri? Url { get; set; }

    /// <summary>The API key, as a SecureString; none for a server without keys.</summary>
    [Parameter(ParameterSetName = ByKey)]
    public SecureString? ApiKey { get; set; }

    /// <summary>The name of a secret (store, environment variable or vault) that holds the API key, read at each use.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BySecret)]
    [ValidateNotNullOrEmpty]
    public string? ApiKeySecret { get; set; }

    protected override void ProcessRecord()
    {
        var home = FlowstoreHome.Path;
        if (!ShouldProcess(Url!.ToString(), $"Connect the Flowstore home '{home}' to the server"))
        {
            return;
        }
        var key = ApiKey is null ? null : new NetworkCredential("", ApiKey).Password;
        var info = RunOrTerminate(ct => FlowServerConnection.ConnectAsync(home, Url!, key, ApiKeySecret,
            new ISecretSource[] { new VaultSecretSource() }, null, ct), Url);
        WriteObject(info);
    }
}
