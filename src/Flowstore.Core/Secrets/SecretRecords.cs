namespace Flowstore;

/// <summary>An encrypted secret as a backend keeps it: the name and an opaque ciphertext, never the value.</summary>
public sealed record SecretBlob(string Name, byte[] Ciphertext, DateTimeOffset Created, DateTimeOffset Updated);

/// <summary>Where backends keep encrypted secrets. Encryption happens before this: a backend never sees a value.</summary>
public interface ISecretBlobStore
{
    /// <summary>Creates or replaces a secret (names ignore case); keeps the creation time of a replaced one.</summary>
    Task PutSecretAsync(string name, byte[] ciphertext, CancellationToken cancellationToken);

    /// <summary>The secret with this name (case-insensitive), or null.</summary>
    Task<SecretBlob?> GetSecretAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every secret, sorted by name.</summary>
    Task<IReadOnlyList<SecretBlob>> ListSecretsAsync(CancellationToken cancellationToken);

    /// <summary>Removes a secret; false when there was none.</summary>
    Task<bool> DeleteSecretAsync(string name, CancellationToken cancellationToken);
}

/// <summary>What Get-FlowSecret shows: a name, times, and where the name resolves from. Never the value.</summary>
/// <param name="Name">The secret's name.</param>
/// <param name="Source">Where it resolves from at the moment of use: the first source that has it, or "not found".</param>
/// <param name="InStore">True when the Flowstore secret store holds it.</param>
/// <param name="Created">When it was stored (store only).</param>
/// <param name="Updated">When it was last set (store only).</param>
public sealed record SecretInfo(string Name, string Source, bool InStore, DateTimeOffset? Created, DateTimeOffset? Updated)
{
    /// <summary>
    /// For a secret in the store: whether the store's current key decrypts it (<see cref="SecretKeyState.Readable"/>), or
    /// why not (the key is missing, damaged, or another key encrypted it). Null for a secret not in the store.
    /// </summary>
    public SecretKeyState? KeyState { get; init; }
}

/// <summary>Whether the secret store's current key decrypts a stored secret.</summary>
public enum SecretKeyState
{
    /// <summary>The current key decrypts it.</summary>
    Readable,
    /// <summary>There is no key file: it was encrypted with a key that is lost (or not restored yet).</summary>
    KeyMissing,
    /// <summary>The current key does not decrypt it: it was encrypted with another key.</summary>
    OtherKey,
    /// <summary>The key file is damaged (empty, short), so nothing can be decrypted.</summary>
    KeyInvalid,
}


/// <summary>A secret set: its name, and the secrets a new key abandoned (encrypted with the lost key; empty normally).</summary>
/// <param name="Name">The secret's name.</param>
/// <param name="Abandoned">Secrets encrypted with a lost key that a new key made unreadable for good.</param>
public sealed record SecretSetResult(string Name, IReadOnlyList<string> Abandoned)
{
    /// <summary>Where the key that encrypted it is (a file of this home, or of the server's home); null when not told.</summary>
    public string? KeyPath { get; init; }
}

/// <summary>
/// A backend that keeps secret values itself (a Flowstore server): a value is sent to it and it encrypts the value with
/// its own key, kept in its own home; names and times come back, never a value, except to an agent for a run it is
/// executing. A client of such a backend never encrypts with its home's key (another home could not decrypt it).
/// </summary>
public interface IServerSecretStore
{
    /// <summary>Where the secrets are, for messages ("Flowstore server secret store at http://...").</summary>
    string SecretStoreDescription { get; }

    /// <summary>Sends a value to be encrypted and stored under <paramref name="name"/> (see the local store's rules for <paramref name="startNewKey"/>).</summary>
    Task<SecretSetResult> SetSecretValueAsync(string name, string value, bool startNewKey, CancellationToken cancellationToken);

    /// <summary>The stored secrets: names, times, whether the server's key decrypts them; never a value.</summary>
    Task<IReadOnlyList<SecretInfo>> DescribeSecretsAsync(CancellationToken cancellationToken);

    /// <summary>Removes a secret; false when there was none.</summary>
    Task<bool> RemoveSecretAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// The value of a secret for a run that <paramref name="agent"/> claimed and is executing (the only time a value leaves
    /// the server); null when the server has no such secret. Refused (AccessDenied) for a key without the Agent role, and for
    /// a run that is not Running under that agent.
    /// </summary>
    Task<string?> GetRunSecretValueAsync(Guid runId, string agent, string name, CancellationToken cancellationToken);
}

/// <summary>
/// The run the current code executes for an agent (set around a claimed run's preparation and tasks), so a secret
/// source backed by a server can ask for the values that run needs, naming the run and its agent.
/// </summary>
public static class RunSecretScope
{
    private static readonly AsyncLocal<RunSecretContext?> Ambient = new();

    /// <summary>The run being executed here, or null outside one.</summary>
    public static RunSecretContext? Current => Ambient.Value;

    /// <summary>Marks the rest of this async flow as executing <paramref name="runId"/> for <paramref name="agent"/>; dispose to leave.</summary>
    public static IDisposable Enter(Guid runId, string agent)
    {
        var previous = Ambient.Value;
        Ambient.Value = new RunSecretContext(runId, agent);
        return new Restore(previous);
    }

    private sealed class Restore(RunSecretContext? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}

/// <summary>A claimed run and the agent executing it.</summary>
public sealed record RunSecretContext(Guid RunId, string Agent);
