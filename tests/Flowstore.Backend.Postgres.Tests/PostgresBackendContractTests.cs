using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>
/// The shared backend contract, run against the test PostgreSQL server: every fact of the class shares one database
/// made for the class (the facts use their own project names; the run facts that act on the whole queue run one at
/// a time within the class), each fact with a backend of its own.
/// </summary>
public sealed class PostgresBackendContractTests(PostgresDatabaseFixture database)
    : BackendContractTests, IClassFixture<PostgresDatabaseFixture>
{
    protected override IFlowBackend CreateBackend() => new PostgresFlowBackend(database.ConnectionString);
}

/// <summary>
/// The scheduler's passes on PostgreSQL: one database per class, a project per fact, and several backends (separate
/// connection pools, as two server processes have) racing on it.
/// </summary>
public sealed class PostgresScheduleRunnerContractTests(PostgresDatabaseFixture database)
    : ScheduleRunnerContractTests, IClassFixture<PostgresDatabaseFixture>
{
    protected override IFlowBackend CreateBackend() => new PostgresFlowBackend(database.ConnectionString);
}
