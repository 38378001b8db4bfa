using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Flowstore.Engine;

namespace Flowstore.Storage.Gcs.Tests;

/// <summary>Faults against the real emulator: a stopped server, transient errors through a proxy, refusals and credentials.</summary>
public sealed class GcsFaultTests : GcsTestBase
{
    private static readonly ISecretResolver NoSecrets = new DictionarySecrets(new Dictionary<string, string>());

    [Fact]
    public async Task A_server_stopped_mid_test_is_retried_then_StorageUnavailable_naming_endpoint_and_bucket()
    {
        using var emulator = await EmulatorProcess.StartAsync();
        var path = Write("etl.cs", Etl());
        await RegisterAsync(path, Storage(key: "etl.cs", localScriptPath: path, url: emulator.Url));
        Assert.Equal(RunState.Success, (await RunAsync()).State);

        emulator.Stop();
        var run = await RunAsync();
        var fetch = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Provider.FetchAsync(Storage(key: "etl.cs", url: emulator.Url), null, NoSecrets, CancellationToken.None));
        File.WriteAllText(path, Etl(factor: 2));
        var upload = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, Storage(key: "etl.cs", localScriptPath: path, url: emulator.Url)));

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.StorageUnavailable, run.ErrorId);
        foreach (var error in new[] { run.Error!, fetch.Message, upload.Message })
        {
            Assert.Contains(emulator.Url, error);
            Assert.Contains($"bucket '{Bucket}'", error);
            Assert.Contains("after 3 attempts", error);
        }
        Assert.Equal(ErrorIds.StorageUnavailable, fetch.ErrorId);
        Assert.Equal(ErrorIds.StorageUnavailable, upload.ErrorId);
        Assert.Contains(Log, l => l.Contains("retrying") && l.Contains("(attempt 2 of 3)") && l.Contains($"gs://{Bucket}/etl.cs"));
    }

    [Fact]
    public async Task Transient_503s_are_retried_and_the_fetch_succeeds()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);
        await GcsTestEnvironment.PutAsync(Bucket, "etl.cs", Etl(factor: 3));

        proxy.FailNext(2, HttpStatusCode.ServiceUnavailable);
        var fetched = await Provider.FetchAsync(Storage(key: "etl.cs", url: proxy.Url), null, NoSecrets, CancellationToken.None);

        Assert.Equal(Etl(factor: 3), fetched.ScriptText);
        Assert.Equal(2, proxy.Faulted);
    }

    [Fact]
    public async Task Dropped_connections_are_retried_for_downloads_and_uploads()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);
        var path = Write("etl.cs", Etl(factor: 5));

        proxy.DropNext(1);
        var registered = await RegisterAsync(path, Storage(key: "etl.cs", localScriptPath: path, url: proxy.Url));
        proxy.DropNext(2);
        var fetched = await Provider.FetchAsync(Storage(key: "etl.cs", url: proxy.Url), null, NoSecrets, CancellationToken.None);

        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.Equal(Etl(factor: 5), await GcsTestEnvironment.GetTextAsync(Bucket, "etl.cs"));
        Assert.Equal(Etl(factor: 5), fetched.ScriptText);
        Assert.Equal(3, proxy.Faulted);
    }

    [Fact]
    public async Task An_upload_that_meets_a_500_is_retried_and_stores_the_whole_script()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);
        var path = Write("etl.cs", Etl(factor: 9));

        proxy.FailNext(1, HttpStatusCode.InternalServerError);
        var publication = await Client.PublishAsync(path, new PublishOptions { Storage = Storage(key: "ci/etl.cs", url: proxy.Url) }, Log.Add);

        Assert.Equal(1, proxy.Faulted);
        Assert.Equal(Etl(factor: 9), await GcsTestEnvironment.GetTextAsync(Bucket, "ci/etl.cs"));
        Assert.Equal((await GcsTestEnvironment.ListAsync(Bucket)).Single().Generation.ToString(), publication.StorageVersion);
        Assert.Contains(Log, l => l.Contains("HTTP 500") && l.Contains($"gs://{Bucket}/ci/etl.cs"));
    }

    [Fact]
    public async Task A_5xx_that_lasts_is_StorageUnavailable_after_a_bounded_number_of_attempts()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);
        await GcsTestEnvironment.PutAsync(Bucket, "etl.cs", Etl());

        proxy.FailNext(10, HttpStatusCode.BadGateway);
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Provider.FetchAsync(Storage(key: "etl.cs", url: proxy.Url), null, NoSecrets, CancellationToken.None));

        Assert.Equal(ErrorIds.StorageUnavailable, error.ErrorId);
        Assert.Equal(3, proxy.Faulted);
        Assert.Contains("after 3 attempts: HTTP 502", error.Message);
        Assert.Contains(proxy.Url, error.Message);
    }

    [Fact]
    public async Task Lasting_429s_are_StorageRateLimited()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);

        proxy.FailNext(10, HttpStatusCode.TooManyRequests);
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Provider.FetchAsync(Storage(key: "etl.cs", url: proxy.Url), null, NoSecrets, CancellationToken.None));

        Assert.Equal(ErrorIds.StorageRateLimited, error.ErrorId);
        Assert.Equal(3, proxy.Faulted);
        Assert.Contains($"gs://{Bucket}/etl.cs", error.Message);
    }

    [Fact]
    public async Task A_missing_bucket_is_StorageNotFound_naming_the_bucket()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);
        var path = Write("etl.cs", Etl());

        // GCS's own answer for an object in a bucket that does not exist (the emulator creates buckets on use).
        proxy.FailNext(1, HttpStatusCode.NotFound, "The specified bucket does not exist.");
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, Storage(key: "etl.cs", url: proxy.Url)));

        Assert.Equal(ErrorIds.StorageNotFound, error.ErrorId);
        Assert.Contains($"GCS bucket '{Bucket}' does not exist", error.Message);
        Assert.Equal(1, proxy.Faulted); // a 404 is an answer, not retried
    }

    [Fact]
    public async Task A_refusal_is_StorageAccessDenied_naming_bucket_and_credential()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);

        proxy.FailNext(1, HttpStatusCode.Forbidden, "caller does not have storage.objects.get access");
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Provider.FetchAsync(Storage(key: "etl.cs", url: proxy.Url), null, NoSecrets, CancellationToken.None));

        Assert.Equal(ErrorIds.StorageAccessDenied, error.ErrorId);
        Assert.Contains($"bucket '{Bucket}'", error.Message);
        Assert.Contains("HTTP 403", error.Message);
        Assert.Contains("no credentials", error.Message);
        Assert.Equal(1, proxy.Faulted);
        Assert.All(proxy.AuthorizationSchemes, scheme => Assert.Equal("", scheme)); // an endpoint without a secret: anonymous
    }

    [Fact]
    public async Task A_missing_credentials_secret_is_SecretNotFound_naming_it()
    {
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Provider.FetchAsync(Storage(key: "etl.cs", secret: "GCS_SA_MISSING_" + Guid.NewGuid().ToString("N")), null, Client.Secrets, CancellationToken.None));

        Assert.Equal(ErrorIds.SecretNotFound, error.ErrorId);
        Assert.Contains("GCS_SA_MISSING_", error.Message);
    }

    [Fact]
    public async Task A_secret_that_is_not_a_service_account_key_is_StorageAccessDenied_without_its_value()
    {
        var canary = "canary-" + Guid.NewGuid().ToString("N");
        var secrets = new DictionarySecrets(new Dictionary<string, string> { ["GCS_SA"] = $"{{\"type\": \"authorized_user\", \"refresh_token\": \"{canary}\"" });

        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Provider.FetchAsync(Storage(key: "etl.cs", secret: "GCS_SA"), null, secrets, CancellationToken.None));

        Assert.Equal(ErrorIds.StorageAccessDenied, error.ErrorId);
        Assert.Contains("'GCS_SA'", error.Message);
        Assert.Contains("service-account JSON key", error.Message);
        Assert.DoesNotContain(canary, error.ToString());
        Assert.Null(error.InnerException);
    }

    [Fact]
    public async Task A_service_account_key_from_a_secret_signs_requests_and_never_reaches_the_flow_record()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);
        var canary = "canary" + Guid.NewGuid().ToString("N");
        await Client.SecretStore.SetAsync("GCS_SA", ServiceAccountJson(canary), CancellationToken.None);
        var path = Write("etl.cs", Etl(factor: 2));

        await RegisterAsync(path, Storage(key: "etl.cs", localScriptPath: path, url: proxy.Url, secret: "GCS_SA"));
        var run = await RunAsync();

        Assert.Equal(RunState.Success, run.State);
        var record = await Client.GetFlowAsync("etl", Project);
        Assert.Contains("\"credentialsSecret\":\"GCS_SA\"", record.StorageJson);
        Assert.DoesNotContain(canary, record.StorageJson);
        Assert.DoesNotContain(Log, l => l.Contains(canary));
        Assert.All(proxy.Requests, r => Assert.DoesNotContain(canary, r));
        Assert.NotEmpty(proxy.AuthorizationSchemes);
        Assert.All(proxy.AuthorizationSchemes, scheme => Assert.Equal("Bearer", scheme)); // signed with the key from the secret
    }

    /// <summary>A service-account key file as Google issues it, with a fresh RSA key; the token URI is never used.</summary>
    internal static string ServiceAccountJson(string privateKeyId)
    {
        using var rsa = RSA.Create(2048);
        return JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "flowstore-test",
            ["private_key_id"] = privateKeyId,
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "flows@flowstore-test.iam.gserviceaccount.com",
            ["client_id"] = "100000000000000000001",
            ["token_uri"] = "http://127.0.0.1:9/token",
        });
    }

    private sealed class DictionarySecrets(IReadOnlyDictionary<string, string> values) : ISecretResolver
    {
        public ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken) => values.TryGetValue(name, out var value)
            ? ValueTask.FromResult(value)
            : throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound, $"Secret '{name}' not found.");
    }
}
