using System.Text.Json;

namespace Flowstore;

/// <summary>
/// The checks every run store applies to what a caller hands it (agent names, task records, parameters JSON), in
/// one place for the relational backends, so that they refuse the same input with the same message.
/// </summary>
internal static class RunInputs
{
    public static string ValidateAgent(string? agent)
    {
        if (string.IsNullOrWhiteSpace(agent) || agent.Any(char.IsControl))
        {
            throw new ArgumentException($"The agent name '{agent}' is empty or invalid.", nameof(agent));
        }
        return agent.Trim();
    }

    /// <summary>An agent's labels, distinct, each valid (no control characters, not empty); null stays null (any flow).</summary>
    public static string[]? ValidateLabels(IReadOnlyCollection<string>? labels)
    {
        if (labels is null)
        {
            return null;
        }
        foreach (var label in labels)
        {
            if (string.IsNullOrEmpty(label) || FlowNames.LabelProblem(label) is not null)
            {
                throw new ArgumentException($"The agent label '{FlowNames.Printable(label)}' is empty or invalid.", nameof(labels));
            }
        }
        return labels.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>An agent's report, checked: name, host and labels valid; the labels distinct and sorted.</summary>
    public static AgentReport ValidateAgentReport(AgentReport? report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var name = ValidateAgent(report.Name);
        if (string.IsNullOrWhiteSpace(report.Host) || report.Host.Any(char.IsControl))
        {
            throw new ArgumentException($"The host name '{FlowNames.Printable(report.Host)}' of agent '{name}' is empty or invalid.", nameof(report));
        }
        var labels = ValidateLabels(report.Labels ?? Array.Empty<string>())!;
        Array.Sort(labels, StringComparer.Ordinal);
        return report with { Name = name, Host = report.Host.Trim(), Labels = labels, Version = string.IsNullOrWhiteSpace(report.Version) ? null : report.Version.Trim() };
    }

    public static IReadOnlyList<TaskRunRecord> ValidateTasks(IReadOnlyList<TaskRunRecord>? tasks)
    {
        if (tasks is null)
        {
            return Array.Empty<TaskRunRecord>();
        }
        foreach (var task in tasks)
        {
            if (task is null || string.IsNullOrEmpty(task.Slug) || task.Name is null || task.Attempts < 0)
            {
                throw new ArgumentException(
                    "A task record is null, or has no slug or name, or a negative attempt count.", nameof(tasks));
            }
        }
        return tasks;
    }

    public static string ValidateParametersJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return "{}";
        }
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("The run's parameters are not a JSON object.", nameof(json));
            }
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The run's parameters are not valid JSON: {e.Message}", nameof(json), e);
        }
        return json;
    }
}
