using System.Text.Json;

namespace Flowstore.Backend.Postgres;

/// <summary>The agents seen (<see cref="IAgentStore"/>): one row per agent name, refreshed by each report.</summary>
public sealed partial class PostgresFlowBackend
{
    public Task ReportAgentAsync(AgentReport agent, CancellationToken cancellationToken)
    {
        var report = RunInputs.ValidateAgentReport(agent);
        return ExecuteAsync(async session =>
        {
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(session.Connection, transaction, """
                INSERT INTO flowstore.agents (name, host, labels_json, version, first_seen, last_seen)
                VALUES (@name, @host, @labels, @version, @now, @now)
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, labels_json = excluded.labels_json,
                                                 version = excluded.version, last_seen = excluded.last_seen;
                """);
            AddText(command, "name", report.Name);
            AddText(command, "host", report.Host);
            AddText(command, "labels", JsonSerializer.Serialize(report.Labels));
            AddText(command, "version", report.Version);
            AddTime(command, "now", Now());
            await command.ExecuteNonQueryAsync(cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(CancellationToken cancellationToken)
        => ExecuteAsync<IReadOnlyList<AgentRecord>>(async session =>
        {
            // An agent busy with a long run does not poll, but its run heartbeats: that is a sign of life too.
            await using var command = Command(session.Connection, null, """
                SELECT a.name, a.host, a.labels_json, a.version, a.first_seen, a.last_seen,
                       COUNT(r.id)::integer, MAX(r.heartbeat)
                FROM flowstore.agents a LEFT JOIN flowstore.runs r ON r.state = 'Running' AND r.agent = a.name
                GROUP BY a.name
                ORDER BY a.name COLLATE "C";
                """);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var agents = new List<AgentRecord>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var lastSeen = ReadTime(reader, 5);
                if (!reader.IsDBNull(7) && ReadTime(reader, 7) is var beat && beat > lastSeen)
                {
                    lastSeen = beat;
                }
                agents.Add(new AgentRecord
                {
                    Name = reader.GetString(0),
                    Host = reader.GetString(1),
                    Labels = JsonSerializer.Deserialize<string[]>(reader.GetString(2)) ?? Array.Empty<string>(),
                    Version = ReadOptionalText(reader, 3),
                    FirstSeen = ReadTime(reader, 4),
                    LastSeen = lastSeen,
                    CurrentRuns = reader.GetInt32(6),
                });
            }
            return agents;
        }, cancellationToken);

    public Task<IReadOnlyList<string>> RemoveAgentsAsync(DateTimeOffset notSeenSince, CancellationToken cancellationToken)
        => ExecuteAsync<IReadOnlyList<string>>(async session =>
        {
            // Last sign of life as GetAgentsAsync reads it: the last report, or the heartbeat of a Running run of the agent.
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(session.Connection, transaction, """
                DELETE FROM flowstore.agents a
                WHERE a.last_seen < @cutoff
                  AND NOT EXISTS (SELECT 1 FROM flowstore.runs r WHERE r.state = 'Running' AND r.agent = a.name AND r.heartbeat >= @cutoff)
                RETURNING a.name;
                """);
            AddTime(command, "cutoff", notSeenSince);
            var names = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    names.Add(reader.GetString(0));
                }
            }
            await session.CommitAsync(transaction, cancellationToken);
            names.Sort(StringComparer.Ordinal);
            return names;
        }, cancellationToken);
}
