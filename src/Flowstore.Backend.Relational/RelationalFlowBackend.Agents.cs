using System.Text.Json;

namespace Flowstore.Backend.Relational;

/// <summary>The agents seen (<see cref="IAgentStore"/>): one row per agent name, refreshed by each report.</summary>
public abstract partial class RelationalFlowBackend
{
    public Task ReportAgentAsync(AgentReport agent, CancellationToken cancellationToken)
    {
        var report = RunInputs.ValidateAgentReport(agent);
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using var command = session.Command(transaction, $"""
                INSERT INTO {Dialect.Schema}agents (name, host, labels_json, version, first_seen, last_seen)
                VALUES (@name, @host, @labels, @version, @now, @now)
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, labels_json = excluded.labels_json,
                                                 version = excluded.version, last_seen = excluded.last_seen;
                """);
            Dialect.AddText(command, "name", report.Name);
            Dialect.AddText(command, "host", report.Host);
            Dialect.AddText(command, "labels", JsonSerializer.Serialize(report.Labels));
            Dialect.AddText(command, "version", report.Version);
            Dialect.AddTime(command, "now", Now());
            await command.ExecuteNonQueryAsync(cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(CancellationToken cancellationToken)
        => WithSessionAsync<IReadOnlyList<AgentRecord>>(async session =>
        {
            // An agent busy with a long run does not poll, but its run heartbeats: that is a sign of life too.
            await using var command = session.Command(null, $"""
                SELECT a.name, a.host, a.labels_json, a.version, a.first_seen, a.last_seen,
                       CAST(COUNT(r.id) AS integer), MAX(r.heartbeat)
                FROM {Dialect.Schema}agents a LEFT JOIN {Dialect.Schema}runs r ON r.state = 'Running' AND r.agent = a.name
                GROUP BY a.name
                ORDER BY {Dialect.Exact("a.name")};
                """);
            return await ReadAllAsync(command, reader =>
            {
                var lastSeen = Dialect.ReadTime(reader, 5);
                if (Dialect.ReadOptionalTime(reader, 7) is { } beat && beat > lastSeen)
                {
                    lastSeen = beat;
                }
                return new AgentRecord
                {
                    Name = reader.GetString(0),
                    Host = reader.GetString(1),
                    Labels = JsonSerializer.Deserialize<string[]>(reader.GetString(2)) ?? Array.Empty<string>(),
                    Version = Dialect.ReadOptionalText(reader, 3),
                    FirstSeen = Dialect.ReadTime(reader, 4),
                    LastSeen = lastSeen,
                    CurrentRuns = reader.GetInt32(6),
                };
            }, cancellationToken);
        }, cancellationToken);

    public Task<IReadOnlyList<string>> RemoveAgentsAsync(DateTimeOffset notSeenSince, CancellationToken cancellationToken)
        => WithSessionAsync<IReadOnlyList<string>>(async session =>
        {
            // Last sign of life as GetAgentsAsync reads it: the last report, or the heartbeat of a Running run of the agent.
            await using var transaction = await session.BeginAsync(cancellationToken);
            List<string> names;
            await using (var command = session.Command(transaction, $"""
                DELETE FROM {Dialect.Schema}agents
                WHERE last_seen < @cutoff
                  AND NOT EXISTS (SELECT 1 FROM {Dialect.Schema}runs r
                                  WHERE r.state = 'Running' AND r.agent = agents.name AND r.heartbeat >= @cutoff)
                RETURNING name;
                """))
            {
                Dialect.AddTime(command, "cutoff", notSeenSince);
                names = await ReadAllAsync(command, reader => reader.GetString(0), cancellationToken);
            }
            await session.CommitAsync(transaction, cancellationToken);
            names.Sort(StringComparer.Ordinal);
            return names;
        }, cancellationToken);
}
