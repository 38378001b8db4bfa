using System.Security.Cryptography;
using System.Text;

namespace Flowstore.Engine;

/// <summary>A key just made: its description and its token, which is shown this once and kept nowhere.</summary>
public sealed class CreatedApiKey
{
    public CreatedApiKey(ApiKeyInfo key, string token)
    {
        Key = key;
        Token = token;
    }

    public ApiKeyInfo Key { get; }

    /// <summary>The token: give it to whoever uses the key; Flowstore keeps only its hash.</summary>
    public string Token { get; }

    /// <summary>Never the token.</summary>
    public override string ToString() => Key.ToString();
}

/// <summary>The admin key the first start over an empty key table made, and the owner-only file that holds it.</summary>
public sealed class BootstrapAdminKey
{
    public BootstrapAdminKey(ApiKeyInfo key, string token, string path)
    {
        Key = key;
        Token = token;
        Path = path;
    }

    public ApiKeyInfo Key { get; }

    /// <summary>The token (also in <see cref="Path"/>).</summary>
    public string Token { get; }

    /// <summary>The owner-only (0600) file holding the token.</summary>
    public string Path { get; }

    /// <summary>Never the token.</summary>
    public override string ToString() => $"{Key} in {Path}";
}

/// <summary>
/// API keys: make (the token shown once), list (never a token), revoke, and the admin key of a server's first start.
/// Works on any backend that keeps keys (<see cref="IApiKeyStore"/>): the embedded database (what a server over that home
/// authenticates against) or a server through its API.
/// </summary>
public sealed class FlowApiKeys
{
    /// <summary>The file in a server's home that holds the admin key its first start made.</summary>
    public const string AdminKeyFileName = "admin.key";

    /// <summary>The name of the admin key a server's first start makes.</summary>
    public const string AdminKeyName = "admin";

    private readonly Lazy<IFlowBackend> _backend;

    public FlowApiKeys(Lazy<IFlowBackend> backend) => _backend = backend;

    private IApiKeyStore Store => _backend.Value as IApiKeyStore
        ?? throw new FlowstoreException(ErrorIds.ApiKeysNotSupported, FlowErrorKind.NotImplemented,
            $"{_backend.Value.Description} keeps no API keys.");

    /// <summary>"local user NAME": who made a key when no API key was involved (the embedded backend).</summary>
    public static string LocalUser => $"local user {Environment.UserName}";

    /// <summary>
    /// Makes a key and returns it with its token. <paramref name="projects"/> must exist (<see cref="ErrorIds.ProjectNotFound"/>);
    /// <paramref name="expiresIn"/> must be positive (<see cref="ErrorIds.ParameterInvalid"/>);
    /// <see cref="ErrorIds.ApiKeyExists"/> when a key that is not revoked has the name.
    /// </summary>
    public async Task<CreatedApiKey> CreateAsync(string name, FlowRole role, IReadOnlyList<string>? projects, TimeSpan? expiresIn,
        string? createdBy, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(role))
        {
            throw new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                $"'{role}' is not a role; the roles are {string.Join(", ", Enum.GetNames<FlowRole>())}.") { Target = name };
        }
        if (expiresIn is { } span && span <= TimeSpan.Zero)
        {
            throw new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                $"The API key '{name}' would expire {span} from now; give a positive time (e.g. 90 days), or none for a key that does not expire.") { Target = name };
        }
        var token = ApiKeyToken.Generate();
        var key = await RecordAsync(new NewApiKey
        {
            Name = name,
            Role = role,
            Projects = projects ?? Array.Empty<string>(),
            Expires = expiresIn is { } e ? DateTimeOffset.UtcNow + e : null,
            CreatedBy = createdBy,
            TokenHash = ApiKeyToken.Hash(token),
        }, cancellationToken).ConfigureAwait(false);
        return new CreatedApiKey(key, token);
    }

    /// <summary>
    /// Records a key whose token was made elsewhere (only its hash is given): what a server does for a client that made
    /// the token itself. The projects must exist (<see cref="ErrorIds.ProjectNotFound"/>) and are recorded as the
    /// backend spells them; <see cref="ErrorIds.ApiKeyExists"/> when a key that is not revoked has the name.
    /// </summary>
    public async Task<ApiKeyInfo> RecordAsync(NewApiKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!Enum.IsDefined(key.Role))
        {
            throw new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                $"'{key.Role}' is not a role; the roles are {string.Join(", ", Enum.GetNames<FlowRole>())}.") { Target = key.Name };
        }
        var projectNames = new List<string>();
        foreach (var project in key.Projects ?? Array.Empty<string>())
        {
            var found = await _backend.Value.GetProjectsAsync(project, cancellationToken).ConfigureAwait(false);
            if (found.Count == 0)
            {
                throw new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                    $"The API key '{key.Name}' is to be limited to project '{project}', which does not exist in {_backend.Value.Description}; create it first.")
                { Target = project, Hint = FlowHint.CreateProject(project) };
            }
            if (!projectNames.Contains(found[0].Name, StringComparer.OrdinalIgnoreCase))
            {
                projectNames.Add(found[0].Name);
            }
        }
        return await Store.CreateApiKeyAsync(key with { Projects = projectNames }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every key (revoked and expired too), by name; never a token.</summary>
    public Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken cancellationToken = default) => Store.ListApiKeysAsync(cancellationToken);

    /// <summary>Revokes a key by id; <see cref="ErrorIds.ApiKeyNotFound"/> for an unknown id. Revoking a revoked key changes nothing.</summary>
    public async Task<ApiKeyInfo> RevokeAsync(Guid id, CancellationToken cancellationToken = default)
        => await Store.RevokeApiKeyAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new FlowstoreException(ErrorIds.ApiKeyNotFound, FlowErrorKind.ObjectNotFound, $"There is no API key with id {id}.") { Target = id.ToString() };

    /// <summary>The first start of a server over this home: see <see cref="EnsureAdminKeyAsync(IApiKeyStore, string, CancellationToken)"/>.</summary>
    public Task<BootstrapAdminKey?> EnsureAdminKeyAsync(string home, CancellationToken cancellationToken = default)
        => EnsureAdminKeyAsync(Store, home, cancellationToken);

    /// <summary>
    /// When <paramref name="store"/> holds no key at all, makes an Admin key named "admin", writes its token to
    /// <c>admin.key</c> in <paramref name="home"/> (owner-only, 0600, flushed to disk) and returns it: the one time a
    /// caller sees it. Null when keys exist. The file is written before the key is recorded, so a full disk leaves no
    /// key nobody knows; of two servers starting at once, one makes the key and the other gets null.
    /// </summary>
    public static async Task<BootstrapAdminKey?> EnsureAdminKeyAsync(IApiKeyStore store, string home, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        home = FlowstoreHome.EnsureDirectory(home);
        var path = Path.Combine(home, AdminKeyFileName);
        if ((await store.ListApiKeysAsync(cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            return null;
        }
        var token = ApiKeyToken.Generate();
        var pending = Path.Combine(home, $".{AdminKeyFileName}.{Guid.NewGuid():N}.pending");
        var bytes = Encoding.UTF8.GetBytes(token + "\n");
        try
        {
            try
            {
                AtomicFile.Write(pending, bytes, overwrite: false, durable: true, unixMode: UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var why = AtomicFile.IsDiskFull(e) ? "the disk is full" : e.Message;
                throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.WriteError,
                    $"Cannot write the admin key file '{path}': {why}. No key was made; free space or make the folder writable, then start again.", e)
                { Target = path };
            }
            var key = await store.CreateFirstApiKeyAsync(new NewApiKey
            {
                Name = AdminKeyName,
                Role = FlowRole.Admin,
                CreatedBy = "first start",
                TokenHash = ApiKeyToken.Hash(token),
            }, cancellationToken).ConfigureAwait(false);
            if (key is null)
            {
                return null;
            }
            File.Move(pending, path, overwrite: true);
            return new BootstrapAdminKey(key, token, path);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            try
            {
                File.Delete(pending);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover pending file holds a token no key has: harmless, and owner-only.
            }
        }
    }
}
