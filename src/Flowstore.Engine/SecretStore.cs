using System.Security.Cryptography;
using System.Text;

namespace Flowstore.Engine;

/// <summary>
/// The Flowstore secret store: values encrypted with AES-256-GCM under a key kept in
/// <c>$FLOWSTORE_HOME/secret.key</c> (owner-only, created on first use), stored as ciphertext in the backend.
/// The secret's name is authenticated with it, so a ciphertext cannot be moved to another name.
/// A wrong or missing key is a clear error, never garbage.
/// </summary>
public sealed class SecretStore : ISecretSource
{
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

    public string Description => "Flowstore secret store";

    /// <summary>Encrypts and stores a value (creating the key on first use).</summary>
    public async Task SetAsync(string name, string value, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                "The secret name is empty or blank; give a name of visible characters.") { Target = name };
        }
        ArgumentNullException.ThrowIfNull(value);
        await _blobs().PutSecretAsync(name.Trim(), Encrypt(name.Trim(), value, Key(create: true)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
    {
        var blob = await _blobs().GetSecretAsync(name, cancellationToken).ConfigureAwait(false);
        return blob is null ? null : Decrypt(blob, Key(create: false));
    }

    public Task<IReadOnlyList<SecretBlob>> ListAsync(CancellationToken cancellationToken) => _blobs().ListSecretsAsync(cancellationToken);

    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken) => _blobs().DeleteSecretAsync(name, cancellationToken);

    private byte[] Key(bool create)
    {
        lock (_keyLock)
        {
            if (_key is not null)
            {
                return _key;
            }
            if (!File.Exists(KeyPath))
            {
                if (!create)
                {
                    throw new FlowstoreException(ErrorIds.SecretKeyMissing, FlowErrorKind.InvalidOperation,
                        $"The secret store key '{KeyPath}' is missing, so stored secrets cannot be decrypted; restore the key file, or set the secrets again.") { Target = KeyPath, Hint = new FlowHint(FlowHintKind.SetSecret) };
                }
                CreateKey();
            }
            var key = File.ReadAllBytes(KeyPath);
            if (key.Length != KeySize)
            {
                throw new FlowstoreException(ErrorIds.SecretKeyInvalid, FlowErrorKind.InvalidData,
                    $"The secret store key '{KeyPath}' is not a Flowstore key ({key.Length} bytes, expected {KeySize}).") { Target = KeyPath };
            }
            return _key = key;
        }
    }

    private void CreateKey()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(KeyPath)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using var stream = new FileStream(KeyPath, options);
            stream.Write(RandomNumberGenerator.GetBytes(KeySize));
        }
        catch (IOException) when (File.Exists(KeyPath))
        {
            // Another process created it first: use theirs.
        }
    }

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
