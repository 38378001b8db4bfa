namespace Flowstore.Commands;

/// <summary>
/// A PowerShell SecretManagement vault as the last place secrets resolve from: <c>Get-Secret -Name n
/// -AsPlainText</c>, run in a runspace of its own (engine work runs off the pipeline thread). Used only when a
/// Get-Secret command exists (looked up only when a secret is missing from the store and the environment); a vault that does not have the secret is "not found", never an error text that
/// could hold a value.
/// </summary>
internal sealed class VaultSecretSource : ISecretSource
{
    public string Description => "SecretManagement vault";

    /// <summary>Whether the last lookup found a Get-Secret command.</summary>
    public bool IsAvailable { get; private set; }

    public ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
    {
        using var shell = PowerShell.Create();
        // A soft dependency: without a Get-Secret command (loaded or auto-loadable) there is no vault to ask.
        shell.AddCommand("Get-Command").AddParameter("Name", "Get-Secret").AddParameter("CommandType", CommandTypes.Cmdlet | CommandTypes.Function)
            .AddParameter("ErrorAction", "Ignore");
        IsAvailable = shell.Invoke().Count > 0;
        if (!IsAvailable)
        {
            return ValueTask.FromResult<string?>(null);
        }
        shell.Commands.Clear();
        shell.AddCommand("Get-Secret").AddParameter("Name", name).AddParameter("AsPlainText").AddParameter("ErrorAction", "SilentlyContinue");
        var results = shell.Invoke();
        var value = results.Select(r => r?.BaseObject).FirstOrDefault(v => v is not null);
        return ValueTask.FromResult(value switch
        {
            null => null,
            string s => s,
            System.Security.SecureString secure => new System.Net.NetworkCredential("", secure).Password,
            _ => value.ToString(),
        });
    }
}
