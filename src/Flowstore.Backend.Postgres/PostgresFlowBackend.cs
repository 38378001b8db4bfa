using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Flowstore.Backend.Relational;
using Npgsql;
using NpgsqlTypes;

namespace Flowstore.Backend.Postgres;

/// <summary>
/// The team backend's database: the same contract as the embedded SQLite file, on a PostgreSQL server (Npgsql), its
/// tables in the schema <c>flowstore</c> kept up to date by numbered migrations (PostgresMigrations.cs).
/// <para>
/// Use: <c>var backend = await PostgresFlowBackend.OpenAsync("Host=db;Port=5432;Database=flowstore;Username=fs;Password=…", ct);</c>
/// connects once and applies pending migrations (<see cref="ErrorIds.BackendSchemaTooNew"/> when the database was
/// made by a newer Flowstore, <see cref="ErrorIds.BackendUnavailable"/> when it cannot be reached). The constructor
/// <c>new PostgresFlowBackend(connectionString)</c> does not connect: the first operation (or
/// <see cref="InitializeAsync"/>) migrates, so a server may start while its database is still down. The connection
/// string is Npgsql's; its password never appears in <see cref="Description"/> or in any error
/// (<see cref="MaskConnectionString"/>).
/// </para>
/// <para>
/// One instance holds one connection pool and may be used from many threads; several instances and processes may
/// share the database. Registrations serialize per flow on a transaction-scoped advisory lock, which keeps version
/// numbers free of gaps and duplicates (with a unique index as a backstop); run claims take the oldest Scheduled run
/// with <c>FOR UPDATE SKIP LOCKED</c>, so concurrent agents never get the same run. When the server goes away (a
/// restart), operations fail with <see cref="ErrorIds.BackendUnavailable"/> and the pool is cleared; an operation
/// whose transaction had not been committed is tried once more on a fresh connection, so the first call after a
/// restart works.
/// </para>
/// </summary>
public sealed partial class PostgresFlowBackend : RelationalFlowBackend, IFlowBackend, IApiKeyStore
{
    /// <summary>Timestamps in messages, as the SQLite backend stores them.</summary>
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string? _password;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private volatile bool _initialized;
    private volatile bool _disposed;

    /// <summary>
    /// A backend on the PostgreSQL database of <paramref name="connectionString"/> (Npgsql syntax:
    /// <c>Host=…;Port=…;Database=…;Username=…;Password=…</c>). Does not connect: the first operation, or
    /// <see cref="InitializeAsync"/>, connects and applies pending migrations. <see cref="ErrorIds.BackendUnavailable"/>
    /// when the connection string cannot be read.
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string; its password is never shown.</param>
    public PostgresFlowBackend(string connectionString)
        : base(PostgresDialect.Instance)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlDataSourceBuilder builder;
        try
        {
            builder = new NpgsqlDataSourceBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            // Npgsql's message names the keyword at fault; a value (the password) is never echoed.
            throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidArgument,
                $"The PostgreSQL connection string '{MaskConnectionString(connectionString)}' is not valid: {e.Message}", e);
        }

        var settings = builder.ConnectionStringBuilder;
        _password = string.IsNullOrEmpty(settings.Password) ? null : settings.Password;
        if (string.IsNullOrEmpty(settings.ApplicationName))
        {
            settings.ApplicationName = "Flowstore";
        }
        Host = string.IsNullOrEmpty(settings.Host) ? "localhost" : settings.Host;
        Port = settings.Port;
        Database = settings.Database ?? settings.Username ?? Environment.UserName;
        Description = $"PostgreSQL {Host}:{Port}/{Database}";
        _dataSource = builder.Build();
    }

    /// <summary>
    /// Creates a backend and connects once, applying pending migrations (see <see cref="InitializeAsync"/>).
    /// </summary>
    public static async Task<PostgresFlowBackend> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var backend = new PostgresFlowBackend(connectionString);
        try
        {
            await backend.InitializeAsync(cancellationToken);
            return backend;
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>The schema version this code creates and understands.</summary>
    public static int SchemaVersion => PostgresMigrations.LatestVersion;

    /// <summary>The server's host (or Unix socket folder) as the connection string names it.</summary>
    public string Host { get; }

    /// <summary>The server's port.</summary>
    public int Port { get; }

    /// <summary>The database's name.</summary>
    public string Database { get; }

    /// <summary>"PostgreSQL host:port/database": never the user's password.</summary>
    public override string Description { get; }

    /// <summary>
    /// Connects and applies pending migrations, once per instance (later calls return at once).
    /// <see cref="ErrorIds.BackendSchemaTooNew"/> when the database's schema is newer than this code;
    /// <see cref="ErrorIds.BackendUnavailable"/> when the server cannot be reached or refuses the change.
    /// </summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => MigrateAsync(null, cancellationToken);

    /// <summary>Migrates up to <paramref name="targetVersion"/> only (tests of upgrades start from an older schema).</summary>
    internal async Task MigrateAsync(int? targetVersion, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized)
        {
            return;
        }
        await _initializeLock.WaitAsync(cancellationToken);
        try
        {
            if (_initialized)
            {
                return;
            }
            await ExecuteAsync(async session =>
            {
                await PostgresMigrations.ApplyAsync(session.Connection, Description, cancellationToken, targetVersion);
                return true;
            }, cancellationToken, initialize: false);
            _initialized = targetVersion is null;
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    /// <summary>
    /// The connection string with its password (and any other secret setting) replaced by "***": what may be shown
    /// or logged. A string that cannot be parsed is masked whole after its first keyword.
    /// </summary>
    public static string MaskConnectionString(string? connectionString)
    {
        if (string.IsNullOrEmpty(connectionString))
        {
            return "";
        }
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            foreach (var key in new[] { "Password", "SSL Password" })
            {
                if (builder.TryGetValue(key, out var value) && value is string { Length: > 0 })
                {
                    builder[key] = "***";
                }
            }
            return builder.ConnectionString;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            return System.Text.RegularExpressions.Regex.Replace(connectionString,
                @"(?i)(password|pwd)\s*=\s*(""[^""]*""|'[^']*'|[^;]*)", "$1=***");
        }
    }

    public Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken)
    {
        var projectName = ValidateName(name, "project");
        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var existing = await FindProjectAsync(connection, transaction, projectName, cancellationToken);
            if (existing is not null)
            {
                throw ProjectExists(existing.Value.Name);
            }

            var project = new ProjectInfo(Guid.NewGuid(), projectName, description, Now(), FlowCount: 0);
            await using var insert = Command(connection, transaction, """
                INSERT INTO flowstore.projects (id, name, description, created) VALUES (@id, @name, @description, @created);
                """);
            AddUuid(insert, "id", project.Id);
            AddText(insert, "name", project.Name);
            AddText(insert, "description", project.Description);
            AddTime(insert, "created", project.Created);
            try
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw ProjectExists(projectName);
            }
            await session.CommitAsync(transaction, cancellationToken);
            return project;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name, CancellationToken cancellationToken)
    {
        return ExecuteAsync<IReadOnlyList<ProjectInfo>>(async session =>
        {
            await using var command = Command(session.Connection, null, $"""
                SELECT p.id, p.name, p.description, p.created,
                       (SELECT COUNT(DISTINCT lower(f.name COLLATE "C")) FROM flowstore.flows f
                        WHERE f.project_id = p.id AND NOT f.archived)
                FROM flowstore.projects p
                {(name is null ? "" : """WHERE lower(p.name COLLATE "C") = lower(@name COLLATE "C")""")}
                ORDER BY lower(p.name COLLATE "C"), p.name COLLATE "C";
                """);
            if (name is not null)
            {
                AddText(command, "name", name.Trim());
            }

            var projects = new List<ProjectInfo>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                projects.Add(new ProjectInfo(
                    reader.GetGuid(0),
                    reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    ReadTime(reader, 3),
                    (int)reader.GetInt64(4)));
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

        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var project = await FindProjectAsync(connection, transaction, projectName, cancellationToken)
                ?? throw new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                    $"Project '{projectName}' does not exist ({Description}); create it first, or let registration create it.")
                { Target = projectName, Hint = FlowHint.CreateProject(projectName) };

            // One registration of (project, flow name) at a time, until commit: two never read the same latest.
            await using (var lockFlow = Command(connection, transaction, """
                SELECT pg_advisory_xact_lock(hashtextextended(@project::text || '/' || lower(@name COLLATE "C"), 0));
                """))
            {
                AddUuid(lockFlow, "project", project.Id);
                AddText(lockFlow, "name", flowName);
                await lockFlow.ExecuteNonQueryAsync(cancellationToken);
            }

            FlowRecord? latest;
            await using (var select = Command(connection, transaction, $"""
                SELECT {FlowColumns}
                FROM flowstore.flows f JOIN flowstore.projects p ON p.id = f.project_id
                WHERE f.project_id = @project AND lower(f.name COLLATE "C") = lower(@name COLLATE "C")
                ORDER BY f.version DESC
                LIMIT 1;
                """))
            {
                AddUuid(select, "project", project.Id);
                AddText(select, "name", flowName);
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
                "SELECT COALESCE(MAX(version), 0) FROM flowstore.flows WHERE version_group_id = @group;"))
            {
                AddUuid(max, "group", versionGroupId);
                version = Convert.ToInt32(await max.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) + 1;
            }

            await using (var archive = Command(connection, transaction,
                "UPDATE flowstore.flows SET archived = true WHERE version_group_id = @group AND NOT archived;"))
            {
                AddUuid(archive, "group", versionGroupId);
                await archive.ExecuteNonQueryAsync(cancellationToken);
            }

            var flow = FlowRecord.From(request, flowName, project.Name, Guid.NewGuid(), version, versionGroupId, Now());
            await using (var insert = Command(connection, transaction, """
                INSERT INTO flowstore.flows (id, project_id, name, version, version_group_id, structure_json, structure_hash,
                                   registration_key, storage_type, storage_json, labels_json, archived, registered,
                                   description, script_path, script_sha256, created_by, registration_input, registration_input_flows)
                VALUES (@id, @project, @name, @version, @group, @structure_json, @structure_hash,
                        @registration_key, @storage_type, @storage_json, @labels_json, false, @registered,
                        @description, @script_path, @script_sha256, @created_by, @registration_input, @registration_input_flows);
                """))
            {
                AddUuid(insert, "id", flow.Id);
                AddUuid(insert, "project", project.Id);
                AddText(insert, "name", flow.Name);
                AddInt(insert, "version", flow.Version);
                AddUuid(insert, "group", flow.VersionGroupId);
                AddText(insert, "structure_json", flow.StructureJson);
                AddText(insert, "structure_hash", flow.StructureHash);
                AddText(insert, "registration_key", flow.RegistrationKey);
                AddText(insert, "storage_type", flow.StorageType);
                AddText(insert, "storage_json", flow.StorageJson);
                AddText(insert, "labels_json", JsonSerializer.Serialize(flow.Labels.ToArray()));
                AddTime(insert, "registered", flow.Registered);
                AddText(insert, "description", flow.Description);
                AddText(insert, "script_path", flow.ScriptPath);
                AddText(insert, "script_sha256", flow.ScriptSha256);
                AddText(insert, "created_by", flow.CreatedBy);
                AddText(insert, "registration_input", request.RegistrationInput);
                insert.Parameters.Add(new NpgsqlParameter("registration_input_flows", NpgsqlDbType.Integer) { Value = (object?)request.RegistrationInputFlows ?? DBNull.Value });
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await session.CommitAsync(transaction, cancellationToken);
            return new RegistrationOutcome(flow, RegistrationStatus.Registered, latest is null ? null : latest with { Archived = true });
        }, cancellationToken);
    }

    public Task<IReadOnlyList<UnchangedRegistration>> FindUnchangedRegistrationsAsync(string project, IReadOnlyList<string> registrationInputs,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(registrationInputs);
        return ExecuteAsync<IReadOnlyList<UnchangedRegistration>>(async session =>
        {
            var found = new List<UnchangedRegistration>();
            foreach (var input in registrationInputs.Distinct(StringComparer.Ordinal))
            {
                // The latest version of every flow of the project once registered from the input.
                await using var command = Command(session.Connection, null, $"""
                    SELECT {FlowColumns}, f.registration_input, f.registration_input_flows
                    FROM flowstore.flows f JOIN flowstore.projects p ON p.id = f.project_id
                    WHERE lower(p.name COLLATE "C") = lower(@project COLLATE "C")
                      AND lower(f.name COLLATE "C") IN (SELECT lower(g.name COLLATE "C") FROM flowstore.flows g
                                                        WHERE g.project_id = f.project_id AND g.registration_input = @input)
                      AND f.version = (SELECT MAX(h.version) FROM flowstore.flows h
                                       WHERE h.project_id = f.project_id AND lower(h.name COLLATE "C") = lower(f.name COLLATE "C"))
                    ORDER BY lower(f.name COLLATE "C");
                    """);
                AddText(command, "project", project.Trim());
                AddText(command, "input", input);
                var rows = new List<(FlowRecord Flow, string? Input, int? Flows)>();
                await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        rows.Add((ReadFlow(reader), ReadOptionalText(reader, 17), reader.IsDBNull(18) ? null : reader.GetInt32(18)));
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
        return ExecuteAsync(async session =>
        {
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(session.Connection, transaction,
                "UPDATE flowstore.flows SET archived = true WHERE version_group_id = @group AND NOT archived;");
            AddUuid(command, "group", versionGroupId);
            var changed = await command.ExecuteNonQueryAsync(cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return changed;
        }, cancellationToken);
    }

    /// <summary>Closes this backend's pooled connections.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _dataSource.Dispose();
    }

    /// <summary>
    /// One round trip to the database (migrating first, once): what a health check calls.
    /// <see cref="ErrorIds.BackendUnavailable"/> when it cannot be reached.
    /// </summary>
    public Task PingAsync(CancellationToken cancellationToken) => ExecuteAsync(async session =>
    {
        await using var command = Command(session.Connection, null, "SELECT 1;");
        await command.ExecuteScalarAsync(cancellationToken);
        return true;
    }, cancellationToken);

    // ---------------------------------------------------------------- connections and errors

    /// <summary>One operation's connection, and whether its commit was sent (after that, a failure is not retried).</summary>
    private sealed class Session(NpgsqlConnection connection) : RelationalSession(connection, PostgresDialect.Instance)
    {
        public new NpgsqlConnection Connection { get; } = connection;
    }

    internal override Task<T> WithSessionAsync<T>(Func<RelationalSession, Task<T>> operation, CancellationToken cancellationToken)
        => ExecuteAsync(session => operation(session), cancellationToken);

    /// <summary>
    /// Runs <paramref name="operation"/> on a pooled connection (migrating first, once). A lost connection clears the
    /// pool; when the operation had not sent its commit (reads, and writes whose transaction the server rolled back
    /// with the connection), it is tried once more on a new connection. Failures become Flowstore errors.
    /// </summary>
    private async Task<T> ExecuteAsync<T>(Func<Session, Task<T>> operation, CancellationToken cancellationToken,
        bool initialize = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (initialize && !_initialized)
        {
            await InitializeAsync(cancellationToken);
        }
        for (var attempt = 1; ; attempt++)
        {
            Session? session = null;
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                session = new Session(connection);
                return await operation(session);
            }
            catch (NpgsqlException e) when (!cancellationToken.IsCancellationRequested)
            {
                var lost = IsConnectionFailure(e);
                if (lost)
                {
                    _dataSource.Clear();
                }
                var retry = session is not null && !session.CommitSent && attempt < 3
                    && (lost || e is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure });
                if (!retry)
                {
                    throw Unavailable(e);
                }
            }
        }
    }

    /// <summary>True when the connection, not the statement, failed: nothing was (or will be) committed on it.</summary>
    internal static bool IsConnectionFailure(NpgsqlException e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow,
        _ => true,
    };

    /// <summary>
    /// A PostgreSQL or connection failure as a Flowstore error naming the database (host, port, name; never the
    /// password): unreachable, timed out or restarting → connection error; missing or out of resources → resource
    /// unavailable; login or privilege refused → permission denied.
    /// </summary>
    private FlowstoreException Unavailable(NpgsqlException e)
    {
        var (kind, what) = e switch
        {
            PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } => (FlowErrorKind.ResourceUnavailable, "does not exist"),
            PostgresException p when p.SqlState.StartsWith("28", StringComparison.Ordinal) => (FlowErrorKind.PermissionDenied, "refused the login"),
            PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } => (FlowErrorKind.PermissionDenied, "refused the operation (privileges)"),
            PostgresException p when IsConnectionFailure(p) => (FlowErrorKind.ConnectionError, "is unavailable (the server is starting, stopping or restarting)"),
            PostgresException p when p.SqlState.StartsWith("53", StringComparison.Ordinal) => (FlowErrorKind.ResourceUnavailable, "is out of resources"),
            PostgresException => (FlowErrorKind.InvalidOperation, "refused the change"),
            _ when e.InnerException is TimeoutException => (FlowErrorKind.ConnectionError, "did not answer in time"),
            _ => (FlowErrorKind.ConnectionError, "cannot be reached"),
        };
        var detail = e is PostgresException pe ? $"{pe.SqlState}: {pe.MessageText}" : e.Message;
        if (e is not PostgresException && e.InnerException is { } inner && !detail.Contains(inner.Message, StringComparison.Ordinal))
        {
            detail += inner is SocketException socket ? $" ({socket.SocketErrorCode}: {inner.Message})" : $" ({inner.Message})";
        }
        var message = $"The Flowstore database ({Description}) {what}: {detail}";
        if (_password is not null)
        {
            message = message.Replace(_password, "***", StringComparison.Ordinal);
        }
        return new FlowstoreException(ErrorIds.BackendUnavailable, kind, message, e) { Target = Description };
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
        => new(sql, connection, transaction);

    private static void AddText(NpgsqlCommand command, string name, string? value)
        => command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)Storable(value) ?? DBNull.Value });

    /// <summary>Text as PostgreSQL can keep it (<see cref="PostgresDialect.Storable"/>).</summary>
    internal static string? Storable(string? value) => PostgresDialect.Storable(value);

    private static void AddUuid(NpgsqlCommand command, string name, Guid? value)
        => command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Uuid) { Value = value is { } v ? v : DBNull.Value });

    private static void AddInt(NpgsqlCommand command, string name, int value)
        => command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Integer) { Value = value });

    private static void AddTime(NpgsqlCommand command, string name, DateTimeOffset? value)
        => command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = value is { } v ? Utc(v) : DBNull.Value });

    private static DateTime Utc(DateTimeOffset value) => DateTime.SpecifyKind(value.UtcDateTime, DateTimeKind.Utc);

    private static DateTimeOffset ReadTime(NpgsqlDataReader reader, int ordinal)
        => new(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc));

    private static DateTimeOffset? ReadOptionalTime(NpgsqlDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : ReadTime(reader, ordinal);

    private static string? ReadOptionalText(NpgsqlDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static async Task<(Guid Id, string Name)?> FindProjectAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string name, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction,
            """SELECT id, name FROM flowstore.projects WHERE lower(name COLLATE "C") = lower(@name COLLATE "C");""");
        AddText(command, "name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetGuid(0), reader.GetString(1)) : null;
    }

    private static string TimestampText(DateTimeOffset value)
        => value.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);
}
