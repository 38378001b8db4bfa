using Flowstore.Storage.Contract;

namespace Flowstore.Storage.S3.Tests;

/// <summary>
/// S3 storage under the storage contract, against the s3rver test server (a fresh bucket per test); faults come from a
/// <see cref="FaultProxy"/> in front of it. s3rver keeps no object versions: only the current ETag can be fetched.
/// </summary>
public abstract class S3StorageContractTests(StorageMode mode) : RemoteStorageContractTests(mode)
{
    private S3StorageProvider? _provider;

    protected override IStorageProvider Provider => _provider ??= new S3StorageProvider(new S3ClientOptions
    {
        MaxRetries = FastRetry.MaxRetries,
        BaseDelay = FastRetry.BaseDelay,
        AttemptTimeout = TimeSpan.FromSeconds(5),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    });

    protected override ISecretResolver Secrets => TestSecrets.WithCredentials();

    protected override bool KeepsOlderVersions => false;

    protected override async Task<StorageSettings> NewStorageAsync()
        => S3TestServer.Storage(await S3TestServer.NewBucketAsync(), "flows/contract.cs", storedAsScript: Mode == StorageMode.Script);

    protected override StorageSettings MissingObject(StorageSettings stored) => (S3Storage)stored with { Key = "flows/missing.cs" };

    protected override string MissingObjectName(StorageSettings missing) => "flows/missing.cs";

    protected override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
        => (stored, new TestSecrets((S3TestServer.CredentialsSecret, $$"""{"accessKeyId":"NOT-S3RVER","secretAccessKey":"{{secret}}"}""")));

    protected override Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        var proxy = Cleanup(new FaultProxy(new Uri(S3TestServer.Url).Port));
        proxy.UnavailableNext(faults);
        return Task.FromResult<StorageSettings>((S3Storage)stored with { EndpointUrl = proxy.Url });
    }

    protected override string PlaceName(StorageSettings stored) => ((S3Storage)stored).Bucket;
}

/// <summary>A script object: publishing uploads it, runs fetch it.</summary>
public sealed class S3ScriptStorageContractTests() : S3StorageContractTests(StorageMode.Script);

/// <summary>A frozen flow: registration uploads the compiled flow to the key.</summary>
public sealed class S3FrozenStorageContractTests() : S3StorageContractTests(StorageMode.Frozen);
