using Flowstore.Backend.Http;
using Flowstore.Engine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flowstore.Server;

/// <summary>
/// The /api/v1 endpoints: one per <see cref="IFlowBackend"/> member, thin (bind, call the backend, answer). Errors
/// travel as exceptions to <see cref="ProblemMiddleware"/>. Each endpoint names its <see cref="ApiOperation"/> for
/// the authenticator; an endpoint about one project also checks a key's project limit (<see cref="ProjectAccess"/>), and a
/// list shows such a key only its projects' items.
/// </summary>
internal static class FlowApi
{
    public static void MapFlowApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/" + FlowstoreApi.Prefix).WithTags("Flowstore");

        // ------------------------------------------------------------ projects
        api.MapGet("/projects", async (HttpContext context, IFlowBackend backend, string? name, CancellationToken ct) =>
            {
                var projects = await backend.GetProjectsAsync(name, ct);
                if (name is not null)
                {
                    // One project asked for by name: another project's is refused, not hidden (it is not "not found").
                    foreach (var project in projects)
                    {
                        ProjectAccess.Demand(context, ApiOperation.ReadProjects, project.Name);
                    }
                }
                return TypedResults.Ok(ProjectAccess.Filter(context, projects, p => p.Name));
            })
            .Named("GetProjects", "Projects, optionally one by exact name (ignoring case), sorted by name.", ApiOperation.ReadProjects);

        api.MapPost("/projects", async Task<Created<ProjectInfo>> (IFlowBackend backend, CreateProjectBody body, CancellationToken ct) =>
            {
                var project = await backend.CreateProjectAsync(body.Name, body.Description, ct);
                return TypedResults.Created($"/{FlowstoreApi.Prefix}/projects?name={Uri.EscapeDataString(project.Name)}", project);
            })
            .Named("CreateProject", "Creates a project (409 ProjectExists when one has the name).", ApiOperation.CreateProject)
            .WithMetadata(KeptAnswerMetadata.Of<ProjectInfo>(StatusCodes.Status201Created));

        // ------------------------------------------------------------ flows
        api.MapGet("/flows", async (HttpContext context, IFlowBackend backend, string? project, string? name, Guid? id, int? version, bool? includeArchived,
                CancellationToken ct) =>
            {
                ProjectAccess.Demand(context, ApiOperation.ReadFlows, project);
                var flows = await backend.GetFlowsAsync(new FlowQuery
                {
                    Project = project,
                    Name = name,
                    Id = id,
                    Version = version,
                    IncludeArchived = includeArchived ?? false,
                }, ct);
                if (id is not null)
                {
                    // One flow asked for by id: another project's is refused, not hidden.
                    foreach (var flow in flows)
                    {
                        ProjectAccess.Demand(context, ApiOperation.ReadFlows, flow.Project);
                    }
                }
                return TypedResults.Ok(ProjectAccess.Filter(context, flows, f => f.Project));
            })
            .Named("GetFlows", "Flow versions matching the query, sorted by project, name, then version descending.", ApiOperation.ReadFlows);

        api.MapPost("/flows/registrations", async (HttpContext context, IFlowBackend backend, FlowRegistrationRequest request, CancellationToken ct) =>
            {
                ProjectAccess.Demand(context, ApiOperation.RegisterFlow, request.Project);
                return TypedResults.Ok(await backend.RegisterFlowAsync(request with { CreatedBy = CreatedBy(context, request.CreatedBy) }, ct));
            })
            .Named("RegisterFlow", "Records a registration in one transaction: Skipped when unchanged, else the next version.", ApiOperation.RegisterFlow)
            .WithMetadata(KeptAnswerMetadata.Of<RegistrationOutcome>(StatusCodes.Status200OK));

        api.MapPost("/flows/registrations/unchanged", async (HttpContext context, IFlowBackend backend, FindUnchangedRegistrationsBody body, CancellationToken ct) =>
            {
                ProjectAccess.Demand(context, ApiOperation.ReadFlows, body.Project);
                return TypedResults.Ok(await backend.FindUnchangedRegistrationsAsync(body.Project, body.RegistrationInputs, ct));
            })
            .Named("FindUnchangedRegistrations",
                "Which registration inputs (script SHA-256, path and options) are registered unchanged: those files need no compiling.",
                ApiOperation.ReadFlows);

        api.MapPost("/flows/groups/{versionGroupId:guid}/archive", async (HttpContext context, IFlowBackend backend, Guid versionGroupId, CancellationToken ct) =>
            {
                await ProjectAccess.DemandVersionGroupAsync(context, backend, versionGroupId, ApiOperation.ArchiveFlow, ct);
                return TypedResults.Ok(new ArchiveFlowAnswer(await backend.ArchiveFlowAsync(versionGroupId, ct)));
            })
            .Named("ArchiveFlow", "Archives every version of a flow's version group; answers how many changed.", ApiOperation.ArchiveFlow);

        // ------------------------------------------------------------ schedules (the server's scheduler creates their runs)
        api.MapGet("/schedules", async (HttpContext context, IFlowBackend backend, string? project, string? flow, CancellationToken ct) =>
            {
                ProjectAccess.Demand(context, ApiOperation.ReadFlows, project);
                return TypedResults.Ok(ProjectAccess.Filter(context, await backend.GetSchedulesAsync(project, flow, ct), s => s.Project));
            })
            .Named("GetSchedules", "The schedules of the latest versions of flows that have one (paused or not, and up to when they are done with), sorted by project and flow.",
                ApiOperation.ReadFlows);

        api.MapPut("/schedules/state", async (HttpContext context, IFlowBackend backend, SetSchedulePausedBody body, CancellationToken ct) =>
            {
                ProjectAccess.Demand(context, ApiOperation.RegisterFlow, body.Project);
                return TypedResults.Ok(await backend.SetSchedulePausedAsync(body.Project, body.Flow, body.Paused, ct));
            })
            .Named("SetSchedulePaused", "Pauses or resumes a flow's schedule; resuming starts from now (what fell due while paused is not run).",
                ApiOperation.RegisterFlow);

        // ------------------------------------------------------------ runs
        api.MapGet("/runs", async (HttpContext context, IFlowBackend backend, Guid? id, string? project, string? flow, RunState? state, int? last, CancellationToken ct) =>
            {
                ProjectAccess.Demand(context, ApiOperation.ReadRuns, project);
                if (ProjectAccess.Limited(context) is not null && id is null && project is null && last is not null)
                {
                    // "The last N" of the key's projects: filter first, then take N.
                    var all = await backend.GetRunsAsync(new RunQuery { FlowName = flow, State = state }, ct);
                    return TypedResults.Ok((IReadOnlyList<FlowRunRecord>)ProjectAccess.Filter(context, all, r => r.Project).Take(last.Value).ToList());
                }
                var runs = await backend.GetRunsAsync(new RunQuery { Id = id, Project = project, FlowName = flow, State = state, Last = last }, ct);
                if (id is not null)
                {
                    foreach (var run in runs)
                    {
                        ProjectAccess.Demand(context, ApiOperation.ReadRuns, run.Project);
                    }
                }
                return TypedResults.Ok(ProjectAccess.Filter(context, runs, r => r.Project));
            })
            .Named("GetRuns", "Runs newest first, with their tasks.", ApiOperation.ReadRuns);

        api.MapPost("/runs", async Task<Created<FlowRunRecord>> (HttpContext context, IFlowBackend backend, NewRun run, CancellationToken ct) =>
            {
                await ProjectAccess.DemandFlowAsync(context, backend, run.Flow.Id, run.Flow.Project, ApiOperation.StartRun, ct);
                var created = await backend.CreateRunAsync(run with { CreatedBy = CreatedBy(context, run.CreatedBy) }, ct);
                return TypedResults.Created($"/{FlowstoreApi.Prefix}/runs?id={created.Id}", created);
            })
            .Named("CreateRun", "Queues a run (state Scheduled) of a registered flow version.", ApiOperation.StartRun)
            .WithMetadata(KeptAnswerMetadata.Of<FlowRunRecord>(StatusCodes.Status201Created));

        api.MapPost("/runs/claim", async Task<Results<Ok<FlowRunRecord>, NoContent>> (HttpContext context, IFlowBackend backend, ClaimRunBody body, CancellationToken ct) =>
            {
                if (body.RunId is { } runId)
                {
                    await ProjectAccess.DemandRunAsync(context, backend, runId, ApiOperation.ExecuteRun, ct);
                    return await backend.ClaimRunAsync(body.Agent, runId, body.Labels, ct) is { } given ? TypedResults.Ok(given) : TypedResults.NoContent();
                }
                if (ProjectAccess.Limited(context) is { } caller)
                {
                    // The oldest scheduled run of the key's projects; one another agent takes first is skipped.
                    var scheduled = await backend.GetRunsAsync(new RunQuery { State = RunState.Scheduled }, ct);
                    foreach (var candidate in scheduled.Where(r => ProjectAccess.Allows(caller, r.Project)).Reverse())
                    {
                        if (await backend.ClaimRunAsync(body.Agent, candidate.Id, body.Labels, ct) is { } claimed)
                        {
                            return TypedResults.Ok(claimed);
                        }
                    }
                    return TypedResults.NoContent();
                }
                return await backend.ClaimRunAsync(body.Agent, null, body.Labels, ct) is { } run ? TypedResults.Ok(run) : TypedResults.NoContent();
            })
            .Named("ClaimRun", "Atomically moves a Scheduled run (the given one, or the oldest) to Running for the agent; with labels, only a run of a flow whose labels are all among them; a key limited to projects claims only their runs; 204 when there is none.", ApiOperation.ExecuteRun)
            .WithMetadata(KeptAnswerMetadata.Of<FlowRunRecord>(StatusCodes.Status200OK));

        // ------------------------------------------------------------ agents
        api.MapPost("/agents", async (IFlowBackend backend, AgentReport agent, CancellationToken ct) =>
            {
                await backend.ReportAgentAsync(agent, ct);
                return TypedResults.NoContent();
            })
            .Named("ReportAgent", "Records an agent (host, labels, version) as seen now; agents report while they poll.", ApiOperation.ExecuteRun);

        api.MapGet("/agents", async (IFlowBackend backend, CancellationToken ct)
                => TypedResults.Ok(await backend.GetAgentsAsync(ct)))
            .Named("GetAgents", "The agents seen, sorted by name, with their labels, last sign of life and current runs.", ApiOperation.ReadRuns);

        // Housekeeping, as /runs/stale: agents forget the records of agents not seen for a long time.
        api.MapPost("/agents/stale", async (IFlowBackend backend, RemoveStaleAgentsBody body, CancellationToken ct)
                => TypedResults.Ok(await backend.RemoveAgentsAsync(body.NotSeenSince, ct)))
            .Named("RemoveStaleAgents", "Forgets the agents whose last sign of life is before the given time; answers their names.", ApiOperation.ExecuteRun);

        // Housekeeping: a run whose heartbeat is older than the timeout has lost its agent, whatever its project, so any
        // agent's sweep fails it; a key limited to projects is told only of its projects' runs.
        api.MapPost("/runs/stale", async (HttpContext context, IFlowBackend backend, FailStaleRunsBody body, CancellationToken ct)
                => TypedResults.Ok(ProjectAccess.Filter(context, await backend.FailStaleRunsAsync(body.Timeout, ct), r => r.Project)))
            .Named("FailStaleRuns", "Fails (RunAgentLost) every Running run whose last heartbeat is the timeout or more ago.", ApiOperation.ExecuteRun);

        api.MapPost("/runs/{id:guid}/heartbeat", async (HttpContext context, IFlowBackend backend, Guid id, HeartbeatBody body, CancellationToken ct) =>
            {
                await ProjectAccess.DemandRunAsync(context, backend, id, ApiOperation.ExecuteRun, ct);
                return TypedResults.Ok(new HeartbeatAnswer(await backend.HeartbeatAsync(id, body.Agent, body.Tasks, ct)));
            })
            .Named("Heartbeat", "Records a heartbeat and task states; answers whether the agent must stop.", ApiOperation.ExecuteRun);

        api.MapPost("/runs/{id:guid}/logs", async (HttpContext context, IFlowBackend backend, Guid id, AppendLogBody body, CancellationToken ct) =>
            {
                await ProjectAccess.DemandRunAsync(context, backend, id, ApiOperation.ExecuteRun, ct);
                await backend.AppendLogAsync(id, body.Entries, ct);
                return TypedResults.NoContent();
            })
            .Named("AppendRunLog", "Appends log lines (already redacted) after the run's last one.", ApiOperation.ExecuteRun)
            .WithMetadata(KeptAnswerMetadata.NoBody(StatusCodes.Status204NoContent));

        api.MapGet("/runs/{id:guid}/logs", async (HttpContext context, IFlowBackend backend, Guid id, CancellationToken ct) =>
            {
                await ProjectAccess.DemandRunAsync(context, backend, id, ApiOperation.ReadRuns, ct);
                return TypedResults.Ok(await backend.GetRunLogAsync(id, ct));
            })
            .Named("GetRunLog", "The run's log lines in the order they were appended.", ApiOperation.ReadRuns);

        api.MapPost("/runs/{id:guid}/complete", async (HttpContext context, IFlowBackend backend, Guid id, CompleteRunBody body, CancellationToken ct) =>
            {
                await ProjectAccess.DemandRunAsync(context, backend, id, ApiOperation.ExecuteRun, ct);
                return TypedResults.Ok(new CompleteRunAnswer(await backend.CompleteRunAsync(id, body.Agent, body.Completion, ct)));
            })
            .Named("CompleteRun", "Ends a Running run owned by the agent; false when it no longer is.", ApiOperation.ExecuteRun)
            .WithMetadata(KeptAnswerMetadata.Of<bool>(StatusCodes.Status200OK, recorded => new CompleteRunAnswer(recorded)));

        api.MapPost("/runs/{id:guid}/cancel", async (HttpContext context, IFlowBackend backend, Guid id, CancellationToken ct) =>
            {
                await ProjectAccess.DemandRunAsync(context, backend, id, ApiOperation.CancelRun, ct);
                return TypedResults.Ok(new CancelRunAnswer(await backend.RequestCancelAsync(id, ct)));
            })
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
                    // The answer carries the token: it is never written to the database (a retry is answered from memory only).
                    IdempotentRequest.Current?.Forgo();
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
                ApiOperation.ManageKeys)
            .WithMetadata(KeptAnswerMetadata.Of<ApiKeyInfo>(StatusCodes.Status201Created, key => new CreatedApiKeyAnswer(key)));

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
