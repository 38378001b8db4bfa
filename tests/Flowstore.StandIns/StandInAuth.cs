namespace Flowstore.StandIns;

/// <summary>The one token the stand-ins accept; each API reads it from its own documented header.</summary>
public sealed class StandInAuth
{
    private readonly string _token;

    public StandInAuth(string token) => _token = token;

    /// <summary>True when <paramref name="presented"/> is the accepted token (constant-time compare).</summary>
    public bool Accepts(string? presented)
        => presented is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(presented), System.Text.Encoding.UTF8.GetBytes(_token));

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
}
