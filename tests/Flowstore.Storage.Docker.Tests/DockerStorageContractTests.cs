using Flowstore.Storage.Contract;

namespace Flowstore.Storage.Docker.Tests;

/// <summary>
/// Docker storage under the storage contract, against the test engine and the registry that needs credentials: a fresh
/// image name per test; faults come from a <see cref="FaultProxy"/> in front of the registry, read without an engine.
/// </summary>
public abstract class DockerStorageContractTests(StorageMode mode) : RemoteStorageContractTests(mode)
{
    private DockerStorageProvider? _provider;

    protected override IStorageProvider Provider => _provider ??= new DockerStorageProvider { Retry = new StorageRetry(FastRetry) };

    protected override ISecretResolver Secrets => new FixedSecrets((DockerTestServer.CredentialsSecret, $"{DockerTestServer.User}:{DockerTestServer.Password}"));

    protected override Task<StorageSettings> NewStorageAsync() => Task.FromResult<StorageSettings>(new DockerStorage(
        path: Mode == StorageMode.Script ? "/flows/contract.cs" : null,
        storedAsScript: Mode == StorageMode.Script,
        registryUrl: DockerTestServer.AuthRegistryUrl,
        imageName: DockerTestServer.NewImageName("contract"),
        imageTag: "t1",
        dockerHost: DockerTestServer.Host,
        registryCredentialsSecret: DockerTestServer.CredentialsSecret));

    protected override StorageSettings MissingObject(StorageSettings stored)
    {
        return (DockerStorage)stored with { ImageTag = "missing", ImageDigest = null };
    }

    protected override string MissingObjectName(StorageSettings missing) => $"{((DockerStorage)missing).ImageName}:missing";

    protected override (StorageSettings Settings, ISecretResolver Secrets) WithRefusedCredentials(StorageSettings stored, string secret)
        => (stored, new FixedSecrets((DockerTestServer.CredentialsSecret, $"{DockerTestServer.User}:{secret}")));

    protected override Task<StorageSettings> WithTransientFaultsAsync(StorageSettings stored, int faults)
    {
        var proxy = Cleanup(new FaultProxy(new Uri(DockerTestServer.AuthRegistryUrl).Port));
        proxy.UnavailableNext(faults);
        var faulty = (DockerStorage)stored with { RegistryUrl = proxy.Url, DockerHost = DockerTestServer.NoEngine };
        return Task.FromResult<StorageSettings>(faulty);
    }

    protected override string PlaceName(StorageSettings stored) => ((DockerStorage)stored).ImageName!;
}

/// <summary>A script image: publishing builds and pushes it, runs read the script out of it.</summary>
public sealed class DockerScriptStorageContractTests() : DockerStorageContractTests(StorageMode.Script);

/// <summary>A frozen image: registration builds the compiled flow into it.</summary>
public sealed class DockerFrozenStorageContractTests() : DockerStorageContractTests(StorageMode.Frozen);
