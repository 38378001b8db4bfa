using Flowstore.Engine;

namespace Flowstore.Server;

/// <summary>
/// API keys from the backend's key store (Flowstore:ApiKeys = Required): the bearer token is authenticated by the
/// engine's <see cref="ApiKeyAuthenticator"/> (hash lookup; unknown, revoked, expired: ApiKeyInvalid) and the endpoint's
/// operation is checked against the key's role by <see cref="AccessPolicy"/> (AccessDenied naming the role needed).
/// </summary>
internal sealed class ApiKeyStoreAuthenticator(ApiKeyAuthenticator keys) : IApiKeyAuthenticator
{
    public async ValueTask<ApiCaller> AuthenticateAsync(string? bearerToken, ApiOperation operation, CancellationToken cancellationToken)
    {
        var principal = await keys.AuthenticateAsync(bearerToken, cancellationToken);
        AccessPolicy.Demand(principal, Map(operation));
        return new ApiCaller(principal.Name, principal.Role.ToString(), principal.Projects);
    }

    /// <summary>What each endpoint's operation is in the role table.</summary>
    public static FlowOperation Map(ApiOperation operation) => operation switch
    {
        ApiOperation.ReadProjects or ApiOperation.ReadFlows or ApiOperation.ReadRuns or ApiOperation.ReadSecrets => FlowOperation.Read,
        ApiOperation.CreateProject => FlowOperation.ManageProjects,
        ApiOperation.RegisterFlow or ApiOperation.ArchiveFlow => FlowOperation.Register,
        ApiOperation.StartRun or ApiOperation.CancelRun => FlowOperation.StartRun,
        ApiOperation.ExecuteRun => FlowOperation.ExecuteRun,
        // A value goes to the agent executing a run (the endpoint checks the run); ciphertexts are for moving a store.
        ApiOperation.ReadSecretValue => FlowOperation.ReadSecretValue,
        ApiOperation.WriteSecrets or ApiOperation.ReadSecretCiphertexts => FlowOperation.ManageSecrets,
        ApiOperation.ManageKeys => FlowOperation.ManageKeys,
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, null),
    };
}
