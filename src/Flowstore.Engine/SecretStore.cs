using System.Security.Cryptography;
using System.Text;

namespace Flowstore.Engine;

/// <summary>
/// The Flowstore secret store: values encrypted with AES-256-GCM under a key kept in
/// <c>$FLOWSTORE_HOME/secret.key</c> (owner-only, created on first use), stored as ciphertext in the backend.
/// The secret's name is authenticated with it, so a ciphertext cannot be moved to another name.
/// A wrong or missing key is a clear error, never garbage.
/// <para>
/// Over a backend that keeps secret values itself (<see cref="IServerSecretStore"/>: a Flowstore server), the store
/// encrypts nothing here: values are sent to the server, which encrypts them with its own key (this same class over its
/// database, with the key file in the server's home), and a value comes back only to an agent, for the run it executes
/// (<see cref="RunSecretScope"/>).
/// </para>
/// </summary>
public sealed class SecretStore : ISecretSource
{
    /// <summary>The key file's name in a home (a client's, or a server's).</summary>
    public const string KeyFileName = "secret.key";

    private const byte FormatVersion = 1;
    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly Func<ISecretBlobStore> _blobs;
    private readonly object _keyLock = new();
    private byte[]? _key;

    public SecretStore(Func<ISecretBlobStore> blobs, string keyPath)
    {
        _blobs = blobs;
        KeyPath = keyPath;
    }

    /// <summary>The key file.</summary>
    public string KeyPath { get; }

    public string Description => Server is { } server ? server.SecretStoreDescription : "Flowstore secret store";

    /// <summary>The server that keeps the values, when the backend is one; null for a backend that keeps ciphertext only.</summary>
    private IServerSecretStore? Server => _blobs() as IServerSecretStore;

    /// <summary>
    /// Encrypts and stores a value, creating the key on first use. A missing key is not silently replaced: while the
    /// store holds other secrets (encrypted with the lost key) this is <see cref="ErrorIds.SecretKeyMissing"/>, unless
    /// <paramref name="startNewKey"/> is set; then a new key is made and the result names the secrets it abandons.
    /// </summary>
    public async Task<SecretSetResult> SetAsync(string name, string value, bool startNewKey, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                "The secret name is empty or blank; give a name of visible characters.") { Target = name };
        }
        ArgumentNullException.ThrowIfNull(value);
        name = name.Trim();
        if (Server is { } server)
        {
            return await server.SetSecretValueAsync(name, value, startNewKey, cancellationToken).ConfigureAwait(false);
        }
        var abandoned = Array.Empty<string>();
        var key = await TryKeyAsync(cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            // The key is missing: secrets stored with it (other than the one being replaced) would become unreadable.
            abandoned = (await _blobs().ListSecretsAsync(cancellationToken).ConfigureAwait(false))
                .Where(b => !string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase))
                .Select(b => b.Name)
                .ToArray();
            if (abandoned.Length > 0 && !startNewKey)
            {
                throw new FlowstoreException(ErrorIds.SecretKeyMissing, FlowErrorKind.InvalidOperation,
                    $"The secret store key '{KeyPath}' is missing, and the store holds {Count(abandoned.Length)} encrypted with it ({List(abandoned)}). " +
                    $"Setting secret '{name}' would start a new key and leave {(abandoned.Length == 1 ? "it" : "them")} unreadable for good, so nothing was set.")
                { Target = KeyPath, Hint = FlowHint.RestoreOrNewSecretKey(KeyPath, name) };
            }
            key = CreateKey();
        }
        await _blobs().PutSecretAsync(name, Encrypt(name, value, key), cancellationToken).ConfigureAwait(false);
        return new SecretSetResult(name, abandoned) { KeyPath = KeyPath };
    }

    /// <summary>Stores a value (see <see cref="SetAsync(string, string, bool, CancellationToken)"/>), never starting a new key over stored secrets.</summary>
    public Task SetAsync(string name, string value, CancellationToken cancellationToken) => SetAsync(name, value, startNewKey: false, cancellationToken);

    public async ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
    {
        if (Server is { } server)
        {
            // A server hands a value out only to the agent executing a run, for that run: elsewhere it is not here.
            return RunSecretScope.Current is { } run
                ? await server.GetRunSecretValueAsync(run.RunId, run.Agent, name, cancellationToken).ConfigureAwait(false)
                : null;
        }
        var blob = await _blobs().GetSecretAsync(name, cancellationToken).ConfigureAwait(false);
        if (blob is null)
        {
            return null;
        }
        var key = await TryKeyAsync(cancellationToken).ConfigureAwait(false) ?? throw new FlowstoreException(ErrorIds.SecretKeyMissing, FlowErrorKind.InvalidOperation,
            $"The secret store key '{KeyPath}' is missing, so stored secrets cannot be decrypted; restore the key file, or set the secrets again.")
        { Target = KeyPath, Hint = FlowHint.SetSecret(name) };
        return Decrypt(blob, key);
    }

    public Task<IReadOnlyList<SecretBlob>> ListAsync(CancellationToken cancellationToken) => _blobs().ListSecretsAsync(cancellationToken);

    /// <summary>
    /// The stored secrets, sorted by name: names, times, and whether the current key decrypts each
    /// (<see cref="CheckAsync"/>); never a value. Over a server, what the server says of its own store.
    /// </summary>
    public async Task<IReadOnlyList<SecretInfo>> DescribeAsync(CancellationToken cancellationToken)
    {
        if (Server is { } server)
        {
            // Where they are, from here: the server (it says "Flowstore secret store" of its own store).
            return (await server.DescribeSecretsAsync(cancellationToken).ConfigureAwait(false))
                .Select(s => s with { Source = server.SecretStoreDescription })
                .ToArray();
        }
        var result = new List<SecretInfo>();
        foreach (var blob in await ListAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new SecretInfo(blob.Name, Description, true, blob.Created, blob.Updated)
            {
                KeyState = await CheckAsync(blob, cancellationToken).ConfigureAwait(false),
            });
        }
        return result;
    }

    /// <summary>
    /// Whether the current key decrypts <paramref name="blob"/>: <see cref="SecretKeyState.Readable"/>,
    /// <see cref="SecretKeyState.KeyMissing"/>, <see cref="SecretKeyState.OtherKey"/> (encrypted with another key),
    /// or <see cref="SecretKeyState.KeyInvalid"/> (the key file is damaged). The value is decrypted and wiped at once.
    /// </summary>
    public async Task<SecretKeyState> CheckAsync(SecretBlob blob, CancellationToken cancellationToken)
    {
        byte[]? key;
        try
        {
            key = await TryKeyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretKeyInvalid)
        {
            return SecretKeyState.KeyInvalid;
        }
        if (key is null)
        {
            return SecretKeyState.KeyMissing;
        }
        try
        {
            Decrypt(blob, key);
            return SecretKeyState.Readable;
        }
        catch (FlowstoreException)
        {
            return SecretKeyState.OtherKey;
        }
    }

    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken)
        => Server is { } server ? server.RemoveSecretAsync(name, cancellationToken) : _blobs().DeleteSecretAsync(name, cancellationToken);

    /// <summary>The key, or null when the key file does not exist; <see cref="ErrorIds.SecretKeyInvalid"/> when it is damaged.</summary>
    private async Task<byte[]?> TryKeyAsync(CancellationToken cancellationToken)
    {
        lock (_keyLock)
        {
            if (_key is not null)
            {
                return _key;
            }
        }
        byte[] key;
        try
        {
            key = await File.ReadAllBytesAsync(KeyPath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FlowstoreException(ErrorIds.SecretKeyInvalid, FlowErrorKind.ReadError,
                $"The secret store key '{KeyPath}' cannot be read: {e.Message}", e) { Target = KeyPath };
        }
        if (key.Length != KeySize)
        {
            throw await InvalidKeyAsync(key.Length, cancellationToken).ConfigureAwait(false);
        }
        lock (_keyLock)
        {
            return _key ??= key;
        }
    }

    // An empty or short key file is never a usable key: an interrupted write of an older version left it, or it was
    // cut short. No secret can have been encrypted with it, so removing it is safe; what the stored secrets need is
    // the key they were encrypted with.
    private async Task<FlowstoreException> InvalidKeyAsync(int length, CancellationToken cancellationToken)
    {
        var what = length == 0 ? "is empty (0 bytes" : length < KeySize ? $"is too short ({length} bytes" : $"is too long ({length} bytes";
        var stored = (await _blobs().ListSecretsAsync(cancellationToken).ConfigureAwait(false)).Select(b => b.Name).ToArray();
        var advice = length > KeySize
            ? "It is not a Flowstore key; do not remove it before checking what it is: restore the key file from a backup."
            : stored.Length == 0
                ? "It holds no key and the store holds no secrets, so it is safe to remove; the next secret set creates a new key."
                : $"It holds no key (no secret can have been encrypted with it), so it is safe to remove; but the store holds {Count(stored.Length)} " +
                  $"({List(stored)}) encrypted with the key this file should hold: restore that key from a backup, or set the secrets again with a new key.";
        return new FlowstoreException(ErrorIds.SecretKeyInvalid, FlowErrorKind.InvalidData,
            $"The secret store key file '{KeyPath}' {what}; a Flowstore key has {KeySize}). {advice}")
        { Target = KeyPath, Hint = stored.Length == 0 || length > KeySize ? null : FlowHint.RestoreOrNewSecretKey(KeyPath, stored[0]) };
    }

    private byte[] CreateKey()
    {
        var key = RandomNumberGenerator.GetBytes(KeySize);
        try
        {
            FlowstoreHome.EnsureDirectory(Path.GetDirectoryName(KeyPath)!);
            // Temporary file, flushed to disk, renamed into place: a full disk never leaves an empty or partial key.
            if (!AtomicFile.Write(KeyPath, key, overwrite: false, durable: true, unixMode: UnixFileMode.UserRead | UnixFileMode.UserWrite))
            {
                // Another process created it first: use theirs.
                CryptographicOperations.ZeroMemory(key);
                key = File.ReadAllBytes(KeyPath);
                if (key.Length != KeySize)
                {
                    throw new FlowstoreException(ErrorIds.SecretKeyInvalid, FlowErrorKind.InvalidData,
                        $"The secret store key file '{KeyPath}' is not a Flowstore key ({key.Length} bytes; a Flowstore key has {KeySize}).") { Target = KeyPath };
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = AtomicFile.IsDiskFull(e) ? "the disk is full" : e.Message;
            throw new FlowstoreException(ErrorIds.SecretKeyWriteFailed, FlowErrorKind.WriteError,
                $"Cannot create the secret store key '{KeyPath}': {why}. Nothing was written (no key file, no secret); free space or make the folder writable, then set the secret again.", e)
            { Target = KeyPath };
        }
        lock (_keyLock)
        {
            return _key = key;
        }
    }

    private static string Count(int n) => n == 1 ? "1 secret" : $"{n} secrets";

    private static string List(IReadOnlyList<string> names)
        => names.Count <= 10 ? string.Join(", ", names) : string.Join(", ", names.Take(10)) + $", and {names.Count - 10} more";

    private static byte[] AssociatedData(string name) => Encoding.UTF8.GetBytes("flowstore-secret:" + name.ToLowerInvariant());

    private static byte[] Encrypt(string name, string value, byte[] key)
    {
        var plain = Encoding.UTF8.GetBytes(value);
        var result = new byte[1 + NonceSize + TagSize + plain.Length];
        result[0] = FormatVersion;
        var nonce = result.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plain, result.AsSpan(1 + NonceSize + TagSize), result.AsSpan(1 + NonceSize, TagSize), AssociatedData(name));
        CryptographicOperations.ZeroMemory(plain);
        return result;
    }

    private string Decrypt(SecretBlob blob, byte[] key)
    {
        var data = blob.Ciphertext;
        if (data.Length < 1 + NonceSize + TagSize || data[0] != FormatVersion)
        {
            throw new FlowstoreException(ErrorIds.SecretKeyInvalid, FlowErrorKind.InvalidData,
                $"Secret '{blob.Name}' is not in a format this version of Flowstore can read; set it again.") { Target = blob.Name, Hint = FlowHint.SetSecret(blob.Name) };
        }
        var plain = new byte[data.Length - 1 - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(data.AsSpan(1, NonceSize), data.AsSpan(1 + NonceSize + TagSize), data.AsSpan(1 + NonceSize, TagSize), plain, AssociatedData(blob.Name));
            return Encoding.UTF8.GetString(plain);
        }
        catch (CryptographicException e)
        {
            throw new FlowstoreException(ErrorIds.SecretKeyMismatch, FlowErrorKind.InvalidData,
                $"The secret store key '{KeyPath}' does not decrypt secret '{blob.Name}': the key was replaced, or the database belongs to another Flowstore home. Set the secret again.", e) { Target = blob.Name, Hint = FlowHint.SetSecret(blob.Name) };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }
}

