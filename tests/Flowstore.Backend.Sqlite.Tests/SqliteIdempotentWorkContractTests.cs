using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Sqlite.Tests;

/// <summary>The shared contract of a request's work and its kept answer, against a fresh SQLite file per test.</summary>
public sealed class SqliteIdempotentWorkContractTests : IdempotentWorkContractTests
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
