using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Sqlite.Tests;

/// <summary>The shared backend contract, run against a fresh SQLite file per test.</summary>
public sealed class SqliteBackendContractTests : BackendContractTests
{
    private readonly TempDirectory _directory = new();

    protected override IFlowBackend CreateBackend() => new SqliteFlowBackend(_directory.File("flowstore.db"));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _directory.Dispose();
        }
    }
}

/// <summary>The scheduler's passes on a fresh SQLite file per fact (several backends on the same file race).</summary>
public sealed class SqliteScheduleRunnerContractTests : ScheduleRunnerContractTests
{
    private readonly TempDirectory _directory = new();

    protected override IFlowBackend CreateBackend() => new SqliteFlowBackend(_directory.File("flowstore.db"));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _directory.Dispose();
        }
    }
}
