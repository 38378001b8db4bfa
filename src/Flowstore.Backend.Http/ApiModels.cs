namespace Flowstore.Backend.Http;

// The bodies of /api/v1 requests and answers that are not Core records themselves. Core records (ProjectInfo,
// FlowRecord, FlowRegistrationRequest, NewRun, FlowRunRecord, RunCompletion, TaskRunRecord, RunLogEntry,
// SecretBlob) travel as they are.

/// <summary>POST /api/v1/projects.</summary>
public sealed record CreateProjectBody(string Name, string? Description = null);

/// <summary>POST /api/v1/flows/registrations/unchanged: which of the inputs are registered unchanged in the project.</summary>
public sealed record FindUnchangedRegistrationsBody(string Project, IReadOnlyList<string> RegistrationInputs);

/// <summary>POST /api/v1/flows/groups/{versionGroupId}/archive: how many versions were archived.</summary>
public sealed record ArchiveFlowAnswer(int Archived);

/// <summary>POST /api/v1/runs/claim: the given run, or the oldest scheduled one when <see cref="RunId"/> is null.</summary>
public sealed record ClaimRunBody(string Agent, Guid? RunId = null);

/// <summary>POST /api/v1/runs/{id}/heartbeat.</summary>
public sealed record HeartbeatBody(string Agent, IReadOnlyList<TaskRunRecord> Tasks);

/// <summary>The answer to a heartbeat: true when the agent must stop the run.</summary>
public sealed record HeartbeatAnswer(bool Stop);

/// <summary>POST /api/v1/runs/{id}/logs.</summary>
public sealed record AppendLogBody(IReadOnlyList<RunLogEntry> Entries);

/// <summary>POST /api/v1/runs/{id}/complete.</summary>
public sealed record CompleteRunBody(string Agent, RunCompletion Completion);

/// <summary>The answer to a completion: false when the run was no longer the agent's (nothing written).</summary>
public sealed record CompleteRunAnswer(bool Recorded);

/// <summary>The answer to POST /api/v1/runs/{id}/cancel: false when the run had ended already.</summary>
public sealed record CancelRunAnswer(bool Cancelled);

/// <summary>POST /api/v1/runs/stale: fail Running runs whose last heartbeat is <see cref="Timeout"/> or more ago.</summary>
public sealed record FailStaleRunsBody(TimeSpan Timeout);

/// <summary>PUT /api/v1/secrets/{name}: the ciphertext (base64 in JSON); the value is encrypted before it is sent.</summary>
public sealed record PutSecretBody(byte[] Ciphertext);

/// <summary>The answer to DELETE /api/v1/secrets/{name}.</summary>
public sealed record DeleteSecretAnswer(bool Deleted);

/// <summary>GET /health.</summary>
public sealed record HealthAnswer(string Status, string Backend, string? Error = null);
