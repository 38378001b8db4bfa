using Xunit;

namespace Flowstore.Storage.Contract;

/// <summary>
/// The contract of a storage behind a network: besides <see cref="StorageContractTests"/>, refused credentials are
/// <see cref="ErrorIds.StorageAccessDenied"/>, transient faults are retried and then
/// <see cref="ErrorIds.StorageUnavailable"/>, and a secret's value (a canary) is in no message.
/// </summary>
public abstract class RemoteStorageContractTests(StorageMode mode) : StorageContractTests(mode)
{
    /// <summary>
    /// Settings like <paramref name="stored"/> that send <paramref name="secret"/>'s value as the credential, which the
    /// storage refuses, and the secrets that hold it.
    /// </summary>
    protected abstract (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret);

    /// <summary>
    /// Settings like <paramref name="stored"/> whose next <paramref name="faults"/> requests fail for a transient reason
    /// (503, a reset connection), e.g. through a <see cref="FaultProxy"/> or the server's fault injection.
    /// </summary>
    protected abstract Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults);

    /// <summary>What every error about <paramref name="stored"/> names (a URL, bucket, repository or image).</summary>
    protected abstract string PlaceName(StorageSettings stored);

    /// <summary>A value no message may hold.</summary>
    protected static string NewCanary() => "canary-" + Guid.NewGuid().ToString("N");

    protected static void AssertNoCanary(Exception e, string canary)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            Assert.DoesNotContain(canary, x.Message, StringComparison.Ordinal);
        }
        Assert.DoesNotContain(canary, e.ToString(), StringComparison.Ordinal);
        if (e is FlowstoreException { Target: { } target })
        {
            Assert.DoesNotContain(canary, target, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Refused_credentials_are_StorageAccessDenied_and_the_secret_is_in_no_message()
    {
        var stored = await StoreAsync(await NewStorageAsync(), "v1");
        var canary = NewCanary();
        var (refused, secrets) = WithRefusedCredentials(stored, canary);

        var fetch = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(refused, secrets: secrets));
        var store = await Assert.ThrowsAsync<FlowstoreException>(() => StoreAsync(refused, "v2", secrets));

        foreach (var e in new[] { fetch, store })
        {
            Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
            Assert.Equal(FlowErrorKind.PermissionDenied, e.Kind);
            Assert.Contains(PlaceName(stored), e.Message, StringComparison.Ordinal);
            AssertNoCanary(e, canary);
        }
    }

    [Fact]
    public async Task Transient_faults_are_retried_and_then_StorageUnavailable()
    {
        var stored = await StoreAsync(await NewStorageAsync(), "v1");

        var recovered = await FetchAsync(await WithTransientFaultsAsync(stored, FastRetry.MaxRetries));
        var e = await Assert.ThrowsAsync<FlowstoreException>(async () => await FetchAsync(await WithTransientFaultsAsync(stored, 1000)));

        AssertHolds(recovered, "v1");
        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Equal(FlowErrorKind.ConnectionError, e.Kind);
        Assert.Contains(PlaceName(stored), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_storage_that_stays_unreachable_is_StorageUnavailable_when_storing_as_when_fetching()
    {
        // The same fault has the same id whether a registration or publication stores, or a run fetches.
        var stored = await StoreAsync(await NewStorageAsync(), "v1");
        var down = await WithTransientFaultsAsync(stored, 1000);

        var store = await Assert.ThrowsAsync<FlowstoreException>(() => StoreAsync(down, "v2"));
        var fetch = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(down));

        foreach (var e in new[] { store, fetch })
        {
            Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
            Assert.Equal(FlowErrorKind.ConnectionError, e.Kind);
            Assert.Contains(PlaceName(stored), e.Message, StringComparison.Ordinal);
        }
    }
}
