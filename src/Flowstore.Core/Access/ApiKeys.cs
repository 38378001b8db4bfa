namespace Flowstore;

/// <summary>
/// What an API key may do. The roles build on each other except <see cref="Agent"/>, which executes runs rather than
/// starting them (see <see cref="AccessPolicy"/> for the table).
/// </summary>
public enum FlowRole
{
    /// <summary>Read projects, flows, runs, logs and secret names; never a secret's value.</summary>
    Reader,

    /// <summary>Reader, plus register, publish and unregister flows, and start and stop runs (CI).</summary>
    Registrar,

    /// <summary>Reader, plus claim and execute runs and read the secret values those runs need.</summary>
    Agent,

    /// <summary>Everything: the above, plus projects, API keys and secrets.</summary>
    Admin,
}

/// <summary>
/// An API key as stored and listed: never its token (the backend holds only the token's SHA-256).
/// </summary>
public sealed record ApiKeyInfo
{
    public required Guid Id { get; init; }

    /// <summary>The key's name, unique among keys that are not revoked (case-insensitive); recorded on what the key makes.</summary>
    public required string Name { get; init; }

    public required FlowRole Role { get; init; }

    /// <summary>The projects the key is limited to; empty: every project.</summary>
    public IReadOnlyList<string> Projects { get; init; } = Array.Empty<string>();

    public required DateTimeOffset Created { get; init; }

    /// <summary>When the key stops working; null: never.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>When the key was revoked; null: it is not.</summary>
    public DateTimeOffset? Revoked { get; init; }

    /// <summary>The name of the key (or the local user) that created it.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>When the key was last used to authenticate (recorded at most about once a minute).</summary>
    public DateTimeOffset? LastUsed { get; init; }

    /// <summary>Whether the key is limited to <see cref="Projects"/>.</summary>
    public bool IsLimitedToProjects => Projects.Count > 0;

    /// <summary>Active, Revoked or Expired at <paramref name="now"/>.</summary>
    public ApiKeyState StateAt(DateTimeOffset now)
        => Revoked is not null ? ApiKeyState.Revoked : Expires is { } e && e <= now ? ApiKeyState.Expired : ApiKeyState.Active;

    /// <summary>Active, Revoked or Expired now.</summary>
    public ApiKeyState State => StateAt(DateTimeOffset.UtcNow);

    /// <summary>Equal when every field is, the projects compared in order (a list is compared by its items, not its reference).</summary>
    public bool Equals(ApiKeyInfo? other)
        => other is not null && Id == other.Id && Name == other.Name && Role == other.Role && Projects.SequenceEqual(other.Projects)
            && Created == other.Created && Expires == other.Expires && Revoked == other.Revoked && CreatedBy == other.CreatedBy && LastUsed == other.LastUsed;

    public override int GetHashCode() => HashCode.Combine(Id, Name, Role, Created);

    /// <summary>"name (Role[, projects a, b])": how a key reads in messages.</summary>
    public override string ToString() => IsLimitedToProjects ? $"{Name} ({Role}, projects {string.Join(", ", Projects)})" : $"{Name} ({Role})";
}

/// <summary>Whether an API key still authenticates.</summary>
public enum ApiKeyState
{
    Active,
    Expired,
    Revoked,
}

/// <summary>A key to record: what <see cref="IApiKeyStore.CreateApiKeyAsync"/> stores (the token's hash, never the token).</summary>
public sealed record NewApiKey
{
    public required string Name { get; init; }
    public required FlowRole Role { get; init; }
    public IReadOnlyList<string> Projects { get; init; } = Array.Empty<string>();
    public DateTimeOffset? Expires { get; init; }
    public string? CreatedBy { get; init; }

    /// <summary>The token's hash (<see cref="ApiKeyToken.Hash"/>), lower-case hex SHA-256.</summary>
    public required string TokenHash { get; init; }
}

/// <summary>
/// Where API keys are kept. Implemented by the backends that a server runs over (SQLite, PostgreSQL) and by the HTTP
/// client (through the server's key endpoints). Tokens never pass through it: only their hashes.
/// </summary>
public interface IApiKeyStore
{
    /// <summary>
    /// Records a key. <see cref="ErrorIds.ApiKeyExists"/> when a key that is not revoked has that name;
    /// <see cref="ErrorIds.InvalidName"/> for an empty or control-character name.
    /// </summary>
    Task<ApiKeyInfo> CreateApiKeyAsync(NewApiKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Records a key only when the store holds no key at all (revoked ones included), in one transaction: the first
    /// start of a server creates its admin key this way, and two servers starting at once create one. Null when keys exist.
    /// </summary>
    Task<ApiKeyInfo?> CreateFirstApiKeyAsync(NewApiKey key, CancellationToken cancellationToken);

    /// <summary>Every key (revoked and expired ones too), sorted by name then creation time.</summary>
    Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken);

    /// <summary>The key whose token has this hash (whatever its state), or null.</summary>
    Task<ApiKeyInfo?> FindApiKeyByHashAsync(string tokenHash, CancellationToken cancellationToken);

    /// <summary>Marks a key revoked (from now on it never authenticates); returns it, or null for an unknown id. Revoking twice keeps the first time.</summary>
    Task<ApiKeyInfo?> RevokeApiKeyAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Records that the key authenticated at <paramref name="when"/> (never moves the time backwards).</summary>
    Task TouchApiKeyAsync(Guid id, DateTimeOffset when, CancellationToken cancellationToken);
}
