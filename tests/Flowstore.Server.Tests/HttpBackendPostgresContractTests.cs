using Flowstore.Backend.Contract;
using Flowstore.Backend.Http;
using Npgsql;

namespace Flowstore.Server.Tests;

/// <summary>
/// The real server over PostgreSQL: a database of its own on the cluster tests/servers/Start-Postgres.ps1 started
/// (FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING; missing, the tests fail saying how to start it), the server in this
/// process on a free port, dropped afterwards.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime, IDisposable
{
    private const string Variable = "FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING";
    private readonly string _database = "fs_server_" + Guid.NewGuid().ToString("N")[..16];
    private RunningServer? _server;

    public Uri Url => _server?.Url ?? throw new InvalidOperationException("The server did not start.");

    private static string Cluster => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{Variable} is not set: start the PostgreSQL test server first (pwsh tests/servers/Start-Postgres.ps1 sets it; build.ps1 -Task Test does this).");

    public async Task InitializeAsync()
    {
        await ExecuteAsync($"CREATE DATABASE {_database};");
        var connectionString = new NpgsqlConnectionStringBuilder(Cluster) { Database = _database }.ConnectionString;
        _server = new RunningServer(null, "--Flowstore:Backend=Postgres", $"--Flowstore:ConnectionString={connectionString}");
        await _server.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE);");
    }

    public void Dispose() => _server?.Dispose();

    private static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Cluster) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>The shared backend contract, unchanged, through <see cref="HttpFlowBackend"/> against the real server over PostgreSQL.</summary>
public sealed class HttpBackendPostgresContractTests(PostgresServer server) : BackendContractTests, IClassFixture<PostgresServer>
{
    protected override IFlowBackend CreateBackend() => new HttpFlowBackend(server.Url, apiKey: null);
}
