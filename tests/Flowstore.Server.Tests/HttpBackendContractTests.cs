using Flowstore.Backend.Contract;
using Flowstore.Backend.Http;

namespace Flowstore.Server.Tests;

/// <summary>
/// The shared backend contract, unchanged, through <see cref="HttpFlowBackend"/> against the real server over SQLite.
/// One server for the class (the facts run one after another; each uses names of its own); a new client per fact.
/// </summary>
public sealed class HttpBackendContractTests(RunningServer server) : BackendContractTests, IClassFixture<RunningServer>
{
    protected override IFlowBackend CreateBackend() => new HttpFlowBackend(server.Url, apiKey: null);
}
