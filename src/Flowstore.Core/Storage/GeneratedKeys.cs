using System.Globalization;

namespace Flowstore;

/// <summary>
/// Names a storage makes up when the user gives none, the same way everywhere: object keys
/// <c>&lt;flow-slug&gt;/&lt;UTC yyyyMMddTHHmmssZ&gt;</c> (S3, GCS) and image tags <c>&lt;UTC yyyyMMddTHHmmssZ&gt;</c> (Docker).
/// </summary>
public static class GeneratedKeys
{
    /// <summary>The UTC time stamp of generated names, e.g. 20261128T174500Z.</summary>
    public static string Timestamp(DateTimeOffset now) => now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>&lt;prefix&gt;/&lt;timestamp&gt;&lt;suffix&gt;</c>; the <paramref name="n"/>th candidate (n &gt; 1) gets <c>-n</c>
    /// before the suffix.
    /// </summary>
    public static string Key(string prefix, DateTimeOffset now, string suffix = "", int n = 1)
        => $"{prefix}/{Timestamp(now)}{(n == 1 ? "" : "-" + n.ToString(CultureInfo.InvariantCulture))}{suffix}";

    /// <summary>
    /// The first generated key no object has yet (<c>-2</c>, <c>-3</c>, ... when two uploads fall in one second),
    /// so an upload never replaces the object of another registration.
    /// </summary>
    public static async Task<string> FirstFreeAsync(string prefix, DateTimeOffset now, string suffix,
        Func<string, CancellationToken, Task<bool>> exists, CancellationToken cancellationToken)
    {
        for (var n = 1; ; n++)
        {
            var key = Key(prefix, now, suffix, n);
            if (!await exists(key, cancellationToken).ConfigureAwait(false))
            {
                return key;
            }
        }
    }
}
