using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Backend.Sqlite;

namespace Flowstore.Engine;

/// <summary>Where a Flowstore home's backend comes from.</summary>
public enum FlowBackendSource
{
    /// <summary>The embedded SQLite file in the home (no server configured).</summary>
    Embedded,
    /// <summary>FLOWSTORE_SERVER_URL (and FLOWSTORE_API_KEY) in the environment: no state, for CI.</summary>
    Environment,
    /// <summary>A connection saved for the home (server.connection.json, the key in the home's secret store).</summary>
    Connection,
    /// <summary>A backend handed to the client by its caller.</summary>
    Given,
}

/// <summary>Which backend a home uses: what Get-FlowServer shows.</summary>
/// <param name="Backend">"Http" for a server, "Sqlite" for the embedded file, or the given backend's description.</param>
/// <param name="Source">Where the choice comes from.</param>
/// <param name="Url">The server's URL (Http only).</param>
/// <param name="ApiKey">Where the API key comes from: "FLOWSTORE_API_KEY", "secret store", "secret 'name'", or null for none.</param>
/// <param name="Description">The backend's own description ("Flowstore server http://...", "SQLite /home/me/.flowstore/flowstore.db").</param>
/// <param name="Home">The Flowstore home this is about.</param>
public sealed record FlowServerInfo(string Backend, FlowBackendSource Source, Uri? Url, string? ApiKey, string Description, string Home)
{
    public override string ToString() => Url is null ? Description : $"{Backend} {Url}";
}

/// <summary>What a saved connection file holds: the URL and where the key is (never the key).</summary>
internal sealed record SavedServerConnection(Uri Url, string? ApiKeySecret, bool KeyInStore);

/// <summary>
/// The server a Flowstore home talks to. FLOWSTORE_SERVER_URL (+ FLOWSTORE_API_KEY) win, for CI with no state; else a
/// connection saved for the home (<see cref="FileName"/>: the URL, and the key's place: the home's own encrypted secret
/// store, or the name of a secret resolved at the moment of use); else the embedded SQLite file.
/// </summary>
public static class FlowServerConnection
{
    /// <summary>The server's URL, for a home with no saved connection (CI).</summary>
    public const string UrlVariable = "FLOWSTORE_SERVER_URL";

    /// <summary>The API key that goes with <see cref="UrlVariable"/>.</summary>
    public const string ApiKeyVariable = "FLOWSTORE_API_KEY";

    /// <summary>The saved connection's file in the home.</summary>
    public const string FileName = "server.connection.json";

    /// <summary>The name the API key of a saved connection is kept under in the home's secret store.</summary>
    public const string StoredKeyName = "FLOWSTORE_SERVER_API_KEY";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// The backend the home is configured for, or null for the embedded file. <paramref name="extraSources"/> (a vault)
    /// are asked for a key kept under a secret name after the home's store and the environment.
    /// </summary>
    public static IFlowBackend? OpenConfigured(string home, IReadOnlyList<ISecretSource> extraSources, HttpFlowBackendOptions? options = null)
    {
        if (FromEnvironment() is { } url)
        {
            return new HttpFlowBackend(url, System.Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key ? key : null, options);
        }
        if (Read(home) is not { } saved)
        {
            return null;
        }
        return new HttpFlowBackend(saved.Url, ResolveKey(home, saved, extraSources), options);
    }

    /// <summary>Which backend the home uses, without opening it.</summary>
    public static FlowServerInfo Describe(string home)
    {
        if (FromEnvironment() is { } url)
        {
            var hasKey = System.Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 };
            return new FlowServerInfo("Http", FlowBackendSource.Environment, url, hasKey ? ApiKeyVariable : null, $"Flowstore server {url}", home);
        }
        if (Read(home) is { } saved)
        {
            var key = saved.KeyInStore ? "secret store" : saved.ApiKeySecret is { } name ? $"secret '{name}'" : null;
            return new FlowServerInfo("Http", FlowBackendSource.Connection, saved.Url, key, $"Flowstore server {saved.Url}", home);
        }
        return new FlowServerInfo("Sqlite", FlowBackendSource.Embedded, null, null,
            $"SQLite {Path.Combine(home, SqliteFlowBackend.DefaultFileName)}", home);
    }

    /// <summary>
    /// Saves a connection for the home after checking that the server answers and accepts the key (a list of projects).
    /// The key goes into the home's encrypted secret store (never a plain file); or only its secret name is saved.
    /// </summary>
    public static async Task<FlowServerInfo> ConnectAsync(string home, Uri url, string? apiKey, string? apiKeySecret,
        IReadOnlyList<ISecretSource> extraSources, HttpFlowBackendOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        var saved = new SavedServerConnection(url, apiKeySecret, KeyInStore: apiKey is not null);
        var key = apiKey ?? (apiKeySecret is null ? null : await ResolveSecretAsync(home, apiKeySecret, extraSources, cancellationToken).ConfigureAwait(false));
        using (var backend = new HttpFlowBackend(url, key, options))
        {
            await backend.GetProjectsAsync(null, cancellationToken).ConfigureAwait(false);
            saved = saved with { Url = backend.Url };
        }

        using (var local = OpenLocal(home))
        {
            var store = new SecretStore(() => local, Path.Combine(home, "secret.key"));
            if (apiKey is not null)
            {
                await store.SetAsync(StoredKeyName, apiKey, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await store.RemoveAsync(StoredKeyName, cancellationToken).ConfigureAwait(false);
            }
        }
        var path = Path.Combine(home, FileName);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(saved, Json), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
        return Describe(home);
    }

    /// <summary>Forgets the home's saved connection and its stored key; false when there was none.</summary>
    public static async Task<bool> DisconnectAsync(string home, CancellationToken cancellationToken)
    {
        var path = Path.Combine(home, FileName);
        var had = File.Exists(path);
        if (had)
        {
            File.Delete(path);
        }
        if (File.Exists(Path.Combine(home, SqliteFlowBackend.DefaultFileName)))
        {
            using var local = OpenLocal(home);
            await local.DeleteSecretAsync(StoredKeyName, cancellationToken).ConfigureAwait(false);
        }
        return had;
    }

    private static Uri? FromEnvironment()
    {
        if (System.Environment.GetEnvironmentVariable(UrlVariable) is not { Length: > 0 } text)
        {
            return null;
        }
        return Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url)
            ? url
            : throw new FlowstoreException(ErrorIds.ServerUnreachable, FlowErrorKind.InvalidArgument,
                $"The environment variable {UrlVariable} is not an absolute URL.") { Target = UrlVariable };
    }

    private static SavedServerConnection? Read(string home)
    {
        var path = Path.Combine(home, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<SavedServerConnection>(File.ReadAllText(path), Json)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new FlowstoreException(ErrorIds.ServerUnreachable, FlowErrorKind.ReadError,
                $"The saved server connection '{path}' cannot be read ({e.Message}); connect again.", e) { Target = path };
        }
    }

    private static string? ResolveKey(string home, SavedServerConnection saved, IReadOnlyList<ISecretSource> extraSources)
    {
        var name = saved.KeyInStore ? StoredKeyName : saved.ApiKeySecret;
        return name is null ? null : ResolveSecretAsync(home, name, saved.KeyInStore ? [] : extraSources, CancellationToken.None).GetAwaiter().GetResult();
    }

    private static async Task<string> ResolveSecretAsync(string home, string name, IReadOnlyList<ISecretSource> extraSources, CancellationToken cancellationToken)
    {
        using var local = OpenLocal(home);
        var store = new SecretStore(() => local, Path.Combine(home, "secret.key"));
        var resolver = new SecretResolver([store, new EnvironmentSecretSource(), .. extraSources]);
        return await resolver.ResolveAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private static SqliteFlowBackend OpenLocal(string home) => new(Path.Combine(home, SqliteFlowBackend.DefaultFileName));
}
