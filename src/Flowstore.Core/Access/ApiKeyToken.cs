using System.Security.Cryptography;
using System.Text;

namespace Flowstore;

/// <summary>
/// API key tokens: <c>fsk_</c> followed by 43 URL-safe characters of 32 random bytes (256 bits, from the operating
/// system's cryptographic generator). A token that high in entropy needs no slow password hash: the backend keeps its
/// SHA-256 only, and a presented token is looked up by its hash. The prefix lets secret scanners and people tell a
/// Flowstore key when they see one.
/// </summary>
public static class ApiKeyToken
{
    /// <summary>What every token starts with.</summary>
    public const string Prefix = "fsk_";

    /// <summary>Random bytes in a token.</summary>
    public const int RandomBytes = 32;

    /// <summary>A token's length: the prefix and 43 base64url characters.</summary>
    public static int Length { get; } = Prefix.Length + Base64UrlLength(RandomBytes);

    /// <summary>A new random token.</summary>
    public static string Generate()
    {
        Span<byte> random = stackalloc byte[RandomBytes];
        RandomNumberGenerator.Fill(random);
        try
        {
            return Prefix + Base64Url(random);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(random);
        }
    }

    /// <summary>Whether <paramref name="text"/> has the shape of a token (prefix, length, alphabet); says nothing of whether it is valid.</summary>
    public static bool HasTokenShape(string? text)
    {
        if (text is null || text.Length != Length || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        for (var i = Prefix.Length; i < text.Length; i++)
        {
            var c = text[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The token's SHA-256 as lower-case hex: what the backend stores and looks keys up by.</summary>
    public static string Hash(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var bytes = Encoding.UTF8.GetBytes(token);
        try
        {
            return Convert.ToHexStringLower(SHA256.HashData(bytes));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Compares two hashes in time that does not depend on where they differ.</summary>
    public static bool HashesEqual(string a, string b)
        => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    private static string Base64Url(ReadOnlySpan<byte> bytes)
        => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static int Base64UrlLength(int bytes) => (bytes * 8 + 5) / 6;
}
