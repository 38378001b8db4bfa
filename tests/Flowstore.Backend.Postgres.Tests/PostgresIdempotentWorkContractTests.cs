using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>
/// The shared contract of a request's work and its kept answer, against the test PostgreSQL server: each fact on an empty
/// database of its own, dropped after it.
/// </summary>
public sealed class PostgresIdempotentWorkContractTests : IdempotentWorkContractTests
{
    private string? _database;

    protected override IFlowBackend CreateBackend()
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
