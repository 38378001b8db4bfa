using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>
/// The shared-database contract: several PostgreSQL backends (each with a connection pool of its own, as separate
/// servers or agents) on one database made for the class (its facts run one at a time).
/// </summary>
public sealed class PostgresSharedDatabaseContractTests(PostgresDatabaseFixture database)
    : SharedDatabaseContractTests, IClassFixture<PostgresDatabaseFixture>
{
    protected override IFlowBackend OpenBackend() => new PostgresFlowBackend(database.ConnectionString);
}
