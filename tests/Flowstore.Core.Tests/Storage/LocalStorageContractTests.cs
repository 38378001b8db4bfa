using Flowstore.Storage.Contract;

namespace Flowstore.Core.Tests.Storage;

/// <summary>Local storage under the storage contract: a script file runs read where it is (published by copying).</summary>
public sealed class LocalScriptStorageContractTests() : StorageContractTests(StorageMode.Script)
{
    protected override IStorageProvider Provider => new LocalStorageProvider(Path.Combine(Folder, "frozen"));

    protected override Task<StorageSettings> NewStorageAsync()
        => Task.FromResult<StorageSettings>(new LocalStorage(path: Path.Combine(Folder, "shared", "contract.cs"), storedAsScript: true));

    protected override StorageSettings MissingObject(StorageSettings stored)
        => new LocalStorage(path: Path.Combine(Folder, "shared", "missing.cs"), storedAsScript: true);

    protected override string MissingObjectName(StorageSettings missing) => ((LocalStorage)missing).Path!;

    /// <summary>A deleted script is StorageFetchFailed (documented, and asserted by the run tests).</summary>
    protected override string MissingObjectErrorId => ErrorIds.StorageFetchFailed;

    /// <summary>A local file has no history: only its current version can be fetched.</summary>
    protected override bool KeepsOlderVersions => false;
}

/// <summary>Local storage under the storage contract: registration copies the compiled flow into a folder.</summary>
public sealed class LocalFrozenStorageContractTests() : StorageContractTests(StorageMode.Frozen)
{
    protected override IStorageProvider Provider => new LocalStorageProvider(Path.Combine(Folder, "frozen"));

    protected override Task<StorageSettings> NewStorageAsync()
        => Task.FromResult<StorageSettings>(new LocalStorage(directory: Path.Combine(Folder, "store")));

    protected override StorageSettings MissingObject(StorageSettings stored)
    {
        var local = (LocalStorage)stored;
        return local with { ArtifactPath = Path.Combine(local.Directory!, "contract", "missing.dll") };
    }

    protected override string MissingObjectName(StorageSettings missing) => ((LocalStorage)missing).ArtifactPath!;

    /// <summary>A stored flow that is gone is StorageFetchFailed, as a deleted script is.</summary>
    protected override string MissingObjectErrorId => ErrorIds.StorageFetchFailed;
}
