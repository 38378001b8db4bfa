using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>
/// The shared API key store contract, run against the test PostgreSQL server: each fact on an empty database of its
/// own (the first-key fact needs a store with no key), dropped after it.
/// </summary>
public sealed class PostgresApiKeyStoreContractTests : ApiKeyStoreContractTests
{
    private string? _database;

    protected override IApiKeyStore CreateStore()
    {
        _database = PostgresTestServer.CreateDatabaseAsync().GetAwaiter().GetResult();
        return new PostgresFlowBackend(PostgresTestServer.ConnectionStringFor(_database));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _database is not null)
        {
            PostgresTestServer.DropDatabaseAsync(_database).GetAwaiter().GetResult();
        }
    }
}
