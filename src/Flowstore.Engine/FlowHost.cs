namespace Flowstore.Engine;

/// <summary>
/// This machine's name as Flowstore uses it in labels: an agent carries it as one of its labels, and a flow with Local
/// storage registered through a server carries the registering machine's, so only an agent on the machine that has the
/// file claims its runs.
/// </summary>
public static class FlowHost
{
    /// <summary>
    /// Overrides the machine's host name (FLOWSTORE_HOST_NAME): a machine known under another name, or a test that plays
    /// two machines on one.
    /// </summary>
    public const string Variable = "FLOWSTORE_HOST_NAME";

    /// <summary>The host label: <see cref="Variable"/> when set, else the machine's host name; lower case (host names ignore case).</summary>
    public static string Label
    {
        get
        {
            var name = Environment.GetEnvironmentVariable(Variable);
            return (string.IsNullOrWhiteSpace(name) ? Environment.MachineName : name.Trim()).ToLowerInvariant();
        }
    }

    /// <summary>The Flowstore version an agent reports.</summary>
    public static string Version { get; } = typeof(FlowHost).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0]
        ?? typeof(FlowHost).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>An agent's labels: the given ones and the host label, distinct, sorted.</summary>
    public static IReadOnlyList<string> AgentLabels(IEnumerable<string>? labels)
        => (labels ?? []).Where(l => !string.IsNullOrWhiteSpace(l)).Append(Label)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
}
