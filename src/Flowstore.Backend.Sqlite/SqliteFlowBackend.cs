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

    private static string GuidText(Guid id) => SqliteDialect.GuidText(id);
}
