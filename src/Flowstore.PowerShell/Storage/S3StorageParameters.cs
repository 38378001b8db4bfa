using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type S3: a flow kept in an S3 bucket (Amazon S3 or an S3-compatible server).</summary>
public sealed class S3StorageParameters : IStorageParameters
{
    /// <summary>The bucket that holds the flow.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Bucket { get; set; } = "";

    /// <summary>
    /// The object key. With -StoredAsScript and no -LocalScriptPath: the script already in the bucket (registration
    /// checks it). Otherwise where registration uploads; generated as &lt;flow-slug&gt;/&lt;UTC yyyyMMddTHHmmssZ&gt; when omitted.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Key { get; set; }

    /// <summary>Runs fetch the script from the bucket (task code can change without re-registering); without it registration uploads the compiled flow.</summary>
    [Parameter]
    public SwitchParameter StoredAsScript { get; set; }

    /// <summary>A local script that registration uploads to -Key (needs -StoredAsScript).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LocalScriptPath { get; set; }

    /// <summary>An S3-compatible endpoint, e.g. http://127.0.0.1:9000; omit for Amazon S3.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? EndpointUrl { get; set; }

    /// <summary>The region, e.g. eu-west-1; defaults to the AWS SDK's (AWS_REGION, profile), else us-east-1.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Region { get; set; }

    /// <summary>Addresses the bucket in the path (http://host/bucket/key), as most S3-compatible servers need.</summary>
    [Parameter]
    public SwitchParameter ForcePathStyle { get; set; }

    /// <summary>
    /// Name of a Flowstore secret whose value is a JSON object with ACCESS_KEY, SECRET_ACCESS_KEY and optionally
    /// SESSION_TOKEN (or accessKeyId, secretAccessKey, sessionToken); omit to use the AWS SDK's credential chain.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CredentialsSecret { get; set; }

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => new S3Storage(
        Bucket,
        Key,
        StoredAsScript.IsPresent,
        LocalScriptPath is null ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(LocalScriptPath),
        EndpointUrl,
        Region,
        ForcePathStyle.IsPresent,
        CredentialsSecret);
}
