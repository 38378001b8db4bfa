using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Sqlite.Tests;

/// <summary>The shared-database contract: several SQLite backends (each with a connection pool of its own, as separate processes) on one new file per test.</summary>
public sealed class SqliteSharedDatabaseContractTests : SharedDatabaseContractTests
{
    private readonly TempDirectory _directory = new();

    protected override IFlowBackend OpenBackend() => new SqliteFlowBackend(_directory.File("flowstore.db"));

    protected override void DeleteDatabase() => _directory.Dispose();
}
