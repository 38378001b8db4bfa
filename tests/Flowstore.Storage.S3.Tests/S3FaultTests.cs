using System.Diagnostics;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.S3.Tests;

/// <summary>
/// Faults between the provider and a real s3rver: a server stopped mid-test (retried, then StorageUnavailable
/// naming the endpoint and bucket), transient 503s and resets that recover, and a server that never answers.
/// A fault-injecting TCP proxy sits in front of the server where a test needs to count or shape connections.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3FaultTests
{
    private static readonly S3ClientOptions Fast = new()
    {
        MaxRetries = 3,
        BaseDelay = TimeSpan.FromMilliseconds(50),
        AttemptTimeout = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    };

    private static StoragePublishContext PublishContext(string text) => new(
        "/flows/etl.cs", text, FlowStructure.Sha256Hex(text), "etl", "etl",
        TestSecrets.WithCredentials(), _ => { });

    [Fact]
    public async Task A_server_stopped_mid_test_is_retried_then_StorageUnavailable_naming_endpoint_and_bucket()
    {
        await using var server = new OwnS3Server();
        await server.StartAsync();
        await using var proxy = new FaultProxy(server.Port);
        var bucket = await S3TestServer.NewBucketAsync(server.Url);
        var provider = new S3StorageProvider(Fast);
        var storage = S3TestServer.Storage(bucket, "etl.cs", endpoint: proxy.Url);

        var published = await provider.PublishAsync(storage, PublishContext(Scripts.Etl("v1")), CancellationToken.None);
        var fetched = await provider.FetchAsync(published.Storage, null, TestSecrets.WithCredentials(), CancellationToken.None);
        Assert.Equal(Scripts.Etl("v1"), fetched.ScriptText);

        await server.StopAsync();
        var before = proxy.Accepted;
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.FetchAsync(published.Storage, null, TestSecrets.WithCredentials(), CancellationToken.None));
        Assert.Equal(ErrorIds.StorageUnavailable, error.ErrorId);
        Assert.Equal(FlowErrorKind.ConnectionError, error.Kind);
        Assert.Contains(proxy.Url, error.Message, StringComparison.Ordinal);
        Assert.Contains($"bucket '{bucket}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("after retries", error.Message, StringComparison.Ordinal);
        // The first attempt and every retry reached the endpoint.
        Assert.True(proxy.Accepted - before >= Fast.MaxRetries + 1, $"{proxy.Accepted - before} connection(s) for {Fast.MaxRetries} retries");

        var upload = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.PublishAsync(storage, PublishContext(Scripts.Etl("v2")), CancellationToken.None));
        Assert.Equal(ErrorIds.StorageUnavailable, upload.ErrorId);
    }

    [Fact]
    public async Task A_refused_connection_is_StorageUnavailable_after_retries()
    {
        var port = Ports.Free();
        var provider = new S3StorageProvider(Fast);
        var storage = S3TestServer.Storage("flows", "etl.cs", endpoint: $"http://127.0.0.1:{port}");
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.FetchAsync(storage, null, TestSecrets.WithCredentials(), CancellationToken.None));
        Assert.Equal(ErrorIds.StorageUnavailable, error.ErrorId);
        Assert.Contains($"http://127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("'flows'", error.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Transient_503s_and_resets_are_retried_and_the_fetch_and_upload_succeed()
    {
        await using var proxy = new FaultProxy(new Uri(S3TestServer.Url).Port);
        var bucket = await S3TestServer.NewBucketAsync();
        var provider = new S3StorageProvider(Fast);
        var storage = S3TestServer.Storage(bucket, "etl.cs", endpoint: proxy.Url);

        proxy.UnavailableNext(2);
        var before = proxy.Accepted;
        var published = await provider.PublishAsync(storage, PublishContext(Scripts.Etl("v1")), CancellationToken.None);
        Assert.True(proxy.Accepted - before >= 3, $"{proxy.Accepted - before} connection(s)");
        Assert.Equal(Scripts.Etl("v1"), System.Text.Encoding.UTF8.GetString(await S3TestServer.GetAsync(bucket, "etl.cs")));

        proxy.UnavailableNext(2);
        var fetched = await provider.FetchAsync(published.Storage, null, TestSecrets.WithCredentials(), CancellationToken.None);
        Assert.Equal(Scripts.Etl("v1"), fetched.ScriptText);
        Assert.Equal(published.StorageVersion, fetched.StorageVersion);

        proxy.ResetNext(2);
        before = proxy.Accepted;
        fetched = await provider.FetchAsync(published.Storage, null, TestSecrets.WithCredentials(), CancellationToken.None);
        Assert.Equal(Scripts.Etl("v1"), fetched.ScriptText);
        Assert.True(proxy.Accepted - before >= 3, $"{proxy.Accepted - before} connection(s)");
    }

    [Fact]
    public async Task A_server_that_keeps_failing_with_503_is_StorageUnavailable()
    {
        await using var proxy = new FaultProxy(new Uri(S3TestServer.Url).Port);
        var provider = new S3StorageProvider(Fast);
        var storage = S3TestServer.Storage("flows", "etl.cs", endpoint: proxy.Url);
        proxy.UnavailableNext(100);
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.FetchAsync(storage, null, TestSecrets.WithCredentials(), CancellationToken.None));
        Assert.Equal(ErrorIds.StorageUnavailable, error.ErrorId);
        Assert.Contains("503", error.Message, StringComparison.Ordinal);
        Assert.Contains("'flows'", error.Message, StringComparison.Ordinal);
        // The first attempt and its retries, each on a new connection that got a 503; no more.
        Assert.Equal(Fast.MaxRetries + 1, proxy.Answered503);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_as_StorageUnavailable()
    {
        await using var proxy = new FaultProxy(new Uri(S3TestServer.Url).Port);
        var provider = new S3StorageProvider(Fast with { MaxRetries = 1, AttemptTimeout = TimeSpan.FromSeconds(1) });
        var storage = S3TestServer.Storage("flows", "etl.cs", endpoint: proxy.Url);
        proxy.Hang(true);
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.FetchAsync(storage, null, TestSecrets.WithCredentials(), CancellationToken.None));
        Assert.Equal(ErrorIds.StorageUnavailable, error.ErrorId);
        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Cancelling_a_fetch_is_a_cancellation_not_a_storage_error()
    {
        await using var proxy = new FaultProxy(new Uri(S3TestServer.Url).Port);
        var provider = new S3StorageProvider(new S3ClientOptions());
        var storage = S3TestServer.Storage("flows", "etl.cs", endpoint: proxy.Url);
        proxy.Hang(true);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            provider.FetchAsync(storage, null, TestSecrets.WithCredentials(), cancel.Token));
    }
}
