namespace Flowstore.Commands;

/// <summary>
/// Get-FlowSecret: the secrets in the Flowstore secret store (names, created and updated times) and, for a
/// name given, where it resolves from (store, environment variable, SecretManagement vault). Never the value.
/// </summary>
[Cmdlet(VerbsCommon.Get, "FlowSecret")]
[OutputType(typeof(SecretInfo))]
public sealed class GetFlowSecretCommand : FlowCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SecretNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var exact = (Name ?? Array.Empty<string>()).Where(n => !WildcardPattern.ContainsWildcardCharacters(n)).ToArray();
        var all = RunOrTerminate(ct => Client.DescribeSecretsAsync(exact, ct));
        if (Name is null || Name.Length == 0)
        {
            WriteObject(all.Where(s => s.InStore), enumerateCollection: true);
            return;
        }
        var patterns = Name.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        WriteObject(all.Where(s => patterns.Any(p => p.IsMatch(s.Name))), enumerateCollection: true);
    }
}
