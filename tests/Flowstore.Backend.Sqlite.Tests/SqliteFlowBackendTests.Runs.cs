using System.Globalization;
using Microsoft.Data.Sqlite;
using static Flowstore.Backend.Contract.MinimalRequests;

namespace Flowstore.Backend.Sqlite.Tests;

// The run store on the SQLite file: migration of a version-1 file, heartbeat ages, a stale run failed by another
// instance, and what is stored. (Claims from several instances at once: SqliteSharedDatabaseContractTests.)
public sealed partial class SqliteFlowBackendTests
{
    [Fact]
    public async Task Migrate_FromVersionOne_KeepsProjectsAndFlowsAndAddsRuns()
    {
        var projectId = Guid.NewGuid();
        var flowId = Guid.NewGuid();
        using (var connection = RawConnection())
        {
            // Exactly what a Flowstore with only migration 1 made.
            Execute(connection, SqliteMigrations.All.Single(m => m.Version == 1).Sql);
            Execute(connection, "PRAGMA user_version = 1;");
            Execute(connection, $$"""
                INSERT INTO projects (id, name, description, created)
                VALUES ('{{projectId}}', 'Old', 'from v1', '2024-01-02T03:04:05.000000Z');
                INSERT INTO flows (id, project_id, name, version, version_group_id, structure_json, structure_hash,
                                   registration_key, storage_type, storage_json, labels_json, archived, registered)
                VALUES ('{{flowId}}', '{{projectId}}', 'etl', 1, '{{Guid.NewGuid()}}', '{}', 'h', 'k1', 'Local',
                        '{"type":"Local"}', '["prod"]', 0, '2024-01-02T03:04:06.000000Z');
                """);
            Assert.Equal(["flows", "projects"], Tables(connection));
        }

        var backend = Open();

        using (var connection = RawConnection())
        {
            Assert.Equal((long)SqliteFlowBackend.SchemaVersion, Scalar<long>(connection, "PRAGMA user_version;"));
            Assert.Equal(AllTables, Tables(connection));
        }
        var project = Assert.Single(await backend.GetProjectsAsync("old", Ct));
        Assert.Equal(projectId, project.Id);
        Assert.Equal("from v1", project.Description);
        Assert.Equal(1, project.FlowCount);
        var flow = Assert.Single(await backend.GetFlowsAsync(new FlowQuery { Project = "Old" }, Ct));
        Assert.Equal(flowId, flow.Id);
        Assert.Equal(["prod"], flow.Labels);

        var run = await backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        Assert.Equal(("etl", "Old", 1), (run.FlowName, run.Project, run.FlowVersion));
        Assert.Equal(run.Id, (await backend.ClaimRunAsync("agent", null, Ct))?.Id);
        Assert.Equal(2, (await backend.RegisterFlowAsync(Request("Old", "etl", "k2"), Ct)).Flow.Version);
    }

    [Fact]
    public async Task FailStaleRuns_ComparesTheHeartbeatAgeWithTheTimeout()
    {
        var backend = Open();
        await backend.CreateProjectAsync("p", null, Ct);
        var flow = (await backend.RegisterFlowAsync(Request("p", "f", "k"), Ct)).Flow;
        var old = await backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        var recent = await backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        await backend.ClaimRunAsync("agent-old", old.Id, Ct);
        await backend.ClaimRunAsync("agent-recent", recent.Id, Ct);
        var now = DateTimeOffset.UtcNow;
        var oldBeat = Iso(now.AddSeconds(-120));
        using (var connection = RawConnection())
        {
            Execute(connection, $"UPDATE runs SET heartbeat = '{oldBeat}' WHERE id = '{old.Id}';");
            Execute(connection, $"UPDATE runs SET heartbeat = '{Iso(now.AddSeconds(-30))}' WHERE id = '{recent.Id}';");
        }

        var failed = await backend.FailStaleRunsAsync(TimeSpan.FromSeconds(60), Ct);

        var run = Assert.Single(failed);
        Assert.Equal(old.Id, run.Id);
        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal("RunAgentLost", run.ErrorId);
        Assert.Equal(
            $"agent 'agent-old' stopped heartbeating (last heartbeat {oldBeat}, timeout 60s); the run was marked failed",
            run.Error);
        var stillRunning = Assert.Single(await backend.GetRunsAsync(new RunQuery { Id = recent.Id }, Ct));
        Assert.Equal(RunState.Running, stillRunning.State);
        Assert.False(await backend.HeartbeatAsync(recent.Id, "agent-recent", [], Ct));
        Assert.True(await backend.HeartbeatAsync(old.Id, "agent-old", [], Ct));
        Assert.Empty(await backend.FailStaleRunsAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Empty(await backend.FailStaleRunsAsync(TimeSpan.MaxValue, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => backend.FailStaleRunsAsync(TimeSpan.FromSeconds(-1), Ct));
    }

    [Fact]
    public async Task FailStaleRuns_ByAnotherInstance_MakesTheOwnersCompletionFail()
    {
        var agentSide = Open();
        var watcher = Open();
        await agentSide.CreateProjectAsync("p", null, Ct);
        var flow = (await agentSide.RegisterFlowAsync(Request("p", "f", "k"), Ct)).Flow;
        var run = await agentSide.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        await agentSide.ClaimRunAsync("agent", run.Id, Ct);

        Assert.Equal(run.Id, Assert.Single(await watcher.FailStaleRunsAsync(TimeSpan.Zero, Ct)).Id);

        Assert.True(await agentSide.HeartbeatAsync(run.Id, "agent", [], Ct));
        Assert.False(await agentSide.CompleteRunAsync(run.Id, "agent", new RunCompletion { State = RunState.Success }, Ct));
        Assert.Equal(RunState.Failed, Assert.Single(await watcher.GetRunsAsync(new RunQuery { Id = run.Id }, Ct)).State);
    }

    [Fact]
    public async Task Runs_AreStoredWithIsoTimestampsAndStateNames()
    {
        var backend = Open();
        await backend.CreateProjectAsync("p", null, Ct);
        var flow = (await backend.RegisterFlowAsync(Request("p", "f", "k"), Ct)).Flow;
        var run = await backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        await backend.ClaimRunAsync("agent", run.Id, Ct);
        await backend.HeartbeatAsync(run.Id, "agent",
            [new TaskRunRecord("T", "t", TaskRunState.UpstreamFailed, 0, null, null, null)], Ct);
        await backend.AppendLogAsync(run.Id, [new RunLogEntry(DateTimeOffset.UtcNow, "t", "Info", "x")], Ct);
        await backend.CompleteRunAsync(run.Id, "agent", new RunCompletion { State = RunState.Success }, Ct);

        using var connection = RawConnection();
        const string iso = @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$";
        foreach (var column in new[] { "created", "started", "ended", "heartbeat" })
        {
            Assert.Matches(iso, Scalar<string>(connection, $"SELECT {column} FROM runs;"));
        }
        Assert.Matches(iso, Scalar<string>(connection, "SELECT time FROM run_logs;"));
        Assert.Equal("Success", Scalar<string>(connection, "SELECT state FROM runs;"));
        Assert.Equal("UpstreamFailed", Scalar<string>(connection, "SELECT state FROM task_runs;"));
        Assert.Equal(1L, Scalar<long>(connection, "SELECT seq FROM run_logs;"));
    }

    [Fact]
    public void RunQueries_UseTheQueueAndHistoryIndexes()
    {
        Open();

        using var connection = RawConnection();
        Assert.Contains("ix_runs_state_created", QueryPlan(connection,
            "SELECT id FROM runs WHERE state = 'Scheduled' ORDER BY created, rowid LIMIT 1;"));
        Assert.Contains("ix_runs_flow_created", QueryPlan(connection,
            "SELECT id FROM runs WHERE flow_id = 'x' ORDER BY created DESC, rowid DESC;"));
        Assert.Contains("ix_runs_created", QueryPlan(connection,
            "SELECT id FROM runs ORDER BY created DESC, rowid DESC LIMIT 10;"));
    }

    [Fact]
    public async Task Constraints_RejectAnUnknownRunState()
    {
        var backend = Open();
        await backend.CreateProjectAsync("p", null, Ct);
        var flow = (await backend.RegisterFlowAsync(Request("p", "f", "k"), Ct)).Flow;
        var run = await backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        using var connection = RawConnection();
        var error = Assert.Throws<SqliteException>(
            () => Execute(connection, $"UPDATE runs SET state = 'Paused' WHERE id = '{run.Id}';"));
        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT (CHECK)
    }

    private static string Iso(DateTimeOffset value)
        => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string QueryPlan(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(3));
        }
        return string.Join("\n", lines);
    }
}
