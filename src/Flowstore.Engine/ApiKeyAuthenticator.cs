using System.Collections.Concurrent;
using System.Globalization;

namespace Flowstore.Engine;

/// <summary>
/// Turns the API key a caller presents (<c>Authorization: Bearer fsk_...</c>) into who is calling
/// (<see cref="ApiPrincipal"/>), or an <see cref="ErrorIds.ApiKeyInvalid"/> error: none given, not a Flowstore key,
/// unknown, revoked or expired. The token is hashed at once and looked up by its hash; no message, target or log
/// line ever holds it. Thread-safe: a server registers one instance. Last use is recorded at most once per
/// <see cref="TouchInterval"/> per key, so authentication does not write on every request.
/// </summary>
public sealed class ApiKeyAuthenticator
{
    /// <summary>The HTTP authentication scheme.</summary>
    public const string Scheme = "Bearer";

    private readonly IApiKeyStore _store;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _touched = new();

    public ApiKeyAuthenticator(IApiKeyStore store, TimeProvider? time = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How often a key's last use is written at most.</summary>
    public TimeSpan TouchInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The token in an Authorization header value (<c>Bearer &lt;token&gt;</c>, scheme in any case), or null when the
    /// value is missing or of another scheme.
    /// </summary>
    public static string? TokenFromAuthorization(string? authorization)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            return null;
        }
        var value = authorization.Trim();
        if (value.Length <= Scheme.Length || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || !char.IsWhiteSpace(value[Scheme.Length]))
        {
            return null;
        }
        var token = value[(Scheme.Length + 1)..].Trim();
        return token.Length == 0 ? null : token;
    }

    /// <summary>Authenticates an Authorization header value (see <see cref="TokenFromAuthorization"/>).</summary>
    public Task<ApiPrincipal> AuthenticateHeaderAsync(string? authorization, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            throw Invalid("No API key was given: send one as 'Authorization: Bearer <key>'.");
        }
        return TokenFromAuthorization(authorization) is { } token
            ? AuthenticateAsync(token, cancellationToken)
            : throw Invalid("The Authorization header does not carry an API key: send it as 'Authorization: Bearer <key>'.");
    }

    /// <summary>Authenticates a token: the key's principal, or <see cref="ErrorIds.ApiKeyInvalid"/>.</summary>
    public async Task<ApiPrincipal> AuthenticateAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw Invalid("No API key was given: send one as 'Authorization: Bearer <key>'.");
        }
        token = token.Trim();
        if (!ApiKeyToken.HasTokenShape(token))
        {
            // Say what a key looks like, never what was sent (it may be a password or another service's token).
            throw Invalid($"The API key given is not a Flowstore API key (those start with '{ApiKeyToken.Prefix}' and have {ApiKeyToken.Length} characters).");
        }
        var key = await _store.FindApiKeyByHashAsync(ApiKeyToken.Hash(token), cancellationToken).ConfigureAwait(false)
            ?? throw Invalid("The API key given is not known here: it was never made by this server, or its database was replaced.");
        var now = _time.GetUtcNow();
        switch (key.StateAt(now))
        {
            case ApiKeyState.Revoked:
                throw Invalid($"The API key '{key.Name}' was revoked at {Time(key.Revoked!.Value)}.", key.Name);
            case ApiKeyState.Expired:
                throw Invalid($"The API key '{key.Name}' expired at {Time(key.Expires!.Value)}.", key.Name);
        }
        await TouchAsync(key, now, cancellationToken).ConfigureAwait(false);
        return ApiPrincipal.From(key);
    }

    private async Task TouchAsync(ApiKeyInfo key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_touched.TryGetValue(key.Id, out var last) && now - last < TouchInterval)
        {
            return;
        }
        if (key.LastUsed is { } stored && now - stored < TouchInterval)
        {
            _touched[key.Id] = stored;
            return;
        }
        _touched[key.Id] = now;
        await _store.TouchApiKeyAsync(key.Id, now, cancellationToken).ConfigureAwait(false);
    }

    private static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static FlowstoreException Invalid(string message, string? keyName = null)
        => new(ErrorIds.ApiKeyInvalid, FlowErrorKind.PermissionDenied, message) { Target = keyName, Hint = FlowHint.GetNewApiKey(keyName) };
}
