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

