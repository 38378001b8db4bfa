using System.Text.Json;

namespace Flowstore.Backend.Sqlite;

/// <summary>The agents seen (<see cref="IAgentStore"/>): one row per agent name, refreshed by each report.</summary>
public sealed partial class SqliteFlowBackend
{
    public Task ReportAgentAsync(AgentReport agent, CancellationToken cancellationToken)
    {
        var report = RunInputs.ValidateAgentReport(agent);
        return RunAsync(async connection =>
        {
            await using var command = Command(connection, null, """
                INSERT INTO agents (name, host, labels_json, version, first_seen, last_seen)
                VALUES ($name, $host, $labels, $version, $now, $now)
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, labels_json = excluded.labels_json,
                                                 version = excluded.version, last_seen = excluded.last_seen;
                """);
            command.Parameters.AddWithValue("$name", report.Name);
            command.Parameters.AddWithValue("$host", report.Host);
            command.Parameters.AddWithValue("$labels", JsonSerializer.Serialize(report.Labels));
            command.Parameters.AddWithValue("$version", (object?)report.Version ?? DBNull.Value);
            command.Parameters.AddWithValue("$now", TimestampText(Now()));
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(CancellationToken cancellationToken)
        => RunAsync<IReadOnlyList<AgentRecord>>(async connection =>
        {
            // An agent busy with a long run does not poll, but its run heartbeats: that is a sign of life too.
            await using var command = Command(connection, null, """
                SELECT a.name, a.host, a.labels_json, a.version, a.first_seen, a.last_seen,
                       COUNT(r.id), MAX(r.heartbeat)
                FROM agents a LEFT JOIN runs r ON r.state = 'Running' AND r.agent = a.name
                GROUP BY a.name
                ORDER BY a.name;
                """);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var agents = new List<AgentRecord>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var lastSeen = ParseTimestamp(reader.GetString(5));
                if (!reader.IsDBNull(7) && ParseTimestamp(reader.GetString(7)) is var beat && beat > lastSeen)
                {
                    lastSeen = beat;
                }
                agents.Add(new AgentRecord
                {
                    Name = reader.GetString(0),
                    Host = reader.GetString(1),
                    Labels = JsonSerializer.Deserialize<string[]>(reader.GetString(2)) ?? Array.Empty<string>(),
                    Version = reader.IsDBNull(3) ? null : reader.GetString(3),
                    FirstSeen = ParseTimestamp(reader.GetString(4)),
                    LastSeen = lastSeen,
                    CurrentRuns = reader.GetInt32(6),
                });
            }
            return agents;
        }, cancellationToken);

    public Task<IReadOnlyList<string>> RemoveAgentsAsync(DateTimeOffset notSeenSince, CancellationToken cancellationToken)
        => RunAsync<IReadOnlyList<string>>(async connection =>
        {
            // Last sign of life as GetAgentsAsync reads it: the last report, or the heartbeat of a Running run of the agent.
            await using var command = Command(connection, null, """
                DELETE FROM agents
                WHERE last_seen < $cutoff
                  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.state = 'Running' AND r.agent = agents.name AND r.heartbeat >= $cutoff)
                RETURNING name;
                """);
            command.Parameters.AddWithValue("$cutoff", TimestampText(notSeenSince));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var names = new List<string>();
            while (await reader.ReadAsync(cancellationToken))
            {
                names.Add(reader.GetString(0));
            }
            names.Sort(StringComparer.Ordinal);
            return names;
        }, cancellationToken);
}
