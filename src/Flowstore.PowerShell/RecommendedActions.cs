namespace Flowstore.Commands;

/// <summary>
/// Renders an engine error's <see cref="FlowHint"/> as what a PowerShell user types: the engine names no
/// cmdlet or parameter, this is the one place that knows them.
/// </summary>
internal static class RecommendedActions
{
    /// <summary>The suggestion as a sentence, or null when the error carries none.</summary>
    public static string? Render(FlowHint? hint) => hint switch
    {
        null => null,
        { Kind: FlowHintKind.CreateProject } =>
            $"Create the project with New-FlowProject -Name {Quote(hint.Name)}, or register with -CreateProject.",
        { Kind: FlowHintKind.RegisterFlow } =>
            $"Register it with Register-Flow -Path {Quote(hint.Path, "<file>")}{(hint.Project is null ? "" : $" -Project {Quote(hint.Project)}")}.",
        { Kind: FlowHintKind.PublishScript } =>
            hint.Path is null ? "Publish the script with Publish-FlowScript." : $"Publish it with Publish-FlowScript -Path {Quote(hint.Path)}.",
        { Kind: FlowHintKind.SetSecret } =>
            $"Set it with Set-FlowSecret -Name {Quote(hint.Name)}, or as an environment variable.",
        { Kind: FlowHintKind.RunUnpinned } =>
            "Start the run without -Pinned to use the current script.",
        { Kind: FlowHintKind.StorageSetting } =>
            $"Set -{Pascal(hint.Name)} with New-FlowStorage{(hint.StorageType is null ? "" : $" -Type {hint.StorageType}")} ({Camel(hint.Name)}: in a flow script).",
        { Kind: FlowHintKind.PublishToBranch } =>
            $"Publish to a branch with Publish-FlowScript -Branch {(hint.Name is null ? "<name>" : Quote(hint.Name))}.",
        { Kind: FlowHintKind.StoreAsScript } =>
            "Add -StoredAsScript to New-FlowStorage (storedAsScript: true in a flow script) to keep the script in storage.",
        { Kind: FlowHintKind.PassStorage } =>
            "Pass a storage with Register-Flow -Storage (New-FlowStorage ...).",
        { Kind: FlowHintKind.StorageSettingsExclusive } =>
            $"Give only one of {string.Join(", ", Names(hint.Name).Select(n => "-" + Pascal(n)))} to New-FlowStorage{(hint.StorageType is null ? "" : $" -Type {hint.StorageType}")} " +
            $"({string.Join(", ", Names(hint.Name).Select(n => Camel(n) + ":"))} in a flow script).",
        { Kind: FlowHintKind.ChooseFlow } =>
            "Choose one with -Name.",
        { Kind: FlowHintKind.PublishStorage } =>
            "Pass a storage with Publish-FlowScript -Storage (New-FlowStorage ...).",
        { Kind: FlowHintKind.RestoreOrNewSecretKey } =>
            $"Restore the key file {Quote(hint.Path, "<key>")} from a backup; or, to abandon the secrets it encrypted, " +
            $"start a new key with Set-FlowSecret -Name {Quote(hint.Name)} -NewKey.",
        { Kind: FlowHintKind.UseApiKeyWithRole } =>
            $"Use an API key of role {hint.Name ?? "<role>"}{(hint.Project is null ? "" : $" for project {Quote(hint.Project)}")}: an admin makes one with " +
            $"New-FlowApiKey -Name <name> -Role {hint.Name ?? "<role>"}{(hint.Project is null ? "" : $" -Project {Quote(hint.Project)}")}.",
        { Kind: FlowHintKind.GetNewApiKey } =>
            $"Ask an admin for a new API key (New-FlowApiKey{(hint.Name is null ? "" : $"; the key {Quote(hint.Name)} no longer works")}) and use it ($env:FLOWSTORE_API_KEY).",
        _ => null,
    };

    /// <summary>Error details that show the message followed by the suggestion, or null when there is none.</summary>
    public static ErrorDetails? Details(FlowstoreException error) => Render(error.Hint) is { } action
        ? new ErrorDetails($"{error.Message.TrimEnd()} {action}") { RecommendedAction = action }
        : null;

    private static string Quote(string? value, string placeholder = "<name>")
        => value is null ? placeholder : $"'{value.Replace("'", "''")}'";

    private static string[] Names(string? list) => (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Pascal(string? name) => string.IsNullOrEmpty(name) ? "<Setting>" : char.ToUpperInvariant(name[0]) + name[1..];

    private static string Camel(string? name) => string.IsNullOrEmpty(name) ? "<setting>" : char.ToLowerInvariant(name[0]) + name[1..];
}
