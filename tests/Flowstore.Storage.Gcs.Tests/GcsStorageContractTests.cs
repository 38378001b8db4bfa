using System.Net;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.Gcs.Tests;

/// <summary>
/// GCS storage under the storage contract, against the Cloud Storage emulator (a fresh bucket per test). The emulator
/// accepts any caller, so refusals and transient faults come from the GCS tests' fault proxy in front of it.
/// </summary>
public abstract class GcsStorageContractTests(StorageMode mode) : RemoteStorageContractTests(mode)
{
    private const string CredentialsSecret = "GCS_SA";

    private GcsStorageProvider? _provider;

    protected override IStorageProvider Provider => _provider ??= new GcsStorageProvider(
        new GcsRetryOptions(FastRetry.MaxRetries + 1, FastRetry.BaseDelay, TimeSpan.FromSeconds(5)), TimeProvider.System);

    /// <summary>The emulator keeps only the live generation: an older one is PinnedVersionUnavailable.</summary>
    protected override bool KeepsOlderVersions => false;

    protected override Task<StorageSettings> NewStorageAsync() => Task.FromResult<StorageSettings>(new GcsStorage(
        GcsTestEnvironment.NewBucket(), "flows/contract.cs", storedAsScript: Mode == StorageMode.Script, endpointUrl: GcsTestEnvironment.Url));

    protected override StorageSettings MissingObject(StorageSettings stored) => (GcsStorage)stored with { Key = "flows/missing.cs" };

    protected override string MissingObjectName(StorageSettings missing) => "flows/missing.cs";

    /// <summary>A signed service-account key whose id is the canary, through a proxy that answers every request 403.</summary>
    protected override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
    {
        var proxy = Cleanup(FaultProxy.StartAsync(GcsTestEnvironment.Url).GetAwaiter().GetResult());
        proxy.FailNext(1000, HttpStatusCode.Forbidden, "caller does not have storage.objects access");
        var secrets = new FixedSecrets((CredentialsSecret, GcsFaultTests.ServiceAccountJson(secret)));
        return ((GcsStorage)stored with { EndpointUrl = proxy.Url, CredentialsSecret = CredentialsSecret }, secrets);
    }

    protected override async Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        var proxy = Cleanup(await FaultProxy.StartAsync(GcsTestEnvironment.Url));
        proxy.FailNext(faults, HttpStatusCode.ServiceUnavailable);
        return (GcsStorage)stored with { EndpointUrl = proxy.Url };
    }

    protected override string PlaceName(StorageSettings stored) => ((GcsStorage)stored).Bucket;
}

/// <summary>A script object: publishing uploads it, runs fetch it.</summary>
public sealed class GcsScriptStorageContractTests() : GcsStorageContractTests(StorageMode.Script);

/// <summary>A frozen flow: registration uploads the compiled flow to the key.</summary>
public sealed class GcsFrozenStorageContractTests() : GcsStorageContractTests(StorageMode.Frozen);
