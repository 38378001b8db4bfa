using Flowstore.Backend.Contract;

namespace Flowstore.Backend.Sqlite.Tests;

/// <summary>The shared API key store contract, run against a fresh SQLite file per test.</summary>
public sealed class SqliteApiKeyStoreContractTests : ApiKeyStoreContractTests
{
    private readonly TempDirectory _directory = new();

    protected override IApiKeyStore CreateStore() => new SqliteFlowBackend(_directory.File("flowstore.db"));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _directory.Dispose();
        }
    }
}
