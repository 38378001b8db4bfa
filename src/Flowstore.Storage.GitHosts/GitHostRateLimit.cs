using System.Globalization;

namespace Flowstore.Storage.GitHosts;

/// <summary>
/// Rate limits as Git hosts announce them in response headers (GitHub, GitLab, Bitbucket Server and the IETF
/// draft's RateLimit-* fields): whether an answer is one, and when the limit resets.
/// </summary>
public static class GitHostRateLimit
{
    /// <summary>429, or a 403 whose RateLimit-Remaining or X-RateLimit-Remaining is 0.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="header">A response header's first value by name, or null.</param>
    public static bool IsLimited(int status, Func<string, string?> header)
        => status == 429 || (status == 403 && (header("RateLimit-Remaining") ?? header("X-RateLimit-Remaining")) == "0");

    /// <summary>
    /// When the limit resets: Retry-After (seconds or an HTTP date), RateLimit-Reset or X-RateLimit-Reset (Unix
    /// seconds; a small number is a delay in seconds, as in the IETF draft), RateLimit-ResetTime; null when none says.
    /// </summary>
    public static DateTimeOffset? ResetTime(Func<string, string?> header, DateTimeOffset now)
    {
        if (header("Retry-After") is { } retryAfter)
        {
            if (long.TryParse(retryAfter, NumberStyles.Integer, CultureInfo.InvariantCulture, out var delay))
            {
                return now.AddSeconds(Math.Max(0, delay));
            }
            if (DateTimeOffset.TryParse(retryAfter, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                return date;
            }
        }
        foreach (var name in new[] { "RateLimit-Reset", "X-RateLimit-Reset" })
        {
            if (header(name) is { } value && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
            {
                return seconds > 1_000_000_000 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : now.AddSeconds(seconds);
            }
        }
        if (header("RateLimit-ResetTime") is { } text
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }
        return null;
    }

    /// <summary>The wait until <paramref name="reset"/>, never negative; null when the reset is unknown.</summary>
    public static TimeSpan? WaitUntil(DateTimeOffset? reset, DateTimeOffset now)
        => reset is { } r ? (r > now ? r - now : TimeSpan.Zero) : null;

    /// <summary>"2026-12-03 07:00:00" (UTC).</summary>
    public static string Format(DateTimeOffset reset) => reset.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
