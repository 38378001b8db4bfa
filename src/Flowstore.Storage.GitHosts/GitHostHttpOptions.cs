namespace Flowstore.Storage.GitHosts;

/// <summary>How a Git host client retries and waits.</summary>
public sealed class GitHostHttpOptions
{
    /// <summary>Retries after the first attempt, for network failures, timeouts, 5xx and short rate limits.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>First backoff delay (exponential with jitter).</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A rate limit that resets within this time is waited out; a longer one is an error with the reset time.</summary>
    public TimeSpan MaxRateLimitWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one attempt.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The handler under the client (tests); a pooled <see cref="SocketsHttpHandler"/> when null.</summary>
    public HttpMessageHandler? Handler { get; init; }

    public static GitHostHttpOptions Default { get; } = new();
}
