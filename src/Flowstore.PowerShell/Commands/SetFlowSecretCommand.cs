using System.Net;
using System.Security;

namespace Flowstore.Commands;

/// <summary>
/// Set-FlowSecret: stores a secret, encrypted, in the Flowstore secret store. The value comes as a
/// SecureString (-Value), a PSCredential's password (-Credential), or, for CI, plain text from the pipeline
/// only (<c>$env:TOKEN | Set-FlowSecret -Name n</c>), so it never sits in a command line or history.
/// </summary>
[Cmdlet(VerbsCommon.Set, "FlowSecret", SupportsShouldProcess = true, DefaultParameterSetName = BySecureString)]
[OutputType(typeof(SecretInfo))]
public sealed class SetFlowSecretCommand : FlowCmdlet
{
    private const string BySecureString = "SecureString";
    private const string ByCredential = "Credential";
    private const string ByPipeline = "PlainTextFromPipeline";

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = BySecureString)]
    public SecureString? Value { get; set; }

    /// <summary>Stores the credential's password.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByCredential)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>A plain-text value, accepted from the pipeline only.</summary>
    /// <remarks>Null and empty are bound so that they end as SecretValueEmpty naming the secret (an unset
    /// <c>$env:TOKEN</c> piped in CI), not as a parameter binding error.</remarks>
    [Parameter(Mandatory = true, ParameterSetName = ByPipeline, ValueFromPipeline = true)]
    [AllowNull]
    [AllowEmptyString]
    public string? InputObject { get; set; }

    /// <summary>
    /// When the secret store key is missing while the store holds secrets encrypted with it: start a new key anyway.
    /// Those secrets become unreadable (they stay listed, marked, in Get-FlowSecret); a warning names them.
    /// </summary>
    [Parameter]
    public SwitchParameter NewKey { get; set; }

    /// <summary>Output the secret's description (name, times, source; never the value).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (MyInvocation.BoundParameters.ContainsKey(nameof(InputObject)))
        {
            ThrowTerminatingError(new ErrorRecord(
                new PSArgumentException("A plain-text secret value is accepted from the pipeline only ($env:TOKEN | Set-FlowSecret -Name n), never as an argument; use -Value with a SecureString or -Credential."),
                "SecretPlainTextArgument", ErrorCategory.InvalidArgument, Name));
        }
    }

    protected override void ProcessRecord()
    {
        var value = ParameterSetName switch
        {
            BySecureString => new NetworkCredential("", Value).Password,
            ByCredential => Credential!.GetNetworkCredential().Password,
            _ => InputObject,
        };
        if (string.IsNullOrEmpty(value))
        {
            WriteError(new ErrorRecord(new PSArgumentException($"The value for secret '{Name}' is empty."), "SecretValueEmpty", ErrorCategory.InvalidArgument, Name));
            return;
        }
        var action = NewKey.IsPresent
            ? "Set (encrypted in the Flowstore secret store; if the store key is missing, start a new key and abandon the secrets stored with the lost one)"
            : "Set (encrypted in the Flowstore secret store)";
        if (!ShouldProcess($"secret '{Name}'", action))
        {
            return;
        }
        try
        {
            var result = Await(ct => Client.SetSecretAsync(Name, value, NewKey.IsPresent, ct));
            if (result.Abandoned.Count > 0)
            {
                WriteWarning($"Started a new secret store key in '{result.KeyPath ?? Client.SecretStore.KeyPath}'. {result.Abandoned.Count} secret(s) encrypted with the lost key " +
                    $"can no longer be read and are abandoned: {string.Join(", ", result.Abandoned)}. Set them again (Set-FlowSecret) or remove them (Remove-FlowSecret); " +
                    "restoring the old key file now would make the new secrets unreadable instead.");
            }
            if (PassThru.IsPresent)
            {
                WriteObject(Await(ct => Client.DescribeSecretsAsync(new[] { Name }, ct))
                    .First(s => string.Equals(s.Name, Name, StringComparison.OrdinalIgnoreCase)));
            }
        }
        catch (FlowstoreException e)
        {
            WriteError(ToErrorRecord(e, Name));
        }
    }
}
