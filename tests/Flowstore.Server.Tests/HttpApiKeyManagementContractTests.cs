using Flowstore.Backend.Contract;

namespace Flowstore.Server.Tests;

/// <summary>
/// The key management contract (create, list, revoke) through <see cref="Backend.Http.HttpFlowBackend"/> against the
/// real server with keys required, called with the admin key its first start made.
/// </summary>
public sealed class HttpApiKeyManagementContractTests(KeyedServer server) : ApiKeyManagementContractTests, IClassFixture<KeyedServer>
{
    protected override IApiKeyStore CreateStore() => server.Admin();
}
