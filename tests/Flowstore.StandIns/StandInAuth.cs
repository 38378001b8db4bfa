using System.Collections.Concurrent;
using System.Text.Json;

namespace Flowstore.StandIns;

/// <summary>
/// The tokens the stand-ins accept; each API reads a token from its own documented header. The token given on the
/// command line has every right (a GitLab token with the <c>api</c> scope, a Bitbucket personal HTTP access token
/// with write permission). Tests add narrower tokens with <c>POST /_standin/tokens</c> (<see cref="TokenGrant"/>),
/// so the stand-ins can answer as the hosts do when a token's scope or kind is not enough.
/// </summary>
public sealed class StandInAuth
{
    private readonly string _token;
    private readonly ConcurrentDictionary<string, TokenGrant> _grants = new(StringComparer.Ordinal);

    public StandInAuth(string token) => _token = token;

    /// <summary>What a token may do.</summary>
    /// <param name="Scopes">GitLab scopes (api, read_api, read_repository, write_repository).</param>
    /// <param name="Kind">Bitbucket token kind: personal, project or repository.</param>
    /// <param name="Write">Bitbucket: the token has write permission on repositories (else read only).</param>
    public sealed record TokenGrant(string[] Scopes, string Kind = "personal", bool Write = true)
    {
        public bool HasScope(params string[] any) => any.Any(s => Scopes.Contains(s, StringComparer.Ordinal));
    }

    /// <summary>The grant of the token given on the command line.</summary>
    public static TokenGrant Full { get; } = new(["api"]);

    /// <summary>True when <paramref name="presented"/> is an accepted token (constant-time compare for the main one).</summary>
    public bool Accepts(string? presented) => Grant(presented) is not null;

    /// <summary>What <paramref name="presented"/> may do, or null when it is not an accepted token.</summary>
    public TokenGrant? Grant(string? presented)
    {
        if (presented is null)
        {
            return null;
        }
        if (System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(presented), System.Text.Encoding.UTF8.GetBytes(_token)))
        {
            return Full;
        }
        return _grants.TryGetValue(presented, out var grant) ? grant : null;
    }

    /// <summary>The value after a scheme in an Authorization header ("Bearer x", "token x"), or null.</summary>
    public static string? FromAuthorization(HttpRequest request, params string[] schemes)
    {
        var header = request.Headers.Authorization.ToString();
        foreach (var scheme in schemes)
        {
            if (header.StartsWith(scheme + " ", StringComparison.OrdinalIgnoreCase))
            {
                return header[(scheme.Length + 1)..].Trim();
            }
        }
        return null;
    }

    /// <summary>
    /// <c>POST /_standin/tokens</c> {"scopes":[...],"kind":"project","write":false} adds a token with that grant and
    /// answers {"token":"..."}.
    /// </summary>
    public void MapControl(WebApplication app)
    {
        app.MapPost("/_standin/tokens", async (HttpContext c) =>
        {
            var grant = await JsonSerializer.DeserializeAsync<TokenGrant>(c.Request.Body, new JsonSerializerOptions(JsonSerializerDefaults.Web))
                ?? throw new BadHttpRequestException("A token grant is required.");
            var token = "standin-scoped-" + Guid.NewGuid().ToString("N");
            _grants[token] = grant with { Scopes = grant.Scopes ?? [] };
            return Results.Json(new { token });
        });
    }
}
