namespace Flowstore.Server;

/// <summary>What an endpoint does, so an authenticator can decide whether a key's role allows it.</summary>
public enum ApiOperation
{
    /// <summary>List projects.</summary>
    ReadProjects,
    /// <summary>Create a project.</summary>
    CreateProject,
    /// <summary>List flows and versions.</summary>
    ReadFlows,
    /// <summary>Register a flow version.</summary>
    RegisterFlow,
    /// <summary>Archive (unregister) a flow.</summary>
    ArchiveFlow,
    /// <summary>List runs, their tasks and logs.</summary>
    ReadRuns,
    /// <summary>Queue a run.</summary>
    StartRun,
    /// <summary>Ask a run to stop.</summary>
    CancelRun,
    /// <summary>Claim, heartbeat, log to and complete runs; fail runs whose agent is lost (an agent's calls).</summary>
    ExecuteRun,
    /// <summary>List secrets: names and times, never values.</summary>
    ReadSecrets,
    /// <summary>Create, replace or remove a secret (its value or its ciphertext).</summary>
    WriteSecrets,
    /// <summary>Create, list and revoke API keys.</summary>
    ManageKeys,
    /// <summary>Read a secret's value for a run the caller's agent executes.</summary>
    ReadSecretValue,
    /// <summary>Read secrets as the backend keeps them (ciphertexts, for moving a store).</summary>
    ReadSecretCiphertexts,
}

/// <summary>Who made a request: the name of the key (recorded with what it does), and what the authenticator knows of it.</summary>
/// <param name="KeyName">The key's name (never the key).</param>
/// <param name="Role">The key's role, if the authenticator has roles.</param>
/// <param name="Projects">The projects the key is limited to; null or empty for all.</param>
public sealed record ApiCaller(string KeyName, string? Role = null, IReadOnlyList<string>? Projects = null);

/// <summary>
/// Decides who calls and whether they may: the one place where API keys plug into the server. Registered in DI, it is
/// asked once per /api/v1 request with the bearer token and the endpoint's <see cref="ApiOperation"/>; with none
/// registered the server is open (a single-user box on 127.0.0.1). It throws a <see cref="FlowstoreException"/> to
/// refuse (an unknown, revoked or expired key; a role that does not allow the operation), which the server answers as
/// problem details with that id, never a bare 401/403.
/// </summary>
public interface IApiKeyAuthenticator
{
    /// <param name="bearerToken">The token of the Authorization: Bearer header; null when the request has none.</param>
    /// <param name="operation">What the endpoint does.</param>
    /// <param name="cancellationToken">The request's.</param>
    ValueTask<ApiCaller> AuthenticateAsync(string? bearerToken, ApiOperation operation, CancellationToken cancellationToken);
}

/// <summary>Reading the caller an authenticator established for the request.</summary>
public static class ApiCallerExtensions
{
    private static readonly object Key = new();

    /// <summary>The request's caller; null on an open server (no authenticator).</summary>
    public static ApiCaller? GetApiCaller(this HttpContext context) => context.Items.TryGetValue(Key, out var caller) ? caller as ApiCaller : null;

    internal static void SetApiCaller(this HttpContext context, ApiCaller caller) => context.Items[Key] = caller;
}

/// <summary>
/// Runs the registered <see cref="IApiKeyAuthenticator"/> for each endpoint that names an <see cref="ApiOperation"/>
/// (endpoint metadata); the token is read from the Authorization header only and never logged.
/// </summary>
internal sealed class ApiKeyAuthenticationMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, IEnumerable<IApiKeyAuthenticator> authenticators)
    {
        var operation = context.GetEndpoint()?.Metadata.GetMetadata<ApiOperationMetadata>();
        var authenticator = authenticators.LastOrDefault();
        if (operation is not null && authenticator is not null)
        {
            var caller = await authenticator.AuthenticateAsync(BearerToken(context.Request), operation.Operation, context.RequestAborted);
            context.SetApiCaller(caller);
        }
        await next(context);
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? header[scheme.Length..].Trim()
            : null;
    }
}

/// <summary>Endpoint metadata: the operation an endpoint performs.</summary>
internal sealed record ApiOperationMetadata(ApiOperation Operation);
