using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Gcs: Google Cloud Storage.</summary>
public sealed class GcsStorageParameters : IStorageParameters
{
    /// <summary>The bucket that holds the flow.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Bucket { get; set; } = "";

    /// <summary>
    /// The object name in the bucket. Without it, registration (or Publish-FlowScript) uploads the script to a
    /// generated key, &lt;flow-slug&gt;/&lt;utc timestamp&gt; (e.g. etl/20261128T174500Z).
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Key { get; set; }

    /// <summary>The Google Cloud project billed for the requests (quota project); defaults to the credential's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Project { get; set; }

    /// <summary>Runs download the script (script storage); without it registration uploads the compiled flow.</summary>
    [Parameter]
    public SwitchParameter StoredAsScript { get; set; }

    /// <summary>A local script that registration uploads to -Key (or to a generated key); needs -StoredAsScript.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LocalScriptPath { get; set; }

    /// <summary>Another endpoint than Google's, e.g. an emulator (http://127.0.0.1:9199); kept with the flow.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? EndpointUrl { get; set; }

    /// <summary>
    /// Name of the secret (Set-FlowSecret, environment variable or vault) that holds a service-account JSON key.
    /// Without it, Application Default Credentials are used, or none with -EndpointUrl.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CredentialsSecret { get; set; }

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => new GcsStorage(
        Bucket,
        Key,
        Project,
        StoredAsScript.IsPresent,
        LocalScriptPath is null ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(LocalScriptPath),
        EndpointUrl,
        CredentialsSecret);
}
