namespace Flowstore.Storage.GitHosts.Tests;

/// <summary>Rate limits as GitHub, GitLab and Bitbucket Server announce them, read one way for all three.</summary>
public sealed class GitHostRateLimitTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 7, 0, 0, TimeSpan.Zero);

    private static Func<string, string?> Headers(params (string Name, string Value)[] headers)
        => name => headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    [Theory]
    [InlineData(429, null, true)]
    [InlineData(403, "0", true)]
    [InlineData(403, "12", false)]
    [InlineData(403, null, false)]
    [InlineData(401, "0", false)]
    [InlineData(503, "0", false)]
    public void A_429_or_a_403_with_no_requests_remaining_is_a_rate_limit(int status, string? remaining, bool limited)
    {
        var headers = remaining is null ? Headers() : Headers(("X-RateLimit-Remaining", remaining));
        Assert.Equal(limited, GitHostRateLimit.IsLimited(status, headers));
        var draft = remaining is null ? Headers() : Headers(("RateLimit-Remaining", remaining));
        Assert.Equal(limited, GitHostRateLimit.IsLimited(status, draft));
    }

    [Fact]
    public void Retry_After_in_seconds_or_as_an_HTTP_date_comes_first()
    {
        Assert.Equal(Now.AddSeconds(30), GitHostRateLimit.ResetTime(Headers(("Retry-After", "30"), ("X-RateLimit-Reset", "2000000000")), Now));
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero),
            GitHostRateLimit.ResetTime(Headers(("Retry-After", "Thu, 03 Dec 2026 08:00:00 GMT")), Now));
        Assert.Equal(Now, GitHostRateLimit.ResetTime(Headers(("Retry-After", "-5")), Now));
    }

    [Fact]
    public void A_reset_header_is_Unix_time_or_a_delay_and_RateLimit_ResetTime_a_date()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), GitHostRateLimit.ResetTime(Headers(("X-RateLimit-Reset", "1800000000")), Now));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), GitHostRateLimit.ResetTime(Headers(("RateLimit-Reset", "1800000000")), Now));
        Assert.Equal(Now.AddSeconds(42), GitHostRateLimit.ResetTime(Headers(("RateLimit-Reset", "42")), Now));
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 9, 30, 0, TimeSpan.Zero),
            GitHostRateLimit.ResetTime(Headers(("RateLimit-ResetTime", "Thu, 03 Dec 2026 09:30:00 GMT")), Now));
        Assert.Null(GitHostRateLimit.ResetTime(Headers(("X-RateLimit-Reset", "soon")), Now));
        Assert.Null(GitHostRateLimit.ResetTime(Headers(), Now));
    }

    [Fact]
    public void The_wait_is_never_negative_and_unknown_without_a_reset()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), GitHostRateLimit.WaitUntil(Now.AddSeconds(5), Now));
        Assert.Equal(TimeSpan.Zero, GitHostRateLimit.WaitUntil(Now.AddSeconds(-5), Now));
        Assert.Null(GitHostRateLimit.WaitUntil(null, Now));
        Assert.Equal("2026-12-03 07:00:00", GitHostRateLimit.Format(Now.ToOffset(TimeSpan.FromHours(2))));
    }
}
