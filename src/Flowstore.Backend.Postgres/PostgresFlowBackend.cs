using System.Data.Common;
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

    /// <summary>One registration of (project, flow name) at a time, until commit: two never read the same latest.</summary>
    internal override async Task LockFlowAsync(RelationalSession session, DbTransaction transaction, Guid projectId, string flowName,
        CancellationToken cancellationToken)
    {
        await using var lockFlow = session.Command(transaction, """
            SELECT pg_advisory_xact_lock(hashtextextended(@project::text || '/' || lower(@name COLLATE "C"), 0));
            """);
        Dialect.AddGuid(lockFlow, "project", projectId);
        Dialect.AddText(lockFlow, "name", flowName);
        await lockFlow.ExecuteNonQueryAsync(cancellationToken);
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

    /// <summary>Text as PostgreSQL can keep it (<see cref="PostgresDialect.Storable"/>).</summary>
    internal static string? Storable(string? value) => PostgresDialect.Storable(value);

    private static DateTime Utc(DateTimeOffset value) => DateTime.SpecifyKind(value.UtcDateTime, DateTimeKind.Utc);
}
