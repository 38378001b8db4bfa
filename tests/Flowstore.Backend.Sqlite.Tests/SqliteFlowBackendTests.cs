using Flowstore.Backend.Contract;
using static Flowstore.Backend.Contract.MinimalRequests;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite.Tests;

/// <summary>What only the SQLite file has: creation, migrations, pragmas, several instances and threads on one file.</summary>
public sealed partial class SqliteFlowBackendTests : IDisposable
{
    private const int Racers = Race.Racers;
    private static readonly string[] AllTables = ["agents", "api_keys", "flow_schedules", "flows", "idempotent_answers", "projects", "run_logs", "runs", "schedule_occurrences", "secrets", "task_runs"];
    private readonly TempDirectory _directory = new();
    private readonly List<SqliteFlowBackend> _backends = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private string DatabasePath => _directory.File("flowstore.db");

    private CancellationToken Ct => _timeout.Token;

    public void Dispose()
    {
        foreach (var backend in _backends)
        {
            backend.Dispose();
        }
        _timeout.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public void Open_CreatesTheFileAndItsFolders()
    {
        var path = Path.Combine(_directory.Path, "a", "b", "flowstore.db");

        var backend = Open(path);

        Assert.True(File.Exists(path));
        Assert.Equal(Path.GetFullPath(path), backend.DatabasePath);
        Assert.Equal($"SQLite {Path.GetFullPath(path)}", backend.Description);
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(_directory.Path, "a")));
            Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(_directory.Path, "a", "b")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void Open_AppliesTheLatestSchema()
    {
        Open();

        using var connection = RawConnection();
        Assert.Equal(SqliteFlowBackend.SchemaVersion, Scalar<long>(connection, "PRAGMA user_version;"));
        Assert.Equal((long)SqliteMigrations.ApplicationId, Scalar<long>(connection, "PRAGMA application_id;"));
        Assert.Equal(AllTables, Tables(connection));
    }

    [Fact]
    public void Open_UsesWalJournalBusyTimeoutAndForeignKeys()
    {
        var backend = Open();

        using (var raw = RawConnection())
        {
            Assert.Equal("wal", Scalar<string>(raw, "PRAGMA journal_mode;"));
        }
        using var connection = backend.OpenConnection();
        Assert.Equal(1L, Scalar<long>(connection, "PRAGMA foreign_keys;"));
        Assert.Equal(30_000L, Scalar<long>(connection, "PRAGMA busy_timeout;"));
        Assert.Equal(30, connection.DefaultTimeout);
    }

    [Fact]
    public async Task Migrations_AreIdempotent()
    {
        var first = Open();
        await first.CreateProjectAsync("kept", null, Ct);
        await first.RegisterFlowAsync(Request("kept", "my_flow", "k1"), Ct);
        first.Dispose();
        string schemaBefore;
        using (var connection = RawConnection())
        {
            schemaBefore = Schema(connection);
            SqliteMigrations.Apply(connection, DatabasePath); // once more, on an up-to-date file
            SqliteMigrations.Apply(connection, DatabasePath);
            Assert.Equal(schemaBefore, Schema(connection));
            Assert.Equal(SqliteFlowBackend.SchemaVersion, Scalar<long>(connection, "PRAGMA user_version;"));
        }

        var reopened = Open();

        using (var connection = RawConnection())
        {
            Assert.Equal(schemaBefore, Schema(connection));
        }
        Assert.Equal(1, Assert.Single(await reopened.GetProjectsAsync("kept", Ct)).FlowCount);
        var next = await reopened.RegisterFlowAsync(Request("kept", "my_flow", "k2"), Ct);
        Assert.Equal(2, next.Flow.Version);
    }

    [Fact]
    public void Open_SchemaNewerThanTheCode_FailsWithBackendSchemaTooNew()
    {
        Open().Dispose();
        using (var connection = RawConnection())
        {
            Execute(connection, $"PRAGMA user_version = {SqliteFlowBackend.SchemaVersion + 1};");
        }

        var error = Assert.Throws<FlowstoreException>(() => Open());

        Assert.Equal(ErrorIds.BackendSchemaTooNew, error.ErrorId);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.Contains($"schema version {SqliteFlowBackend.SchemaVersion + 1}", error.Message, StringComparison.Ordinal);
        Assert.Equal(DatabasePath, error.Target);
        using (var connection = RawConnection())
        {
            Assert.Equal(SqliteFlowBackend.SchemaVersion + 1, Scalar<long>(connection, "PRAGMA user_version;"));
        }
    }

    [Fact]
    public void Open_AFileThatIsNotADatabase_FailsWithBackendUnavailable()
    {
        File.WriteAllText(DatabasePath, "this is not a SQLite database, just some text that is long enough to matter");

        var error = Assert.Throws<FlowstoreException>(() => Open());

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_AnotherApplicationsDatabase_FailsWithBackendUnavailable()
    {
        using (var connection = RawConnection())
        {
            Execute(connection, "PRAGMA application_id = 12345; CREATE TABLE theirs (x INTEGER);");
        }

        var error = Assert.Throws<FlowstoreException>(() => Open());

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
        using (var connection = RawConnection())
        {
            Assert.Equal(["theirs"], Tables(connection)); // left alone
        }
    }

    [Fact]
    public async Task Open_ConcurrentlyOnANewFile_AllSucceedAndMigrateOnce()
    {
        var backends = await Race.TogetherAsync(_ => Task.FromResult(Open()));

        Assert.Equal(Racers, backends.Distinct().Count());
        using var connection = RawConnection();
        Assert.Equal(SqliteFlowBackend.SchemaVersion, Scalar<long>(connection, "PRAGMA user_version;"));
        Assert.Equal("wal", Scalar<string>(connection, "PRAGMA journal_mode;"));
        Assert.Equal(AllTables, Tables(connection));
    }

    [Fact]
    public async Task OneInstance_IsSafeFromManyThreads()
    {
        var backend = Open();
        await backend.CreateProjectAsync("threads", null, Ct);

        var outcomes = await Race.TogetherAsync(
            i => backend.RegisterFlowAsync(Request("threads", $"flow{i % 2}", $"k{i}"), Ct));

        Assert.All(outcomes, o => Assert.Equal(RegistrationStatus.Registered, o.Status));
        foreach (var name in new[] { "flow0", "flow1" })
        {
            var versions = outcomes.Where(o => o.Flow.Name == name).Select(o => o.Flow.Version).Order();
            Assert.Equal(Enumerable.Range(1, Racers / 2), versions);
        }
    }

    [Fact]
    public async Task Dispose_ReleasesTheFile()
    {
        var backend = Open();
        await backend.CreateProjectAsync("p", null, Ct);
        await backend.RegisterFlowAsync(Request("p", "f", "k"), Ct);

        backend.Dispose();

        Assert.False(File.Exists(DatabasePath + "-wal"), "the WAL is checkpointed and removed once no connection is open");
        File.Delete(DatabasePath);
        Assert.False(File.Exists(DatabasePath));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => backend.GetProjectsAsync(null, Ct));
    }

    [Fact]
    public async Task Timestamps_AreStoredAsIsoUtcText()
    {
        var backend = Open();
        var project = await backend.CreateProjectAsync("p", null, Ct);
        await backend.RegisterFlowAsync(Request("p", "f", "k"), Ct);

        using var connection = RawConnection();
        var created = Scalar<string>(connection, "SELECT created FROM projects;");
        var registered = Scalar<string>(connection, "SELECT registered FROM flows;");
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", created);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", registered);
        Assert.Equal(project.Created, DateTimeOffset.Parse(created, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Constraints_RejectADuplicateVersionWrittenBehindTheBackendsBack()
    {
        var backend = Open();
        await backend.CreateProjectAsync("p", null, Ct);
        var flow = (await backend.RegisterFlowAsync(Request("p", "f", "k"), Ct)).Flow;

        using var connection = RawConnection();
        var duplicate = Assert.Throws<SqliteException>(() => Execute(connection, $"""
            INSERT INTO flows (id, project_id, name, version, version_group_id, structure_json, structure_hash,
                               registration_key, storage_type, storage_json, registered)
            SELECT '{Guid.NewGuid()}', project_id, 'F', 1, '{Guid.NewGuid()}', '', '', '', '', '', registered
            FROM flows WHERE id = '{flow.Id}';
            """));
        Assert.Equal(19, duplicate.SqliteErrorCode); // SQLITE_CONSTRAINT: (project, name ignoring case, version)
    }

    // ---------------------------------------------------------------- helpers

    private SqliteFlowBackend Open(string? path = null)
    {
        var backend = new SqliteFlowBackend(path ?? DatabasePath);
        lock (_backends)
        {
            _backends.Add(backend);
        }
        return backend;
    }

    /// <summary>A connection of the test's own, outside the backend (no pooling, so nothing is left open).</summary>
    private SqliteConnection RawConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    private static T Scalar<T>(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<string> Tables(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    private static string Schema(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT group_concat(type || ' ' || name || ': ' || COALESCE(sql, ''), char(10)) FROM (SELECT * FROM sqlite_master ORDER BY name);";
        return (string)command.ExecuteScalar()!;
    }
}
