using System.Globalization;
using System.Text.Json;
using Flowstore.Backend.Relational;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

/// <summary>
/// The embedded backend: one SQLite file (WAL journal, 30 s busy timeout, foreign keys on), schema kept up to date
/// by numbered migrations when it is opened. Each operation uses its own (pooled) connection, so one instance may be
/// used from several threads, and several instances or processes may share the file: registrations serialize on
/// SQLite's write lock (BEGIN IMMEDIATE), which is what keeps version numbers free of gaps and duplicates, and run
/// claims exclusive (SqliteFlowBackend.Runs.cs).
/// </summary>
public sealed partial class SqliteFlowBackend : RelationalFlowBackend, IFlowBackend, IApiKeyStore
{
    /// <summary>The database file's name inside <see cref="FlowstoreHome.Path"/>.</summary>
    public const string DefaultFileName = "flowstore.db";

    /// <summary>How long an operation waits for another writer before it fails.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _connectionString;
    private volatile bool _disposed;

    /// <summary>Closes the pooled connections of every SQLite backend in the process (open ones close when returned).</summary>
    public static void ClearConnectionPools() => SqliteConnection.ClearAllPools();

    /// <summary>
    /// Opens (creating when missing, with its folders) the database at <paramref name="databasePath"/> and applies
    /// pending migrations. <see cref="ErrorIds.BackendSchemaTooNew"/> when the file was made by a newer Flowstore;
    /// <see cref="ErrorIds.BackendUnavailable"/> when it cannot be opened or is not a Flowstore database.
    /// </summary>
    public SqliteFlowBackend(string databasePath)
        : base(SqliteDialect.Instance)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();

        CreateFile();
        try
        {
            using var connection = Open();
            CheckApplicationId(connection);
            EnableWal(connection);
            SqliteMigrations.Apply(connection, DatabasePath);
        }
        catch (SqliteException e)
        {
            SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
            throw Unavailable(e);
        }
        catch
        {
            SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
            throw;
        }
    }

    /// <summary><c>$FLOWSTORE_HOME/flowstore.db</c> (FLOWSTORE_HOME defaults to <c>~/.flowstore</c>).</summary>
    public static string DefaultDatabasePath => Path.Combine(FlowstoreHome.Path, DefaultFileName);

    /// <summary>The schema version this code creates and understands.</summary>
    public static int SchemaVersion => SqliteMigrations.LatestVersion;

    /// <summary>Opens the database at <see cref="DefaultDatabasePath"/>, creating the home folder (0700) first.</summary>
    public static SqliteFlowBackend OpenDefault()
    {
        FlowstoreHome.Ensure();
        return new SqliteFlowBackend(DefaultDatabasePath);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    public override string Description => $"SQLite {DatabasePath}";

    public Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken)
    {
        var projectName = ValidateName(name, "project");
        return RunAsync(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            var existing = await FindProjectAsync(connection, transaction, projectName, cancellationToken);
            if (existing is not null)
            {
                throw ProjectExists(existing.Value.Name);
            }

            var project = new ProjectInfo(Guid.NewGuid(), projectName, description, Now(), FlowCount: 0);
            await using var insert = Command(connection, transaction, """
                INSERT INTO projects (id, name, description, created) VALUES ($id, $name, $description, $created);
                """);
            insert.Parameters.AddWithValue("$id", GuidText(project.Id));
            insert.Parameters.AddWithValue("$name", project.Name);
            insert.Parameters.AddWithValue("$description", (object?)project.Description ?? DBNull.Value);
            insert.Parameters.AddWithValue("$created", TimestampText(project.Created));
            try
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (SqliteException e) when (e.SqliteExtendedErrorCode == 2067 /* SQLITE_CONSTRAINT_UNIQUE */)
            {
                throw ProjectExists(projectName);
            }
            await transaction.CommitAsync(cancellationToken);
            return project;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name, CancellationToken cancellationToken)
    {
        return RunAsync<IReadOnlyList<ProjectInfo>>(async connection =>
        {
            await using var command = Command(connection, null, $"""
                SELECT p.id, p.name, p.description, p.created,
                       (SELECT COUNT(DISTINCT f.name) FROM flows f WHERE f.project_id = p.id AND f.archived = 0)
                FROM projects p
                {(name is null ? "" : "WHERE p.name = $name")}
                ORDER BY p.name COLLATE NOCASE, p.name;
                """);
            if (name is not null)
            {
                command.Parameters.AddWithValue("$name", name.Trim());
            }

            var projects = new List<ProjectInfo>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                projects.Add(new ProjectInfo(
                    ParseGuid(reader.GetString(0)),
                    reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    ParseTimestamp(reader.GetString(3)),
                    reader.GetInt32(4)));
            }
            return projects;
        }, cancellationToken);
    }

    public Task<RegistrationOutcome> RegisterFlowAsync(FlowRegistrationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var projectName = ValidateName(request.Project, "project");
        var flowName = ValidateName(request.Name, "flow");
        foreach (var label in request.Labels ?? Array.Empty<string>())
        {
            if (FlowNames.LabelProblem(label) is { } problem)
            {
                throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                    $"The label '{FlowNames.Printable(label)}' of flow '{flowName}' {problem}.") { Target = flowName };
            }
        }
        if (string.IsNullOrEmpty(request.RegistrationKey))
        {
            throw new ArgumentException("The registration key is empty.", nameof(request));
        }

        return RunAsync(async connection =>
        {
            // BEGIN IMMEDIATE: take the write lock before reading, so two registrations never read the same latest.
            await using var transaction = connection.BeginTransaction(deferred: false);
            var project = await FindProjectAsync(connection, transaction, projectName, cancellationToken)
                ?? throw new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                    $"Project '{projectName}' does not exist ({Description}); create it first, or let registration create it.")
                { Target = projectName, Hint = FlowHint.CreateProject(projectName) };

            FlowRecord? latest;
            await using (var select = Command(connection, transaction, $"""
                SELECT {FlowColumns}
                FROM flows f JOIN projects p ON p.id = f.project_id
                WHERE f.project_id = $project AND f.name = $name
                ORDER BY f.version DESC
                LIMIT 1;
                """))
            {
                select.Parameters.AddWithValue("$project", GuidText(project.Id));
                select.Parameters.AddWithValue("$name", flowName);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                latest = await reader.ReadAsync(cancellationToken) ? ReadFlow(reader) : null;
            }

            if (latest is { Archived: false } && !request.Force
                && string.Equals(latest.RegistrationKey, request.RegistrationKey, StringComparison.Ordinal))
            {
                return new RegistrationOutcome(latest, RegistrationStatus.Skipped, null);
            }

            var versionGroupId = latest?.VersionGroupId ?? Guid.NewGuid();
            int version;
            await using (var max = Command(connection, transaction,
                "SELECT COALESCE(MAX(version), 0) FROM flows WHERE version_group_id = $group;"))
            {
                max.Parameters.AddWithValue("$group", GuidText(versionGroupId));
                version = Convert.ToInt32(await max.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) + 1;
            }

            await using (var archive = Command(connection, transaction,
                "UPDATE flows SET archived = 1 WHERE version_group_id = $group AND archived = 0;"))
            {
                archive.Parameters.AddWithValue("$group", GuidText(versionGroupId));
                await archive.ExecuteNonQueryAsync(cancellationToken);
            }

            var flow = FlowRecord.From(request, flowName, project.Name, Guid.NewGuid(), version, versionGroupId, Now());
            await using (var insert = Command(connection, transaction, """
                INSERT INTO flows (id, project_id, name, version, version_group_id, structure_json, structure_hash,
                                   registration_key, storage_type, storage_json, labels_json, archived, registered,
                                   description, script_path, script_sha256, created_by, registration_input, registration_input_flows)
                VALUES ($id, $project, $name, $version, $group, $structure_json, $structure_hash,
                        $registration_key, $storage_type, $storage_json, $labels_json, 0, $registered,
                        $description, $script_path, $script_sha256, $created_by, $registration_input, $registration_input_flows);
                """))
            {
                var p = insert.Parameters;
                p.AddWithValue("$id", GuidText(flow.Id));
                p.AddWithValue("$project", GuidText(project.Id));
                p.AddWithValue("$name", flow.Name);
                p.AddWithValue("$version", flow.Version);
                p.AddWithValue("$group", GuidText(flow.VersionGroupId));
                p.AddWithValue("$structure_json", flow.StructureJson);
                p.AddWithValue("$structure_hash", flow.StructureHash);
                p.AddWithValue("$registration_key", flow.RegistrationKey);
                p.AddWithValue("$storage_type", flow.StorageType);
                p.AddWithValue("$storage_json", flow.StorageJson);
                p.AddWithValue("$labels_json", JsonSerializer.Serialize(flow.Labels.ToArray()));
                p.AddWithValue("$registered", TimestampText(flow.Registered));
                p.AddWithValue("$description", (object?)flow.Description ?? DBNull.Value);
                p.AddWithValue("$script_path", (object?)flow.ScriptPath ?? DBNull.Value);
                p.AddWithValue("$script_sha256", (object?)flow.ScriptSha256 ?? DBNull.Value);
                p.AddWithValue("$created_by", (object?)flow.CreatedBy ?? DBNull.Value);
                p.AddWithValue("$registration_input", (object?)request.RegistrationInput ?? DBNull.Value);
                p.AddWithValue("$registration_input_flows", (object?)request.RegistrationInputFlows ?? DBNull.Value);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return new RegistrationOutcome(flow, RegistrationStatus.Registered, latest is null ? null : latest with { Archived = true });
        }, cancellationToken);
    }

    public Task<IReadOnlyList<UnchangedRegistration>> FindUnchangedRegistrationsAsync(string project, IReadOnlyList<string> registrationInputs,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(registrationInputs);
        return RunAsync<IReadOnlyList<UnchangedRegistration>>(async connection =>
        {
            var found = new List<UnchangedRegistration>();
            foreach (var input in registrationInputs.Distinct(StringComparer.Ordinal))
            {
                // The latest version of every flow of the project once registered from the input.
                await using var command = Command(connection, null, $"""
                    SELECT {FlowColumns}, f.registration_input, f.registration_input_flows
                    FROM flows f JOIN projects p ON p.id = f.project_id
                    WHERE p.name = $project
                      AND f.name IN (SELECT g.name FROM flows g WHERE g.project_id = f.project_id AND g.registration_input = $input)
                      AND f.version = (SELECT MAX(h.version) FROM flows h WHERE h.project_id = f.project_id AND h.name = f.name)
                    ORDER BY f.name;
                    """);
                command.Parameters.AddWithValue("$project", project.Trim());
                command.Parameters.AddWithValue("$input", input);
                var rows = new List<(FlowRecord Flow, string? Input, int? Flows)>();
                await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        rows.Add((ReadFlow(reader), reader.IsDBNull(17) ? null : reader.GetString(17), reader.IsDBNull(18) ? null : reader.GetInt32(18)));
                    }
                }
                if (UnchangedRegistrations.Check(input, rows) is { } unchanged)
                {
                    found.Add(unchanged);
                }
            }
            return found;
        }, cancellationToken);
    }

    public Task<int> ArchiveFlowAsync(Guid versionGroupId, CancellationToken cancellationToken)
    {
        return RunAsync(async connection =>
        {
            await using var command = Command(connection, null,
                "UPDATE flows SET archived = 1 WHERE version_group_id = $group AND archived = 0;");
            command.Parameters.AddWithValue("$group", GuidText(versionGroupId));
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Closes this file's pooled connections, so the file can be moved or deleted.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    internal override Task<T> WithSessionAsync<T>(Func<RelationalSession, Task<T>> operation, CancellationToken cancellationToken)
        => RunAsync(connection => operation(new RelationalSession(connection, Dialect)), cancellationToken);

    private async Task<T> RunAsync<T>(Func<SqliteConnection, Task<T>> operation, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            return await operation(connection);
        }
        catch (SqliteException e)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>A connection set up as every operation's (tests check its pragmas).</summary>
    internal SqliteConnection OpenConnection() => Open();

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var pragma = Command(connection, null, BusyTimeoutPragma);
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = Command(connection, null, BusyTimeoutPragma);
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string BusyTimeoutPragma => $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds};";

    /// <summary>Creates a missing database file empty and owner-only (0600 on Unix), and its folders (0700).</summary>
    private void CreateFile()
    {
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            FlowstoreHome.EnsureDirectory(directory);
        }
        if (File.Exists(DatabasePath))
        {
            return;
        }
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using var _ = new FileStream(DatabasePath, options);
        }
        catch (IOException) when (File.Exists(DatabasePath))
        {
            // Another process created it first: fine, an empty file is an empty database.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var full = AtomicFile.IsDiskFull(e);
            throw new FlowstoreException(ErrorIds.BackendUnavailable, full ? FlowErrorKind.WriteError : FlowErrorKind.PermissionDenied,
                $"Cannot create the Flowstore database '{DatabasePath}': {(full ? "the disk is full" : e.Message)}", e) { Target = DatabasePath };
        }
    }

    private void CheckApplicationId(SqliteConnection connection)
    {
        using var command = Command(connection, null, "PRAGMA application_id;");
        var applicationId = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (applicationId != 0 && applicationId != SqliteMigrations.ApplicationId)
        {
            throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidData,
                $"'{DatabasePath}' is a SQLite database of another application, not a Flowstore database.")
            { Target = DatabasePath };
        }
    }

    private static void EnableWal(SqliteConnection connection)
    {
        using var read = Command(connection, null, "PRAGMA journal_mode;");
        if (string.Equals(read.ExecuteScalar() as string, "wal", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        // Persistent in the file: only the first opener changes it.
        using var set = Command(connection, null, "PRAGMA journal_mode = WAL;");
        set.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static async Task<(Guid Id, string Name)?> FindProjectAsync(
        SqliteConnection connection, SqliteTransaction transaction, string name, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT id, name FROM projects WHERE name = $name;");
        command.Parameters.AddWithValue("$name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (ParseGuid(reader.GetString(0)), reader.GetString(1)) : null;
    }

    private FlowstoreException Unavailable(SqliteException e) => Unavailable(e, DatabasePath);

    /// <summary>
    /// A SQLite failure as a Flowstore error on the database file, categorised by what went wrong with the file (it is
    /// never a connection): corrupt or not a database → read error; read-only or full → write error; locked or busy →
    /// resource unavailable. SQLite reports a write that found no space as "disk I/O error" in places (the WAL's
    /// shared-memory file): when the disk is (nearly) full, the message says so.
    /// </summary>
    internal static FlowstoreException Unavailable(SqliteException e, string databasePath)
    {
        var extended = e.SqliteExtendedErrorCode;
        var diskFull = e.SqliteErrorCode == 13 /* SQLITE_FULL */
            || (e.SqliteErrorCode == 10 /* SQLITE_IOERR */ && AtomicFile.IsNearlyFull(databasePath));
        var (kind, what) = e.SqliteErrorCode switch
        {
            _ when diskFull => (FlowErrorKind.WriteError, "cannot be written: the disk is full"),
            19 /* SQLITE_CONSTRAINT */ => (FlowErrorKind.InvalidOperation, "refused the change"),
            11 /* SQLITE_CORRUPT */ => (FlowErrorKind.ReadError, "is corrupt"),
            26 /* SQLITE_NOTADB */ => (FlowErrorKind.ReadError, "is not a database (damaged or another kind of file)"),
            8 /* SQLITE_READONLY */ => (FlowErrorKind.WriteError, "is read-only"),
            3 /* SQLITE_PERM */ or 23 /* SQLITE_AUTH */ => (FlowErrorKind.PermissionDenied, "may not be accessed"),
            5 /* SQLITE_BUSY */ or 6 /* SQLITE_LOCKED */ => (FlowErrorKind.ResourceUnavailable, "is locked by another process"),
            14 /* SQLITE_CANTOPEN */ => (FlowErrorKind.ResourceUnavailable, "cannot be opened"),
            10 /* SQLITE_IOERR */ when extended is 266 /* READ */ or 522 /* SHORT_READ */ => (FlowErrorKind.ReadError, "cannot be read"),
            10 /* SQLITE_IOERR */ => (FlowErrorKind.WriteError, "cannot be written"),
            _ => (FlowErrorKind.ResourceUnavailable, "failed"),
        };
        return new FlowstoreException(ErrorIds.BackendUnavailable, kind, $"The Flowstore database '{databasePath}' {what}: {e.Message}", e) { Target = databasePath };
    }

    private static string TimestampText(DateTimeOffset value) => SqliteDialect.TimestampText(value);

    private static DateTimeOffset ParseTimestamp(string text) => SqliteDialect.ParseTimestamp(text);

    private static string GuidText(Guid id) => SqliteDialect.GuidText(id);

    private static Guid ParseGuid(string text) => SqliteDialect.ParseGuid(text);
}
