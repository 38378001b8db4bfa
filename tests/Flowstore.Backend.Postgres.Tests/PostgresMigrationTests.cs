using Npgsql;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>The schema: created on first use, upgraded in place from an older version, a newer one refused.</summary>
public sealed class PostgresMigrationTests : IAsyncLifetime
{
    private static readonly string[] AllTables = ["agents", "api_keys", "flow_schedules", "flows", "idempotent_answers", "projects", "run_logs", "runs", "schedule_occurrences", "schema_version", "secrets", "task_runs"];
    private readonly List<PostgresFlowBackend> _backends = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private string _database = "";

    private CancellationToken Ct => _timeout.Token;

    private string ConnectionString => PostgresTestServer.ConnectionStringFor(_database);

    public async Task InitializeAsync() => _database = await PostgresTestServer.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var backend in _backends)
        {
            backend.Dispose();
        }
        _timeout.Dispose();
        await PostgresTestServer.DropDatabaseAsync(_database);
    }

    [Fact]
    public async Task Open_EmptyDatabase_CreatesEveryTableAndRecordsEachMigration()
    {
        Assert.Empty(await TablesAsync());

        await OpenAsync();

        Assert.Equal(AllTables, await TablesAsync());
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], await AppliedVersionsAsync());
        Assert.Equal(PostgresFlowBackend.SchemaVersion, (await AppliedVersionsAsync()).Max());
    }

    [Fact]
    public async Task Constructor_DoesNotConnect_FirstOperationMigrates()
    {
        var backend = Track(new PostgresFlowBackend(ConnectionString));
        Assert.Empty(await TablesAsync());

        Assert.Empty(await backend.GetProjectsAsync(null, Ct));

        Assert.Equal(AllTables, await TablesAsync());
    }

    [Fact]
    public async Task Open_Twice_IsIdempotentAndKeepsData()
    {
        var first = await OpenAsync();
        await first.CreateProjectAsync("kept", "data", Ct);

        var second = await OpenAsync();

        Assert.Equal("kept", Assert.Single(await second.GetProjectsAsync(null, Ct)).Name);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], await AppliedVersionsAsync());
    }

    [Fact]
    public async Task Open_EightBackendsAtOnceOnAnEmptyDatabase_MigrateOnce()
    {
        var opened = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => OpenAsync())));

        Assert.Equal(8, opened.Length);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], await AppliedVersionsAsync());
        Assert.Equal(AllTables, await TablesAsync());
    }

    [Fact]
    public async Task Open_DatabaseAtSchemaVersionOne_UpgradesInPlaceKeepingProjectsAndFlows()
    {
        var old = Track(new PostgresFlowBackend(ConnectionString));
        await old.MigrateAsync(1, Ct);
        Assert.Equal([1], await AppliedVersionsAsync());
        Assert.Equal(["flows", "projects", "schema_version"], await TablesAsync());
        var projectId = Guid.NewGuid();
        await PostgresTestServer.ExecuteAsync($"""
            INSERT INTO flowstore.projects (id, name, description, created) VALUES ('{projectId}', 'Legacy', 'from v1', now());
            INSERT INTO flowstore.flows (id, project_id, name, version, version_group_id, structure_json, structure_hash,
                                         registration_key, storage_type, storage_json, registered)
            VALUES ('{Guid.NewGuid()}', '{projectId}', 'old_flow', 1, '{Guid.NewGuid()}', '{"{}"}', 'h', 'k', 'Local', '{"{}"}', now());
            """, ConnectionString);

        var backend = await OpenAsync();

        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], await AppliedVersionsAsync());
        Assert.Equal(AllTables, await TablesAsync());
        var project = Assert.Single(await backend.GetProjectsAsync("legacy", Ct));
        Assert.Equal((projectId, "from v1", 1), (project.Id, project.Description, project.FlowCount));
        var flow = Assert.Single(await backend.GetFlowsAsync(new FlowQuery { Project = "Legacy" }, Ct));
        var run = await backend.CreateRunAsync(new NewRun { Flow = flow }, Ct); // the tables of version 2 work
        await backend.PutSecretAsync("TOKEN", [1, 2, 3], Ct);                     // and those of version 3
        await backend.CreateApiKeyAsync(new NewApiKey { Name = "ci", Role = FlowRole.Registrar, TokenHash = ApiKeyToken.Hash(ApiKeyToken.Generate()) }, Ct); // and 4
        Assert.Null(flow.CreatedBy);
        Assert.Null(run.CreatedBy);
        Assert.Equal(RunState.Scheduled, run.State);
        Assert.Equal(2, (await backend.RegisterFlowAsync(Flowstore.Backend.Contract.MinimalRequests.Request("Legacy", "old_flow", "k2"), Ct)).Flow.Version);
    }

    [Fact]
    public async Task Open_DatabaseWithANewerSchema_FailsWithBackendSchemaTooNewAndChangesNothing()
    {
        await OpenAsync();
        await PostgresTestServer.ExecuteAsync(
            $"INSERT INTO flowstore.schema_version (version, name) VALUES ({PostgresFlowBackend.SchemaVersion + 1}, 'from the future');",
            ConnectionString);

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => PostgresFlowBackend.OpenAsync(ConnectionString, Ct));

        Assert.Equal(ErrorIds.BackendSchemaTooNew, error.ErrorId);
        Assert.Contains($"schema version {PostgresFlowBackend.SchemaVersion + 1}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"understands ({PostgresFlowBackend.SchemaVersion})", error.Message, StringComparison.Ordinal);
        Assert.Contains($"/{_database}", error.Message, StringComparison.Ordinal);

        // A backend made with the constructor refuses on its first operation, writing nothing.
        var lazy = Track(new PostgresFlowBackend(ConnectionString));
        var first = await Assert.ThrowsAsync<FlowstoreException>(() => lazy.CreateProjectAsync("never", null, Ct));
        Assert.Equal(ErrorIds.BackendSchemaTooNew, first.ErrorId);
        Assert.Equal(0L, await PostgresTestServer.ScalarAsync(ConnectionString, "SELECT COUNT(*) FROM flowstore.projects;"));
    }

    [Fact]
    public async Task Open_TablesOfAnotherApplicationInTheDatabase_AreLeftAlone()
    {
        await PostgresTestServer.ExecuteAsync("CREATE TABLE public.projects (id integer PRIMARY KEY, title text);", ConnectionString);

        var backend = await OpenAsync();
        await backend.CreateProjectAsync("mine", null, Ct);

        Assert.Equal(0L, await PostgresTestServer.ScalarAsync(ConnectionString, "SELECT COUNT(*) FROM public.projects;"));
    }

    // ---------------------------------------------------------------- helpers

    private async Task<PostgresFlowBackend> OpenAsync()
    {
        var backend = await PostgresFlowBackend.OpenAsync(ConnectionString, Ct);
        return Track(backend);
    }

    private PostgresFlowBackend Track(PostgresFlowBackend backend)
    {
        lock (_backends)
        {
            _backends.Add(backend);
        }
        return backend;
    }

    private async Task<List<string>> TablesAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'flowstore' ORDER BY table_name;", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var names = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    private async Task<List<int>> AppliedVersionsAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT version FROM flowstore.schema_version ORDER BY version;", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var versions = new List<int>();
        while (await reader.ReadAsync(Ct))
        {
            versions.Add(reader.GetInt32(0));
        }
        return versions;
    }
}
