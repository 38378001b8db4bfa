namespace Flowstore.Commands;

/// <summary>
/// Get-FlowApiKey: the API keys (name, role, projects, state, expiry, last use, who made them), never a token. Revoked
/// keys are listed with -IncludeRevoked.
/// </summary>
[Cmdlet(VerbsCommon.Get, "FlowApiKey")]
[OutputType(typeof(ApiKeyInfo))]
public sealed class GetFlowApiKeyCommand : FlowCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ApiKeyNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Also list revoked keys.</summary>
    [Parameter]
    public SwitchParameter IncludeRevoked { get; set; }

    protected override void ProcessRecord()
    {
        var keys = RunOrTerminate(ct => Client.ApiKeys.ListAsync(ct));
        var patterns = (Name ?? Array.Empty<string>()).Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        WriteObject(keys
            .Where(k => IncludeRevoked.IsPresent || k.Revoked is null)
            .Where(k => patterns.Length == 0 || patterns.Any(p => p.IsMatch(k.Name))), enumerateCollection: true);
    }
}
