using System.Net;
using System.Net.Sockets;

namespace Flowstore.Core.Tests;

/// <summary>The one retry policy of storage providers (transient → retried → StorageUnavailable), without servers.</summary>
public class StorageRetryTests
{
    private static readonly StorageRetry Fast = new(new StorageRetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.Zero, UseJitter = false });

    private static StorageCall<string> Call(List<string>? log = null) => new("Test storage http://host", "reading flows/etl.cs")
    {
        Log = log is null ? null : log.Add,
    };

    [Fact]
    public async Task A_transient_exception_is_retried_until_it_succeeds()
    {
        var attempts = 0;
        var log = new List<string>();

        var result = await Fast.ExecuteAsync(Call(log), _ => ++attempts < 3
            ? throw new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused))
            : Task.FromResult("ok"), CancellationToken.None);

        Assert.Equal("ok", result);
        Assert.Equal(3, attempts);
        Assert.Equal(2, log.Count);
        Assert.Contains("Test storage http://host: reading flows/etl.cs: ConnectionRefused; retrying in 0.0 s (attempt 2 of 4).", log);
    }

    [Fact]
    public async Task Attempts_that_run_out_are_StorageUnavailable_naming_the_storage_the_operation_and_the_reason()
    {
        var attempts = 0;

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Fast.ExecuteAsync<string>(Call(), _ =>
        {
            attempts++;
            throw new IOException("connection reset by peer");
        }, CancellationToken.None));

        Assert.Equal(4, attempts);
        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Equal(FlowErrorKind.ConnectionError, e.Kind);
        Assert.Equal("Test storage http://host could not be reached while reading flows/etl.cs after 4 attempts: connection reset by peer. " +
            "Check that it is up and reachable from this machine, then try again.", e.Message);
        Assert.Equal("Test storage http://host", e.Target);
        Assert.Null(e.InnerException);
    }

    [Fact]
    public async Task A_failure_that_is_not_transient_is_not_retried_and_goes_back_as_it_is()
    {
        var attempts = 0;
        var denied = new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied, "denied");

        var thrown = await Assert.ThrowsAsync<FlowstoreException>(() => Fast.ExecuteAsync<string>(Call(), _ =>
        {
            attempts++;
            throw denied;
        }, CancellationToken.None));
        var other = await Assert.ThrowsAsync<InvalidOperationException>(() => Fast.ExecuteAsync<string>(Call(), _ => throw new InvalidOperationException("bug"), CancellationToken.None));

        Assert.Same(denied, thrown);
        Assert.Equal(1, attempts);
        Assert.Equal("bug", other.Message);
    }

    [Fact]
    public async Task Results_are_classified_by_the_call_and_a_transient_one_that_stays_is_StorageUnavailable()
    {
        var statuses = new Queue<HttpStatusCode>([HttpStatusCode.ServiceUnavailable, HttpStatusCode.BadGateway, HttpStatusCode.NotFound]);
        var call = new StorageCall<HttpStatusCode>("Test storage", "reading")
        {
            OnResult = status => StorageRetry.IsTransientStatus(status) ? RetryVerdict.Transient($"{(int)status}") : RetryVerdict.Stop,
        };

        var notFound = await Fast.ExecuteAsync(call, _ => Task.FromResult(statuses.Dequeue()), CancellationToken.None);
        var unavailable = await Assert.ThrowsAsync<FlowstoreException>(() => Fast.ExecuteAsync(call, _ => Task.FromResult(HttpStatusCode.InternalServerError), CancellationToken.None));
        var custom = await Assert.ThrowsAsync<FlowstoreException>(() => Fast.ExecuteAsync(
            call with { Unavailable = f => new FlowstoreException(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError, $"{f.Attempts} x {f.Result} ({f.Reason})") },
            _ => Task.FromResult(HttpStatusCode.GatewayTimeout), CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, notFound);
        Assert.Empty(statuses);
        Assert.Contains("after 4 attempts: 500.", unavailable.Message);
        Assert.Equal("4 x GatewayTimeout (504)", custom.Message);
    }

    [Fact]
    public async Task A_wait_the_storage_asks_for_replaces_the_backoff()
    {
        var slow = new StorageRetry(new StorageRetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMinutes(10) });
        var log = new List<string>();
        var attempts = 0;
        var call = Call(log) with { OnException = _ => RetryVerdict.Wait(TimeSpan.FromMilliseconds(1), "rate limited") };

        var result = await slow.ExecuteAsync(call, _ => ++attempts == 1 ? throw new InvalidOperationException("429") : Task.FromResult("ok"), CancellationToken.None);

        Assert.Equal("ok", result);
        Assert.Contains("rate limited; retrying in 0.0 s (attempt 2 of 2)", Assert.Single(log));
    }

    [Fact]
    public async Task No_retries_means_one_attempt_and_a_slow_attempt_times_out_as_transient()
    {
        var once = new StorageRetry(new StorageRetryOptions { MaxRetries = 0, AttemptTimeout = TimeSpan.FromMilliseconds(50) });
        var attempts = 0;

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => once.ExecuteAsync(Call(), async ct =>
        {
            attempts++;
            await Task.Delay(Timeout.Infinite, ct);
            return "never";
        }, CancellationToken.None));

        Assert.Equal(1, attempts);
        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Contains("after 1 attempt: no answer within 0.1 s", e.Message);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_never_retried()
    {
        using var cancel = new CancellationTokenSource();
        var attempts = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Fast.ExecuteAsync<string>(Call(), ct =>
        {
            attempts++;
            cancel.Cancel();
            ct.ThrowIfCancellationRequested();
            return Task.FromResult("never");
        }, cancel.Token));

        Assert.Equal(1, attempts);
    }
}
