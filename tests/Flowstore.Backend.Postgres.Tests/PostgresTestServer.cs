using Npgsql;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>
/// The PostgreSQL cluster that tests/servers/Start-Postgres.ps1 started, read from its environment variables. A
/// missing variable fails the test with a message saying how to start the server (tests never skip).
/// </summary>
internal static class PostgresTestServer
{
    /// <summary>A superuser's connection string to the cluster's maintenance database.</summary>
    public static string ConnectionString => Required("FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING");

    /// <summary>The folder of initdb and pg_ctl, for tests that run a cluster of their own.</summary>
    public static string BinDirectory => Required("FLOWSTORE_TEST_POSTGRES_BIN");

    private static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{name} is not set: start the PostgreSQL test server first (pwsh tests/servers/Start-Postgres.ps1 sets it; build.ps1 -Task Test does this).");

    /// <summary>The connection string of <paramref name="database"/> on the test server (same user).</summary>
    public static string ConnectionStringFor(string database)
        => new NpgsqlConnectionStringBuilder(ConnectionString) { Database = database, Pooling = true }.ConnectionString;

    /// <summary>Creates an empty database with a unique name and returns its name.</summary>
    public static async Task<string> CreateDatabaseAsync(string? connectionString = null)
    {
        var name = "fs_test_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync($"CREATE DATABASE {name};", connectionString);
        return name;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing whatever is connected to it.</summary>
    public static async Task DropDatabaseAsync(string name, string? connectionString = null)
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE);", connectionString);
    }

    /// <summary>Runs SQL on the maintenance database (or <paramref name="connectionString"/>'s), without pooling.</summary>
    public static async Task ExecuteAsync(string sql, string? connectionString = null)
    {
        await using var connection = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(connectionString ?? ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of the first row of <paramref name="sql"/> on <paramref name="connectionString"/>.</summary>
    public static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}

/// <summary>A database of its own for one test class (xunit class fixture), dropped after the class's tests.</summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    public string Name { get; private set; } = "";

    public string ConnectionString => PostgresTestServer.ConnectionStringFor(Name);

    public async Task InitializeAsync() => Name = await PostgresTestServer.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        if (Name.Length > 0)
        {
            await PostgresTestServer.DropDatabaseAsync(Name);
        }
    }
}
