using System.Security;

namespace Flowstore.Commands;

/// <summary>
/// What New-FlowApiKey outputs: the key's description and its token as a SecureString. This is the only time the token
/// is shown: Flowstore keeps its SHA-256 only.
/// </summary>
public sealed class NewFlowApiKeyResult
{
    internal NewFlowApiKeyResult(ApiKeyInfo key, SecureString token)
    {
        Key = key;
        Token = token;
    }

    public string Name => Key.Name;
    public FlowRole Role => Key.Role;
    public IReadOnlyList<string> Projects => Key.Projects;
    public DateTimeOffset? Expires => Key.Expires;
    public Guid Id => Key.Id;

    /// <summary>The token, shown once: give it to whoever uses the key (e.g. as a secret pipeline variable).</summary>
    public SecureString Token { get; }

    /// <summary>The key as Get-FlowApiKey lists it.</summary>
    public ApiKeyInfo Key { get; }

    public override string ToString() => Key.ToString();
}

/// <summary>
/// New-FlowApiKey: makes an API key with a role (Reader, Registrar, Agent, Admin), optionally limited to projects and
/// expiring. Outputs the token once, as a SecureString; only its hash is stored.
/// </summary>
[Cmdlet(VerbsCommon.New, "FlowApiKey", SupportsShouldProcess = true)]
[OutputType(typeof(NewFlowApiKeyResult))]
public sealed class NewFlowApiKeyCommand : FlowCmdlet
{
    /// <summary>The key's name: unique among keys that are not revoked; recorded on the registrations and runs it makes.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    // A string, not FlowRole: a value-type field of an engine type would make PowerShell load the engine while it
    // reflects over the module's types, before the module's assembly resolver is installed.
    /// <summary>Reader, Registrar, Agent or Admin.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    // Checked in ProcessRecord rather than with ValidateSet, whose own completion would hide RoleCompleter's tooltips.
    [ArgumentCompleter(typeof(RoleCompleter))]
    public string Role { get; set; } = "";

    /// <summary>Limit the key to these projects (they must exist); every project when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ProjectNameCompleter))]
    public string[]? Project { get; set; }

    /// <summary>The key stops working this long from now (e.g. (New-TimeSpan -Days 90) or '90.00:00:00'); never when omitted.</summary>
    [Parameter]
    public TimeSpan? ExpiresIn { get; set; }

    protected override void ProcessRecord()
    {
        var text = Role.Trim();
        if (!Enum.TryParse<FlowRole>(text, ignoreCase: true, out var role) || !Enum.IsDefined(role) || text.Length == 0 || !char.IsLetter(text[0]))
        {
            Terminate(new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                $"'{Role}' is not a role; the roles are {string.Join(", ", Enum.GetNames<FlowRole>())}.") { Target = Role });
            return;
        }
        var scope = Project is { Length: > 0 } ? $"for project(s) {string.Join(", ", Project)}" : "for every project";
        if (!ShouldProcess($"API key '{Name}'", $"Create with role {role} {scope}{(ExpiresIn is { } e ? $", expiring in {e}" : "")}"))
        {
            return;
        }
        var created = RunOrTerminate(ct => Client.ApiKeys.CreateAsync(Name, role, Project, ExpiresIn, FlowApiKeys.LocalUser, ct), Name);
        var token = new SecureString();
        foreach (var c in created.Token)
        {
            token.AppendChar(c);
        }
        token.MakeReadOnly();
        WriteObject(new NewFlowApiKeyResult(created.Key, token));
    }
}
