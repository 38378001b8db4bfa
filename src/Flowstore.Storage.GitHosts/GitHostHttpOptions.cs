namespace Flowstore.Storage.GitHosts;

/// <summary>How a Git host client retries and waits.</summary>
public sealed record GitHostHttpOptions
{
    /// <summary>Retries (network failures, timeouts, 5xx, short rate limits): 3, from 1 s, 60 s per attempt.</summary>
    public StorageRetryOptions Retry { get; init; } = new() { BaseDelay = TimeSpan.FromSeconds(1), AttemptTimeout = TimeSpan.FromSeconds(60) };

    /// <summary>A rate limit that resets within this time is waited out; a longer one is an error with the reset time.</summary>
    public TimeSpan MaxRateLimitWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The handler under the client (tests); a pooled <see cref="SocketsHttpHandler"/> when null.</summary>
    public HttpMessageHandler? Handler { get; init; }

    public static GitHostHttpOptions Default { get; } = new();
}
