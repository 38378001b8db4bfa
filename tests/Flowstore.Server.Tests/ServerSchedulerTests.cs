using Flowstore.Backend.Postgres.Tests;
using Npgsql;

namespace Flowstore.Server.Tests;

/// <summary>
/// The server's scheduler, in real server processes: two servers on one PostgreSQL database both run it, and every
/// occurrence of a schedule gets exactly one run; a schedule paused through the API creates no more runs.
/// </summary>
public sealed class ServerSchedulerTests : IDisposable
{
    private readonly TempDirectory _homeA = new("flowstore-scheduler-a");
    private readonly TempDirectory _homeB = new("flowstore-scheduler-b");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(5));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose()
    {
        _timeout.Dispose();
        _homeA.Dispose();
        _homeB.Dispose();
    }

    [Fact]
    public async Task TwoServersOnOnePostgres_BothScheduling_CreateOneRunPerOccurrence()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync();
        try
        {
            var connectionString = PostgresTestServer.ConnectionStringFor(database);
            await using var serverA = await ServerProcess.StartAsync(_homeA.Path, "Postgres", connectionString);
            await using var serverB = await ServerProcess.StartAsync(_homeB.Path, "Postgres", connectionString);
            using var clientA = serverA.Client();
            using var clientB = serverB.Client();
            await clientA.CreateProjectAsync("team", null, Ct);
            await clientA.RegisterFlowAsync(new FlowRegistrationRequest
            {
                Project = "team", Name = "every-second", StructureJson = "{}", StructureHash = "h", RegistrationKey = "k",
                StorageType = "Local", StorageJson = "{}", ScheduleJson = Schedule.Every(TimeSpan.FromSeconds(1)).ToJson(),
            }, Ct);

            // Both servers make a pass every second; wait (with a deadline) until the schedule has had a few occurrences.
            var deadline = DateTimeOffset.UtcNow.AddSeconds(120);
            while ((await clientB.GetRunsAsync(new RunQuery { Project = "team" }, Ct)).Count < 6)
            {
                Assert.True(DateTimeOffset.UtcNow < deadline, $"The servers created fewer than 6 runs in 120 s. Logs: {Log(serverA)} {Log(serverB)}");
                await Task.Delay(200, Ct);
            }
            var paused = await clientB.SetSchedulePausedAsync("team", "every-second", paused: true, Ct);
            Assert.True(paused.Paused);
            // A pass that began before the pause may still end; after it, none creates a run.
            var runsAtPause = (await clientA.GetRunsAsync(new RunQuery { Project = "team" }, Ct)).Count;

            var occurrences = await OccurrencesAsync(connectionString);
            var runs = await clientA.GetRunsAsync(new RunQuery { Project = "team" }, Ct);
            Assert.InRange(runs.Count, runsAtPause, runsAtPause + 1);
            Assert.Equal(runs.Count, occurrences.Count);
            Assert.Equal(runs.Select(r => r.Id).Order(), occurrences.Select(o => o.RunId).Order());
            Assert.Equal(occurrences.Count, occurrences.Select(o => o.Occurrence).Distinct().Count());
            Assert.All(occurrences, o => Assert.Equal(0, o.Occurrence.UtcTicks % TimeSpan.TicksPerSecond));
            Assert.All(runs, r => Assert.Equal(RunState.Scheduled, r.State));
            Assert.Contains("Scheduled run", Log(serverA) + Log(serverB));
        }
        finally
        {
            await PostgresTestServer.DropDatabaseAsync(database);
        }
    }

    private static string Log(ServerProcess server) => File.Exists(server.LogFile) ? File.ReadAllText(server.LogFile) : "(no log)";

    private static async Task<List<(DateTimeOffset Occurrence, Guid RunId)>> OccurrencesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT occurrence, run_id FROM flowstore.schedule_occurrences ORDER BY occurrence;", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(DateTimeOffset, Guid)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetFieldValue<DateTimeOffset>(0), reader.GetGuid(1)));
        }
        return rows;
    }
}
