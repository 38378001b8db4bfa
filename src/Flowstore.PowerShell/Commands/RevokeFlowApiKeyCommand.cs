namespace Flowstore.Commands;

/// <summary>
/// Revoke-FlowApiKey: a revoked key never authenticates again (at once, on every server over this backend). The key
/// stays listed (Get-FlowApiKey -IncludeRevoked) and its name can be given to a new key.
/// </summary>
[Cmdlet(VerbsSecurity.Revoke, "FlowApiKey", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
[OutputType(typeof(ApiKeyInfo))]
public sealed class RevokeFlowApiKeyCommand : FlowCmdlet
{
    private const string ByName = "Name";
    private const string ById = "Id";

    /// <summary>The names of the keys to revoke (exact, any case); only keys that are not revoked match.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ApiKeyNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>The ids of the keys to revoke (the Id of Get-FlowApiKey's output, bound from the pipeline).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ById, ValueFromPipelineByPropertyName = true)]
    public Guid[] Id { get; set; } = Array.Empty<Guid>();

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Output the revoked keys.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ApiKeyInfo> keys;
        try
        {
            keys = Await(ct => Client.ApiKeys.ListAsync(ct));
        }
        catch (FlowstoreException e)
        {
            Terminate(e);
            return;
        }
        var targets = new List<ApiKeyInfo>();
        if (ParameterSetName == ById)
        {
            foreach (var id in Id)
            {
                if (keys.FirstOrDefault(k => k.Id == id) is { } key)
                {
                    targets.Add(key);
                }
                else
                {
                    WriteError(ToErrorRecord(new FlowstoreException(ErrorIds.ApiKeyNotFound, FlowErrorKind.ObjectNotFound,
                        $"There is no API key with id {id}.") { Target = id.ToString() }, id));
                }
            }
        }
        else
        {
            foreach (var name in Name)
            {
                var active = keys.Where(k => k.Revoked is null && string.Equals(k.Name, name.Trim(), StringComparison.OrdinalIgnoreCase)).ToArray();
                if (active.Length == 0)
                {
                    var revoked = keys.Any(k => string.Equals(k.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));
                    WriteError(ToErrorRecord(new FlowstoreException(ErrorIds.ApiKeyNotFound, FlowErrorKind.ObjectNotFound,
                        revoked ? $"The API key '{name}' is already revoked." : $"There is no API key named '{name}'.") { Target = name }, name));
                }
                targets.AddRange(active);
            }
        }
        foreach (var key in targets)
        {
            if (!ShouldProcessOrForce($"API key '{key.Name}' ({key.Role}, id {key.Id})", "Revoke (it never authenticates again)", Force.IsPresent))
            {
                continue;
            }
            try
            {
                var revoked = Await(ct => Client.ApiKeys.RevokeAsync(key.Id, ct));
                if (PassThru.IsPresent)
                {
                    WriteObject(revoked);
                }
            }
            catch (FlowstoreException e)
            {
                WriteError(ToErrorRecord(e, key.Name));
            }
        }
    }
}
