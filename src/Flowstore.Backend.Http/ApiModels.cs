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

/// <summary>
/// POST /api/v1/runs/claim: the given run, or the oldest scheduled one when <see cref="RunId"/> is null; with
/// <see cref="Labels"/>, only a run of a flow whose labels are all among them (null: whatever flow).
/// </summary>
public sealed record ClaimRunBody(string Agent, Guid? RunId = null, IReadOnlyList<string>? Labels = null);

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

/// <summary>POST /api/v1/agents/stale: forget the agents last seen before <see cref="NotSeenSince"/>.</summary>
public sealed record RemoveStaleAgentsBody(DateTimeOffset NotSeenSince);

/// <summary>
/// PUT /api/v1/secret-ciphertexts/{name}: a ciphertext as the backend keeps it (base64 in JSON), for moving a store between
/// servers; the server neither encrypts nor checks it.
/// </summary>
public sealed record PutSecretBody(byte[] Ciphertext);

/// <summary>The answer to DELETE /api/v1/secrets/{name} and /api/v1/secret-ciphertexts/{name}.</summary>
public sealed record DeleteSecretAnswer(bool Deleted);

/// <summary>
/// PUT /api/v1/secrets/{name}: a value for the server to encrypt with its key and store. <see cref="StartNewKey"/>: when the
/// server's key file is missing while it holds secrets encrypted with it, start a new key anyway (they are abandoned).
/// </summary>
public sealed record SetSecretBody(string Value, bool StartNewKey = false)
{
    /// <summary>Never the value.</summary>
    public override string ToString() => $"SetSecretBody {{ StartNewKey = {StartNewKey} }}";
}

/// <summary>POST /api/v1/runs/{id}/secret-values: the agent executing the run asks for one secret's value.</summary>
public sealed record SecretValueRequest(string Agent, string Name);

/// <summary>The answer to POST /api/v1/runs/{id}/secret-values: the value, for the run's agent only.</summary>
public sealed record SecretValueAnswer(string Name, string Value)
{
    /// <summary>Never the value.</summary>
    public override string ToString() => $"SecretValueAnswer {{ Name = {Name} }}";
}

/// <summary>GET /health.</summary>
public sealed record HealthAnswer(string Status, string Backend, string? Error = null);

/// <summary>
/// POST /api/v1/keys. With <see cref="TokenHash"/> (what Flowstore's own client sends: it makes the token, so the token
/// never crosses the wire) the server records that hash; without it the server makes the token and answers it once.
/// </summary>
/// <param name="Name">The key's name, unique among keys that are not revoked.</param>
/// <param name="Role">Reader, Registrar, Agent or Admin.</param>
/// <param name="Projects">The projects the key is limited to (they must exist); none for every project.</param>
/// <param name="Expires">When the key stops working; null for never.</param>
/// <param name="TokenHash">The lower-case hex SHA-256 of a token the client made; null to have the server make one.</param>
/// <param name="CreatedBy">Who made it; a server with keys records the name of the key that called instead.</param>
public sealed record CreateApiKeyBody(string Name, FlowRole Role, IReadOnlyList<string>? Projects = null, DateTimeOffset? Expires = null,
    string? TokenHash = null, string? CreatedBy = null);

/// <summary>
/// The answer to POST /api/v1/keys: the key as recorded, and the token when the server made it (the only time it is
/// ever sent: the server keeps its hash only, and no listing has it).
/// </summary>
public sealed record CreatedApiKeyAnswer(ApiKeyInfo Key, string? Token = null)
{
    /// <summary>Never the token.</summary>
    public override string ToString() => Key.ToString();
}

/// <summary>PUT /api/v1/schedules/state: pause or resume the schedule of a flow (its latest version).</summary>
public sealed record SetSchedulePausedBody(string Project, string Flow, bool Paused);
