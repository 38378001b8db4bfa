using System.Text;
using Xunit;

namespace Flowstore.Storage.Contract;

/// <summary>How a storage keeps the flow: the script's text, or the compiled flow.</summary>
public enum StorageMode
{
    Script,
    Frozen,
}

/// <summary>
/// The behaviour every <see cref="IStorageProvider"/> shares, in one <see cref="StorageMode"/>. A provider's test
/// project derives one small fixture class per mode it supports and supplies a provider, a fresh place to store a
/// flow and a missing object; xunit runs each fact on a fresh instance. Remote storages derive from
/// <see cref="RemoteStorageContractTests"/>, which adds credentials, transient faults and the canary secret.
/// </summary>
public abstract class StorageContractTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];

    protected StorageContractTests(StorageMode mode) => Mode = mode;

    protected StorageMode Mode { get; }

    /// <summary>Retries fast and few (3 attempts, no waiting): fixtures give their providers this policy.</summary>
    public static StorageRetryOptions FastRetry { get; } = new() { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(1), UseJitter = false };

    /// <summary>The provider under test, configured with <see cref="FastRetry"/> where it retries.</summary>
    protected abstract IStorageProvider Provider { get; }

    /// <summary>Settings (in <see cref="Mode"/>) for a place no other test uses, where the flow can be stored.</summary>
    protected abstract Task<StorageSettings> NewStorageAsync();

    /// <summary>Settings like <paramref name="stored"/> that name an object (file, key, path, image) that does not exist.</summary>
    protected abstract StorageSettings MissingObject(StorageSettings stored);

    /// <summary>What the not-found message must name (the missing file, key, path or image).</summary>
    protected abstract string MissingObjectName(StorageSettings missing);

    /// <summary>
    /// The error id of a missing object: <see cref="ErrorIds.StorageNotFound"/>; Local storage keeps its documented
    /// <see cref="ErrorIds.StorageFetchFailed"/> for a script file that was deleted.
    /// </summary>
    protected virtual string MissingObjectErrorId => ErrorIds.StorageNotFound;

    /// <summary>The secrets the storage's settings name (tokens, credentials); none by default.</summary>
    protected virtual ISecretResolver Secrets => new FixedSecrets();

    /// <summary>
    /// Whether an older version stays readable after a newer one is stored (git history, object versions, image
    /// digests); when not, a pinned fetch of it is <see cref="ErrorIds.PinnedVersionUnavailable"/>.
    /// </summary>
    protected virtual bool KeepsOlderVersions => true;

    /// <summary>A folder of this test's own, removed afterwards.</summary>
    protected string Folder { get; } = Path.Combine(Path.GetTempPath(), "flowstore-contract", Guid.NewGuid().ToString("N"));

    /// <summary>Cancels a test that hangs.</summary>
    protected CancellationToken Ct => _timeout.Token;

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));

    /// <summary>Something to dispose when the test ends (a proxy, a server-side fault).</summary>
    protected T Cleanup<T>(T disposable) where T : IAsyncDisposable
    {
        _cleanup.Add(disposable);
        return disposable;
    }

    public virtual Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        StorageTypes.Register(Provider.Type, Provider.SettingsType);
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_cleanup))
        {
            await disposable.DisposeAsync();
        }
        _timeout.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // ---------------------------------------------------------------- the flow and how it is stored

    /// <summary>A flow script; <paramref name="version"/> changes only a task's code, never the structure.</summary>
    protected static string Script(string version) => $$"""
        using Flowstore;

        var flow = new Flow("contract");
        var data = flow.Task("get_data", () => new[] { 1, 2, 3 });
        flow.Task("print_data", (int[] values) => Console.WriteLine("{{version}} " + string.Join(", ", values)), data);
        """;

    /// <summary>Stand-in bytes of the compiled flow of <see cref="Script"/> (providers store them as they are).</summary>
    protected static byte[] Compiled(string version) => Encoding.UTF8.GetBytes("MZ compiled flow " + version);

    /// <summary>Writes the script of <paramref name="version"/> to a local file (the same path each time).</summary>
    protected string WriteScript(string version, string name = "flows/contract.cs")
    {
        var path = Path.Combine(Folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, Script(version));
        return path;
    }

    /// <summary>What the engine gives a provider at registration; the compiled flow only in frozen mode.</summary>
    protected StorageRegistrationContext RegistrationContext(string scriptPath, string version, ISecretResolver? secrets = null)
    {
        var source = File.ReadAllText(scriptPath);
        return new(scriptPath, source, FlowStructure.Sha256Hex(Encoding.UTF8.GetBytes(source)), "contract", "contract", secrets ?? Secrets, _ => { })
        {
            CompiledFlow = Mode == StorageMode.Frozen ? Compiled(version) : null,
        };
    }

    /// <summary>What the engine gives a provider to publish; the compiled flow only in frozen mode.</summary>
    protected StoragePublishContext PublishContext(string scriptPath, string version, ISecretResolver? secrets = null)
    {
        var source = File.ReadAllText(scriptPath);
        return new(scriptPath, source, FlowStructure.Sha256Hex(Encoding.UTF8.GetBytes(source)), "contract", "contract", secrets ?? Secrets, _ => { })
        {
            CompiledFlow = Mode == StorageMode.Frozen ? Compiled(version) : null,
        };
    }

    /// <summary>
    /// Prepares a registration as the engine does (resolve, then prepare); returns the settings to record and the
    /// stored script the provider hands back for the engine's check, if any.
    /// </summary>
    protected async Task<PreparedStorage> RegisterAsync(StorageSettings storage, string scriptPath, string version, ISecretResolver? secrets = null)
    {
        var context = RegistrationContext(scriptPath, version, secrets);
        var resolved = Provider.Resolve(storage, context);
        Assert.Equal(Mode == StorageMode.Frozen, Provider.NeedsCompiledFlow(resolved));
        return await Provider.PrepareRegistrationAsync(resolved, context, Ct);
    }

    /// <summary>
    /// Puts version <paramref name="version"/> of the flow into <paramref name="storage"/> as a user would: a script is
    /// published on its own; a compiled flow is stored by registration. Returns the settings that point at it.
    /// </summary>
    protected virtual async Task<StorageSettings> StoreAsync(StorageSettings storage, string version, ISecretResolver? secrets = null)
    {
        var path = WriteScript(version);
        return Mode == StorageMode.Script
            ? (await Provider.PublishAsync(storage, PublishContext(path, version, secrets), Ct)).Storage
            : (await RegisterAsync(storage, path, version, secrets)).Settings;
    }

    protected Task<FetchedFlowSource> FetchAsync(StorageSettings storage, string? pinned = null, ISecretResolver? secrets = null)
        => Provider.FetchAsync(storage, pinned, secrets ?? Secrets, Ct);

    /// <summary>Asserts that <paramref name="fetched"/> is version <paramref name="version"/> of the flow, in <see cref="Mode"/>.</summary>
    protected void AssertHolds(FetchedFlowSource fetched, string version)
    {
        if (Mode == StorageMode.Script)
        {
            Assert.Equal(Script(version), fetched.ScriptText);
            Assert.Null(fetched.AssemblyBytes);
            Assert.Equal(FlowStructure.Sha256Hex(Encoding.UTF8.GetBytes(Script(version))), fetched.Sha256);
        }
        else
        {
            Assert.Null(fetched.ScriptText);
            Assert.Equal(Compiled(version), fetched.AssemblyBytes);
            Assert.Equal(FlowStructure.Sha256Hex(Compiled(version)), fetched.Sha256);
        }
        Assert.False(string.IsNullOrEmpty(fetched.StorageVersion));
        Assert.False(string.IsNullOrEmpty(fetched.Origin));
    }

    // ---------------------------------------------------------------- the contract

    [Fact]
    public async Task What_is_stored_is_fetched_with_its_hash_and_version()
    {
        var stored = await StoreAsync(await NewStorageAsync(), "v1");

        var fetched = await FetchAsync(stored);
        var again = await FetchAsync(stored);

        AssertHolds(fetched, "v1");
        Assert.Equal(fetched.StorageVersion, again.StorageVersion);
        Assert.Equal(stored.Type, Provider.Type);
        Assert.IsType(Provider.SettingsType, stored);
    }

    [Fact]
    public async Task Registration_hands_over_the_stored_script_for_the_check_and_never_a_compiled_flow()
    {
        var storage = await NewStorageAsync();
        var stored = await StoreAsync(storage, "v1");
        var local = WriteScript("v2-local", "local/contract.cs");

        // A script is registered with what publishing returned; a frozen flow with the user's settings again.
        var prepared = await RegisterAsync(Mode == StorageMode.Script ? stored : storage, local, "v2-local");

        if (Mode == StorageMode.Script)
        {
            // Runs use the stored script, so that is what registration hands back for the check against the flow.
            Assert.Equal(Script("v1"), prepared.Stored?.Text);
            Assert.False(string.IsNullOrEmpty(prepared.Stored!.Origin));
            AssertHolds(await FetchAsync(prepared.Settings), "v1");
        }
        else
        {
            // A frozen storage keeps the registered flow's compiled code: no stored script to check.
            Assert.Null(prepared.Stored);
            AssertHolds(await FetchAsync(prepared.Settings), "v2-local");
        }
    }

    [Fact]
    public async Task Storing_an_unchanged_flow_again_keeps_the_version()
    {
        var storage = await NewStorageAsync();
        var first = await FetchAsync(await StoreAsync(storage, "v1"));

        var second = await FetchAsync(await StoreAsync(storage, "v1"));

        Assert.Equal(first.StorageVersion, second.StorageVersion);
        AssertHolds(second, "v1");
    }

    [Fact]
    public async Task A_pinned_fetch_reads_the_version_it_names()
    {
        var storage = await NewStorageAsync();
        var first = await FetchAsync(await StoreAsync(storage, "v1"));
        var current = await StoreAsync(storage, "v2");

        var latest = await FetchAsync(current);
        var pinnedToLatest = await FetchAsync(current, latest.StorageVersion);

        AssertHolds(latest, "v2");
        Assert.NotEqual(first.StorageVersion, latest.StorageVersion);
        AssertHolds(pinnedToLatest, "v2");
        Assert.Equal(latest.StorageVersion, pinnedToLatest.StorageVersion);
        if (KeepsOlderVersions)
        {
            var pinned = await FetchAsync(current, first.StorageVersion);
            AssertHolds(pinned, "v1");
            Assert.Equal(first.StorageVersion, pinned.StorageVersion);
        }
        else
        {
            var gone = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(current, first.StorageVersion));
            Assert.Equal(ErrorIds.PinnedVersionUnavailable, gone.ErrorId);
        }
    }

    [Fact]
    public async Task A_missing_object_is_StorageNotFound_naming_it()
    {
        var stored = await StoreAsync(await NewStorageAsync(), "v1");
        var missing = MissingObject(stored);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(missing));

        Assert.Equal(MissingObjectErrorId, e.ErrorId);
        Assert.Equal(FlowErrorKind.ObjectNotFound, e.Kind);
        Assert.Contains(MissingObjectName(missing), e.Message, StringComparison.Ordinal);
    }
}
