namespace Flowstore;

/// <summary>What an agent says of itself when it reports to the backend (<see cref="IAgentStore.ReportAgentAsync"/>).</summary>
public sealed record AgentReport
{
    /// <summary>The agent's name, as recorded in the runs it claims.</summary>
    public required string Name { get; init; }

    /// <summary>The host it runs on (its host label).</summary>
    public required string Host { get; init; }

    /// <summary>Its labels (the host label among them): it claims runs of flows whose labels are all among these.</summary>
    public IReadOnlyList<string> Labels { get; init; } = Array.Empty<string>();

    /// <summary>The Flowstore version it runs.</summary>
    public string? Version { get; init; }
}

/// <summary>An agent as the backend last saw it (Get-FlowAgent).</summary>
public sealed record AgentRecord
{
    public required string Name { get; init; }
    public required string Host { get; init; }
    public IReadOnlyList<string> Labels { get; init; } = Array.Empty<string>();
    public string? Version { get; init; }

    /// <summary>When it first reported.</summary>
    public required DateTimeOffset FirstSeen { get; init; }

    /// <summary>Its last sign of life: its last report, or the last heartbeat of a run it is running, whichever is later.</summary>
    public required DateTimeOffset LastSeen { get; init; }

    /// <summary>How many runs it is running now (Running runs under its name).</summary>
    public int CurrentRuns { get; init; }

    /// <summary>True when every label of a flow is among the agent's: the agent may claim runs of that flow.</summary>
    public bool Covers(IEnumerable<string> flowLabels) => flowLabels.All(l => Labels.Contains(l, StringComparer.Ordinal));
}

/// <summary>
/// The agents a backend has seen: each reports itself while it polls for runs, so a run that no agent may take can
/// say why (no agent with its labels seen lately).
/// </summary>
public interface IAgentStore
{
    /// <summary>Records (or refreshes) an agent: its host, labels and version as given, its last report now.</summary>
    Task ReportAgentAsync(AgentReport agent, CancellationToken cancellationToken);

    /// <summary>Every agent recorded, sorted by name, with its current runs.</summary>
    Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Forgets the agents whose last sign of life (<see cref="AgentRecord.LastSeen"/>: their last report, or the
    /// heartbeat of a run they are running) is before <paramref name="notSeenSince"/>; returns their names, sorted.
    /// </summary>
    Task<IReadOnlyList<string>> RemoveAgentsAsync(DateTimeOffset notSeenSince, CancellationToken cancellationToken);
}
