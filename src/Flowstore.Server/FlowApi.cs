using Flowstore.Backend.Http;
using Flowstore.Engine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flowstore.Server;

/// <summary>
/// The /api/v1 endpoints: one per <see cref="IFlowBackend"/> member, thin (bind, call the backend, answer). Errors
/// travel as exceptions to <see cref="ProblemMiddleware"/>. Each endpoint names its <see cref="ApiOperation"/> for
/// the authenticator.
/// </summary>
internal static class FlowApi
{
    public static void MapFlowApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/" + FlowstoreApi.Prefix).WithTags("Flowstore");

        // ------------------------------------------------------------ projects
        api.MapGet("/projects", async (IFlowBackend backend, string? name, CancellationToken ct)
                => TypedResults.Ok(await backend.GetProjectsAsync(name, ct)))
            .Named("GetProjects", "Projects, optionally one by exact name (ignoring case), sorted by name.", ApiOperation.ReadProjects);

        api.MapPost("/projects", async Task<Created<ProjectInfo>> (IFlowBackend backend, CreateProjectBody body, CancellationToken ct) =>
            {
                var project = await backend.CreateProjectAsync(body.Name, body.Description, ct);
                return TypedResults.Created($"/{FlowstoreApi.Prefix}/projects?name={Uri.EscapeDataString(project.Name)}", project);
            })
            .Named("CreateProject", "Creates a project (409 ProjectExists when one has the name).", ApiOperation.CreateProject);

        // ------------------------------------------------------------ flows
        api.MapGet("/flows", async (IFlowBackend backend, string? project, string? name, Guid? id, int? version, bool? includeArchived, CancellationToken ct)
                => TypedResults.Ok(await backend.GetFlowsAsync(new FlowQuery
                {
                    Project = project,
                    Name = name,
                    Id = id,
                    Version = version,
                    IncludeArchived = includeArchived ?? false,
                }, ct)))
            .Named("GetFlows", "Flow versions matching the query, sorted by project, name, then version descending.", ApiOperation.ReadFlows);

        api.MapPost("/flows/registrations", async (HttpContext context, IFlowBackend backend, FlowRegistrationRequest request, CancellationToken ct)
                => TypedResults.Ok(await backend.RegisterFlowAsync(request with { CreatedBy = CreatedBy(context, request.CreatedBy) }, ct)))
            .Named("RegisterFlow", "Records a registration in one transaction: Skipped when unchanged, else the next version.", ApiOperation.RegisterFlow);

        api.MapPost("/flows/registrations/unchanged", async (IFlowBackend backend, FindUnchangedRegistrationsBody body, CancellationToken ct)
                => TypedResults.Ok(await backend.FindUnchangedRegistrationsAsync(body.Project, body.RegistrationInputs, ct)))
            .Named("FindUnchangedRegistrations",
                "Which registration inputs (script SHA-256, path and options) are registered unchanged: those files need no compiling.",
                ApiOperation.ReadFlows);

        api.MapPost("/flows/groups/{versionGroupId:guid}/archive", async (IFlowBackend backend, Guid versionGroupId, CancellationToken ct)
                => TypedResults.Ok(new ArchiveFlowAnswer(await backend.ArchiveFlowAsync(versionGroupId, ct))))
            .Named("ArchiveFlow", "Archives every version of a flow's version group; answers how many changed.", ApiOperation.ArchiveFlow);

        // ------------------------------------------------------------ runs
        api.MapGet("/runs", async (IFlowBackend backend, Guid? id, string? project, string? flow, RunState? state, int? last, CancellationToken ct)
                => TypedResults.Ok(await backend.GetRunsAsync(new RunQuery { Id = id, Project = project, FlowName = flow, State = state, Last = last }, ct)))
            .Named("GetRuns", "Runs newest first, with their tasks.", ApiOperation.ReadRuns);

        api.MapPost("/runs", async Task<Created<FlowRunRecord>> (HttpContext context, IFlowBackend backend, NewRun run, CancellationToken ct) =>
            {
                var created = await backend.CreateRunAsync(run with { CreatedBy = CreatedBy(context, run.CreatedBy) }, ct);
                return TypedResults.Created($"/{FlowstoreApi.Prefix}/runs?id={created.Id}", created);
            })
            .Named("CreateRun", "Queues a run (state Scheduled) of a registered flow version.", ApiOperation.StartRun);

        api.MapPost("/runs/claim", async Task<Results<Ok<FlowRunRecord>, NoContent>> (IFlowBackend backend, ClaimRunBody body, CancellationToken ct)
                => await backend.ClaimRunAsync(body.Agent, body.RunId, body.Labels, ct) is { } run ? TypedResults.Ok(run) : TypedResults.NoContent())
            .Named("ClaimRun", "Atomically moves a Scheduled run (the given one, or the oldest) to Running for the agent; with labels, only a run of a flow whose labels are all among them; 204 when there is none.", ApiOperation.ExecuteRun);

        api.MapPost("/runs/stale", async (IFlowBackend backend, FailStaleRunsBody body, CancellationToken ct)
                => TypedResults.Ok(await backend.FailStaleRunsAsync(body.Timeout, ct)))
            .Named("FailStaleRuns", "Fails (RunAgentLost) every Running run whose last heartbeat is the timeout or more ago.", ApiOperation.ExecuteRun);

        api.MapPost("/runs/{id:guid}/heartbeat", async (IFlowBackend backend, Guid id, HeartbeatBody body, CancellationToken ct)
                => TypedResults.Ok(new HeartbeatAnswer(await backend.HeartbeatAsync(id, body.Agent, body.Tasks, ct))))
            .Named("Heartbeat", "Records a heartbeat and task states; answers whether the agent must stop.", ApiOperation.ExecuteRun);

        api.MapPost("/runs/{id:guid}/logs", async (IFlowBackend backend, Guid id, AppendLogBody body, CancellationToken ct) =>
            {
                await backend.AppendLogAsync(id, body.Entries, ct);
                return TypedResults.NoContent();
            })
            .Named("AppendRunLog", "Appends log lines (already redacted) after the run's last one.", ApiOperation.ExecuteRun);

        api.MapGet("/runs/{id:guid}/logs", async (IFlowBackend backend, Guid id, CancellationToken ct)
                => TypedResults.Ok(await backend.GetRunLogAsync(id, ct)))
            .Named("GetRunLog", "The run's log lines in the order they were appended.", ApiOperation.ReadRuns);

        api.MapPost("/runs/{id:guid}/complete", async (IFlowBackend backend, Guid id, CompleteRunBody body, CancellationToken ct)
                => TypedResults.Ok(new CompleteRunAnswer(await backend.CompleteRunAsync(id, body.Agent, body.Completion, ct))))
            .Named("CompleteRun", "Ends a Running run owned by the agent; false when it no longer is.", ApiOperation.ExecuteRun);

        api.MapPost("/runs/{id:guid}/cancel", async (IFlowBackend backend, Guid id, CancellationToken ct)
                => TypedResults.Ok(new CancelRunAnswer(await backend.RequestCancelAsync(id, ct))))
            .Named("CancelRun", "Cancels a Scheduled run at once, flags a Running one for its agent; false when it had ended.", ApiOperation.CancelRun);

        // ------------------------------------------------------------ API keys (Admin only; a token is sent once, at creation, and never listed)
        api.MapGet("/keys", async (IFlowBackend backend, CancellationToken ct)
                => TypedResults.Ok(await KeyStore(backend).ListApiKeysAsync(ct)))
            .Named("ListApiKeys", "Every API key, revoked and expired ones too, sorted by name; never a token.", ApiOperation.ManageKeys);

        api.MapPost("/keys", async Task<Created<CreatedApiKeyAnswer>> (HttpContext context, IFlowBackend backend, CreateApiKeyBody body, CancellationToken ct) =>
            {
                KeyStore(backend);
                if (body.TokenHash is { } hash && !IsTokenHash(hash))
                {
                    // Never echoed: it may be a token sent by mistake.
                    throw new RequestFieldException("tokenHash",
                        "The request is not valid: the field 'tokenHash' must be the lower-case hex SHA-256 of the token (64 characters), never the token; leave it out to have the server make the token.");
                }
                var keys = new FlowApiKeys(new Lazy<IFlowBackend>(backend));
                var createdBy = CreatedBy(context, body.CreatedBy);
                CreatedApiKeyAnswer answer;
                if (body.TokenHash is { } given)
                {
                    answer = new CreatedApiKeyAnswer(await keys.RecordAsync(new NewApiKey
                    {
                        Name = body.Name,
                        Role = body.Role,
                        Projects = body.Projects ?? [],
                        Expires = body.Expires,
                        CreatedBy = createdBy,
                        TokenHash = given,
                    }, ct));
                }
                else
                {
                    var token = ApiKeyToken.Generate();
                    answer = new CreatedApiKeyAnswer(await keys.RecordAsync(new NewApiKey
                    {
                        Name = body.Name,
                        Role = body.Role,
                        Projects = body.Projects ?? [],
                        Expires = body.Expires,
                        CreatedBy = createdBy,
                        TokenHash = ApiKeyToken.Hash(token),
                    }, ct), token);
                    context.Response.Headers.CacheControl = "no-store";
                }
                return TypedResults.Created($"/{FlowstoreApi.Prefix}/keys/{answer.Key.Id}", answer);
            })
            .Named("CreateApiKey",
                "Creates an API key (409 ApiKeyExists when an active key has the name; 404 ProjectNotFound for a project that does not exist). " +
                "Send tokenHash (SHA-256 hex of a token you made) to keep the token off the wire; without it the answer carries the new token, the only time it is ever sent.",
                ApiOperation.ManageKeys);

        api.MapPost("/keys/{id:guid}/revoke", async (IFlowBackend backend, Guid id, CancellationToken ct)
                => TypedResults.Ok(await KeyStore(backend).RevokeApiKeyAsync(id, ct)
                    ?? throw new FlowstoreException(ErrorIds.ApiKeyNotFound, FlowErrorKind.ObjectNotFound, $"There is no API key with id {id}.") { Target = id.ToString() }))
            .Named("RevokeApiKey", "Revokes a key at once (revoking a revoked key keeps the first time); 404 ApiKeyNotFound for an unknown id.", ApiOperation.ManageKeys);
    }

    /// <summary>
    /// Who made a registration or run: the authenticated key's name, whatever the client says. An open server (no
    /// authenticator: a single-user box) has no key to name and keeps what its one user's client sent.
    /// </summary>
    private static string? CreatedBy(HttpContext context, string? claimed) => context.GetApiCaller() is { } caller ? caller.KeyName : claimed;

    private static IApiKeyStore KeyStore(IFlowBackend backend) => backend as IApiKeyStore
        ?? throw new FlowstoreException(ErrorIds.ApiKeysNotSupported, FlowErrorKind.NotImplemented, $"The server's backend {backend.Description} keeps no API keys.");

    private static bool IsTokenHash(string value) => value.Length == 64 && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    internal static RouteHandlerBuilder Named(this RouteHandlerBuilder builder, string name, string summary, ApiOperation operation)
        => builder.WithName(name).WithSummary(summary).WithMetadata(new ApiOperationMetadata(operation))
            .ProducesProblem(StatusCodes.Status400BadRequest, FlowstoreApi.ProblemMediaType);
}
