using System.Management.Automation.Language;

namespace Flowstore.Commands;

/// <summary>Completes project names from the local backend; never throws.</summary>
public sealed class ProjectNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
        => Completion.Safe(wordToComplete, client => client.GetProjectsAsync().GetAwaiter().GetResult().Select(p => p.Name));
}

/// <summary>Completes registered flow names (of the -Project already typed, if any); never throws.</summary>
public sealed class FlowNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var project = fakeBoundParameters?["Project"]?.ToString();
        return Completion.Safe(wordToComplete, client => client.GetFlowsAsync(new FlowQuery { Project = project })
            .GetAwaiter().GetResult().Select(f => f.Name));
    }
}

/// <summary>Completes storage type names: the registered providers' types.</summary>
public sealed class StorageTypeCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            return Completion.Results(wordToComplete, FlowStorageType.Names);
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}

/// <summary>Completes the names of secrets in the Flowstore secret store (for storage settings that name a secret); never throws.</summary>
public sealed class SecretNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
        => Completion.Safe(wordToComplete, client => client.DescribeSecretsAsync(null).GetAwaiter().GetResult().Select(s => s.Name));
}

/// <summary>
/// Completes run ids (Get-FlowRun -Id, Get-FlowRunLog, Stop-FlowRun, Wait-FlowRun, Start-FlowRun -Pinned): the recent
/// runs, newest first, whose id starts with what was typed; the tooltip names the flow, project, state and start.
/// Never throws.
/// </summary>
public sealed class RunIdCompleter : IArgumentCompleter
{
    /// <summary>How many runs are offered at most.</summary>
    internal const int Offered = 50;

    // How far back a typed prefix is looked for: completion must stay quick on a long history.
    private const int Searched = 1000;

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            using var client = FlowClient.OpenExisting();
            if (client is null)
            {
                return Array.Empty<CompletionResult>();
            }
            var prefix = (wordToComplete ?? "").Trim('\'', '"');
            var runs = client.GetRunsAsync(new RunQuery { Last = prefix.Length == 0 ? Offered : Searched }).GetAwaiter().GetResult();
            return runs
                .Where(r => r.Id.ToString().StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Take(Offered)
                .Select(r => new CompletionResult(r.Id.ToString(), r.Id.ToString(), CompletionResultType.ParameterValue, Describe(r)))
                .ToArray();
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    private static string Describe(FlowRunRecord run)
    {
        var when = (run.Started ?? run.Created).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        return $"{run.FlowName} ({run.Project}, version {run.FlowVersion}): {run.State}, {(run.Started is null ? "created" : "started")} {when}";
    }
}

internal static class Completion
{
    public static IEnumerable<CompletionResult> Safe(string word, Func<FlowClient, IEnumerable<string>> names)
    {
        try
        {
            // Completion reads existing state only and must never create a database as a side effect.
            using var client = FlowClient.OpenExisting();
            return client is null ? Array.Empty<CompletionResult>() : Results(word, names(client).ToArray());
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    public static IEnumerable<CompletionResult> Results(string word, IEnumerable<string> names)
    {
        var pattern = WildcardPattern.Get((word ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return names.Distinct(StringComparer.OrdinalIgnoreCase)
            .Where(pattern.IsMatch)
            .Order(StringComparer.OrdinalIgnoreCase)
            .Select(n => new CompletionResult(n.Contains(' ') ? $"'{n}'" : n, n, CompletionResultType.ParameterValue, n))
            .ToArray();
    }
}

/// <summary>Completes API key roles, each with what it may do as the tooltip.</summary>
public sealed class RoleCompleter : IArgumentCompleter
{
    // A method, not a static table: a field typed over an engine enum would make PowerShell's scan of the module's
    // exported types load the engine before the module's resolver is in place.
    internal static string Describe(FlowRole role) => role switch
    {
        FlowRole.Reader => "Reader: read projects, flows, runs, logs and secret names; never a secret's value",
        FlowRole.Registrar => "Registrar: Reader, plus register, publish and unregister flows, start and stop runs (CI)",
        FlowRole.Agent => "Agent: Reader, plus claim and execute runs and read the secret values those runs need",
        _ => "Admin: everything, plus projects, API keys and secrets",
    };

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = WildcardPattern.Get((wordToComplete ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return Enum.GetValues<FlowRole>()
            .Where(r => pattern.IsMatch(r.ToString()))
            .Select(r => new CompletionResult(r.ToString(), r.ToString(), CompletionResultType.ParameterValue, Describe(r)))
            .ToArray();
    }
}

/// <summary>Completes the names of API keys that are not revoked, from the local backend; never throws.</summary>
public sealed class ApiKeyNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
        => Completion.Safe(wordToComplete, client => client.ApiKeys.ListAsync().GetAwaiter().GetResult()
            .Where(k => k.Revoked is null).Select(k => k.Name));
}
