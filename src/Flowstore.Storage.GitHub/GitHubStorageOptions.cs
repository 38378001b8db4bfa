using System.Globalization;

namespace Flowstore.Storage.GitHub;

/// <summary>How GitHub storage retries and waits. The defaults suit interactive use and CI.</summary>
public sealed record GitHubStorageOptions
{
    /// <summary>The environment variable that sets <see cref="MaxRateLimitWait"/> in seconds.</summary>
    public const string MaxRateLimitWaitVariable = "FLOWSTORE_GITHUB_MAX_RATE_LIMIT_WAIT";

    /// <summary>
    /// The longest Flowstore waits for an exhausted rate limit to reset before retrying; a later reset is the error
    /// <see cref="ErrorIds.StorageRateLimited"/> with the reset time. Default 10 s, or
    /// <see cref="MaxRateLimitWaitVariable"/> (seconds; 0 never waits).
    /// </summary>
    public TimeSpan MaxRateLimitWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The wait after a secondary rate limit that says neither when to retry (no Retry-After) nor that the primary
    /// limit is exhausted: GitHub asks for at least a minute, doubling while the limit persists. The wait counts
    /// against <see cref="MaxRateLimitWait"/> like any other (a longer one is <see cref="ErrorIds.StorageRateLimited"/>).
    /// Settable by tests only.
    /// </summary>
    internal TimeSpan SecondaryRateLimitWait { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Retries after a network failure or a 5xx answer (and after a rate-limit wait). Default 3.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The first retry's delay; later ones back off exponentially (with jitter). Default 0.5 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>How long one request may take. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The defaults, with <see cref="MaxRateLimitWait"/> from the environment when set.</summary>
    public static GitHubStorageOptions FromEnvironment()
    {
        var options = new GitHubStorageOptions();
        if (Environment.GetEnvironmentVariable(MaxRateLimitWaitVariable) is { Length: > 0 } text
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            options = options with { MaxRateLimitWait = TimeSpan.FromSeconds(seconds) };
        }
        return options;
    }
}
