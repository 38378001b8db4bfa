using Flowstore.Backend.Http;
using Flowstore.Engine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flowstore.Server;

/// <summary>
/// The server's secret store: values come in (Admin), are encrypted with the server's own key (<see cref="SecretStore"/>
/// over the server's database, the key file owner-only in the server's home, as the embedded store does it) and go out
/// only to the agent executing a run, for that run. Everyone else sees names and times. The raw ciphertexts (the
/// backend contract, for moving a store between servers) are for admins.
/// </summary>
internal static partial class SecretApi
{
    public static void MapSecretApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/" + FlowstoreApi.Prefix).WithTags("Flowstore");

        // ------------------------------------------------------------ secrets: names and times out, values in
        api.MapGet("/secrets", async (SecretStore secrets, CancellationToken ct)
                => TypedResults.Ok(await secrets.DescribeAsync(ct)))
            .Named("ListSecrets", "Every secret of the server's store: name, times, whether the server's key decrypts it; never a value.", ApiOperation.ReadSecrets);

        api.MapGet("/secrets/{name}", async (SecretStore secrets, string name, CancellationToken ct)
                => TypedResults.Ok((await secrets.DescribeAsync(ct)).FirstOrDefault(s => string.Equals(s.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
                    ?? throw NotFound(name)))
            .Named("GetSecret", "One secret's name, times and key state (ignoring case); 404 SecretNotFound when there is none. Never the value.", ApiOperation.ReadSecrets);

        api.MapPut("/secrets/{name}", async (SecretStore secrets, string name, SetSecretBody body, CancellationToken ct)
                => TypedResults.Ok(await secrets.SetAsync(name, body.Value ?? throw new RequestFieldException("value", "The request is not valid: the field 'value' is missing."),
                    body.StartNewKey, ct)))
            .Named("SetSecret", "Encrypts a value with the server's key and stores it (creates or replaces); answers the name and any secrets a new key abandoned.",
                ApiOperation.WriteSecrets);

        api.MapDelete("/secrets/{name}", async (SecretStore secrets, string name, CancellationToken ct)
                => TypedResults.Ok(new DeleteSecretAnswer(await secrets.RemoveAsync(name, ct))))
            .Named("DeleteSecret", "Removes a secret; false when there was none.", ApiOperation.WriteSecrets);

        // ------------------------------------------------------------ a value, for the run an agent executes
        api.MapPost("/runs/{id:guid}/secret-values", async Task<Ok<SecretValueAnswer>> (HttpContext context, IFlowBackend backend, SecretStore secrets,
                ILoggerFactory logs, Guid id, SecretValueRequest body, CancellationToken ct) =>
            {
                var run = (await backend.GetRunsAsync(new RunQuery { Id = id }, ct)).FirstOrDefault()
                    ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"There is no run {id}.") { Target = id.ToString() };
                var caller = context.GetApiCaller();
                if (caller?.Projects is { Count: > 0 } projects && !projects.Contains(run.Project, StringComparer.OrdinalIgnoreCase))
                {
                    throw new FlowstoreException(ErrorIds.AccessDenied, FlowErrorKind.PermissionDenied,
                        $"The API key '{caller.KeyName}' is limited to project(s) {string.Join(", ", projects)}; run {id} is of project '{run.Project}', " +
                        "so its secrets are not for this key.") { Target = caller.KeyName, Hint = FlowHint.UseApiKeyWithRole(FlowRole.Agent, run.Project) };
                }
                if (run.State != RunState.Running || !string.Equals(run.Agent, body.Agent, StringComparison.Ordinal))
                {
                    var now = run.State == RunState.Running ? $"it is running under agent '{run.Agent}'" : $"it is {run.State}";
                    throw new FlowstoreException(ErrorIds.AccessDenied, FlowErrorKind.PermissionDenied,
                        $"Secret '{body.Name}' goes only to the agent executing run {id}, while it runs: {now}, not under agent '{body.Agent}'.")
                        { Target = id.ToString() };
                }
                var value = await secrets.TryGetAsync(body.Name, ct) ?? throw NotFound(body.Name);
                LogValueHandedOut(logs.CreateLogger(typeof(SecretApi).FullName!), body.Name.Trim(), id, run.Agent!, caller?.KeyName ?? "-");
                // Not to be kept by any cache on the way.
                context.Response.Headers.CacheControl = "no-store";
                return TypedResults.Ok(new SecretValueAnswer(body.Name.Trim(), value));
            })
            .Named("GetRunSecretValue",
                "A secret's value for the agent executing the run (the run is Running under the agent named; Agent or Admin keys of the run's project); " +
                "the one answer that carries a value.", ApiOperation.ReadSecretValue);

        // ------------------------------------------------------------ ciphertexts as the backend keeps them (admins: moving a store)
        api.MapGet("/secret-ciphertexts", async (IFlowBackend backend, CancellationToken ct)
                => TypedResults.Ok(await backend.ListSecretsAsync(ct)))
            .Named("ListSecretCiphertexts", "Every secret as the backend keeps it (name, times, ciphertext), sorted by name.", ApiOperation.ReadSecretCiphertexts);

        api.MapGet("/secret-ciphertexts/{name}", async (IFlowBackend backend, string name, CancellationToken ct)
                => TypedResults.Ok(await backend.GetSecretAsync(name, ct) ?? throw NotFound(name)))
            .Named("GetSecretCiphertext", "One secret's ciphertext by name (ignoring case); 404 SecretNotFound when there is none.", ApiOperation.ReadSecretCiphertexts);

        api.MapPut("/secret-ciphertexts/{name}", async (IFlowBackend backend, string name, PutSecretBody body, CancellationToken ct) =>
            {
                await backend.PutSecretAsync(name, body.Ciphertext, ct);
                return TypedResults.NoContent();
            })
            .Named("PutSecretCiphertext", "Creates or replaces a secret's ciphertext as given (keeps the creation time of a replaced one).", ApiOperation.WriteSecrets);

        api.MapDelete("/secret-ciphertexts/{name}", async (IFlowBackend backend, string name, CancellationToken ct)
                => TypedResults.Ok(new DeleteSecretAnswer(await backend.DeleteSecretAsync(name, ct))))
            .Named("DeleteSecretCiphertext", "Removes a secret; false when there was none.", ApiOperation.WriteSecrets);
    }

    private static FlowstoreException NotFound(string name) => new(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound,
        $"The server's secret store has no secret '{name}'.") { Target = name, Hint = FlowHint.SetSecret(name) };

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Secret {SecretName} went to agent {Agent} for run {RunId} (key={KeyName})")]
    private static partial void LogValueHandedOut(ILogger logger, string secretName, Guid runId, string agent, string keyName);
}
