using System.Text;

namespace Flowstore;

/// <summary>
/// Registration, publishing and runs of an object storage (S3, GCS, ...), the same for every store: a script at a
/// key is checked at registration and fetched by every run; a local script (or, frozen, the compiled flow) is
/// uploaded at registration, to the key or to a generated <c>&lt;flow-slug&gt;/&lt;UTC timestamp&gt;</c> key, and only
/// when it changed; publishing uploads the script on its own; a pinned run fetches the recorded version. A
/// store adds its settings type (an <see cref="ObjectStorageSettings"/>) and the calls of <see cref="IObjectStore"/>.
/// </summary>
/// <typeparam name="TSettings">The store's settings type.</typeparam>
public abstract class ObjectStorageProvider<TSettings> : IStorageProvider
    where TSettings : ObjectStorageSettings
{
    private readonly TimeProvider _time;

    protected ObjectStorageProvider(TimeProvider time) => _time = time;

    public abstract string Type { get; }

    public Type SettingsType => typeof(TSettings);

    /// <summary>How messages name the store, e.g. "S3", "GCS".</summary>
    protected abstract string DisplayName { get; }

    /// <summary>The generated key of a compiled flow ends with this (the script's has no suffix).</summary>
    protected virtual string CompiledFlowSuffix => ".dll";

    /// <summary>Opens the store the settings name, resolving the credentials secret (if any) now.</summary>
    protected abstract Task<IObjectStore> OpenAsync(TSettings settings, ISecretResolver secrets, Action<string> log, CancellationToken cancellationToken);

    /// <summary>The clock of generated keys.</summary>
    protected TimeProvider Time => _time;

    // ---------------------------------------------------------------- registration

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var typed = (TSettings)settings;
        typed.Validate();
        ObjectStorageSettings storage = typed;
        if (!storage.StoredAsScript && storage.LocalScriptPath is not null)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"{DisplayName} storage of flow '{context.Flow}' names the local script '{storage.LocalScriptPath}' but keeps the compiled flow: " +
                "make it script storage, or leave the local script out to upload the compiled flow.")
            { Target = storage.LocalScriptPath, Hint = FlowHint.StoreAsScript() };
        }
        if (storage.StoredAsScript && string.IsNullOrEmpty(storage.Key) && storage.LocalScriptPath is null)
        {
            // Script storage with no key: registration uploads the registered file.
            storage = storage with { LocalScriptPath = context.ScriptPath };
        }
        if (!storage.Uploads)
        {
            // A key and no local script: runs fetch what is there; code changes there need no registration.
            return storage with { AutoKeyPrefix = null, UploadedSha256 = null };
        }
        // A key generated at upload: the registration key covers only the prefix.
        storage = string.IsNullOrEmpty(storage.Key) || storage.AutoKeyPrefix is not null
            ? storage with { Key = null, AutoKeyPrefix = context.FlowSlug }
            : storage with { AutoKeyPrefix = null };
        string sha;
        if (!storage.StoredAsScript)
        {
            // Frozen: the compiled flow of the registered script is what gets uploaded.
            sha = context.ScriptSha256;
        }
        else
        {
            // Read here without side effects (Resolve runs under -WhatIf too): the SHA of what will be uploaded
            // belongs to the registration key, so an edited local script is a new version.
            var local = Path.GetFullPath(storage.LocalScriptPath!, Path.GetDirectoryName(context.ScriptPath)!);
            storage = storage with { LocalScriptPath = local };
            sha = string.Equals(local, context.ScriptPath, StringComparison.Ordinal)
                ? context.ScriptSha256
                : FlowStructure.Sha256Hex(ReadLocalScript(local, context.Flow));
        }
        return storage with { UploadedSha256 = ShortSha(sha) };
    }

    public async Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var typed = (TSettings)settings;
        ObjectStorageSettings storage = typed;
        using var store = await OpenAsync(typed, context.Secrets, context.Log, cancellationToken).ConfigureAwait(false);
        if (!storage.Uploads)
        {
            // A key and no local script: the object must be there and declare this flow with this structure.
            var key = storage.Key!;
            var stored = await store.GetAsync(key, null, cancellationToken).ConfigureAwait(false);
            context.Log($"Flow '{context.Flow}': {store.UriOf(key)} exists ({store.VersionNoun} {stored.Version}); runs will fetch it.");
            return new PreparedStorage(typed, new StoredScript(Encoding.UTF8.GetString(stored.Bytes), store.UriOf(key)));
        }

        ObjectUpload upload;
        string what;
        if (storage.StoredAsScript)
        {
            var local = storage.LocalScriptPath!;
            var bytes = string.Equals(local, context.ScriptPath, StringComparison.Ordinal)
                ? Encoding.UTF8.GetBytes(context.ScriptSource)
                : ReadLocalScript(local, context.Flow);
            // Another file than the registered one was checked by the engine before this upload (ScriptToStore).
            var sha = FlowStructure.Sha256Hex(bytes);
            storage = storage with { UploadedSha256 = ShortSha(sha) };
            upload = new ObjectUpload(bytes, IsScript: true, sha);
            what = $"'{local}'";
        }
        else
        {
            upload = new ObjectUpload(context.RequireCompiledFlow(), IsScript: false, context.ScriptSha256);
            what = $"the compiled flow '{context.Flow}'";
        }

        var target = storage.AutoKeyPrefix is not null
            ? await FreeKeyAsync(store, storage.AutoKeyPrefix, storage.StoredAsScript ? "" : CompiledFlowSuffix, cancellationToken).ConfigureAwait(false)
            : storage.Key!;
        var version = await UploadAsync(store, target, upload, what, context.Progress, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': uploaded {what} to {store.UriOf(target)} ({store.VersionNoun} {version}).");
        return new PreparedStorage(storage with { Key = target });
    }

    /// <summary>
    /// Another local file than the registered one, to be uploaded as the flow's script: the engine checks that it
    /// declares the same flow before it goes up.
    /// </summary>
    public StoredScript? ScriptToStore(StorageSettings settings, StorageRegistrationContext context)
    {
        var storage = (TSettings)settings;
        return storage is { Uploads: true, StoredAsScript: true, LocalScriptPath: { } local } && !string.Equals(local, context.ScriptPath, StringComparison.Ordinal)
            ? new StoredScript(Encoding.UTF8.GetString(ReadLocalScript(local, context.Flow)), local)
            : null;
    }

    // ---------------------------------------------------------------- publishing

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var typed = (TSettings)settings;
        typed.Validate();
        ObjectStorageSettings storage = typed;
        if (!storage.StoredAsScript)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Publishing uploads scripts, but this {DisplayName} storage keeps the compiled flow (registration uploads the compiled flow of " +
                $"'{context.ScriptPath}'). Make it script storage to publish the script, or register without publishing.")
            { Target = context.ScriptPath, Hint = FlowHint.StoreAsScript() };
        }
        if (storage.LocalScriptPath is not null
            && !string.Equals(Path.GetFullPath(storage.LocalScriptPath, Path.GetDirectoryName(context.ScriptPath)!), context.ScriptPath, StringComparison.Ordinal))
        {
            context.Warn($"Publishing '{context.ScriptPath}'; the storage's local script '{storage.LocalScriptPath}' is not uploaded.");
        }
        using var store = await OpenAsync(typed, context.Secrets, context.Log, cancellationToken).ConfigureAwait(false);
        var key = string.IsNullOrEmpty(storage.Key)
            ? await FreeKeyAsync(store, context.FlowSlug, "", cancellationToken).ConfigureAwait(false)
            : storage.Key;
        var version = await UploadAsync(store, key, new ObjectUpload(Encoding.UTF8.GetBytes(context.ScriptSource), IsScript: true, context.ScriptSha256),
            $"'{context.ScriptPath}'", context.Progress, cancellationToken).ConfigureAwait(false);
        var location = store.UriOf(key);
        context.Log($"Published '{context.ScriptPath}' to {location} ({store.VersionNoun} {version}).");
        // The published object is now the script runs fetch: registration checks it instead of uploading again.
        var published = storage with { Key = key, LocalScriptPath = null, AutoKeyPrefix = null, UploadedSha256 = null };
        return new PublishedFlowSource(published, version, location);
    }

    // ---------------------------------------------------------------- runs

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var storage = (TSettings)settings;
        storage.Validate();
        if (string.IsNullOrEmpty(storage.Key))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData,
                $"{DisplayName} storage {storage} names no object key; register the flow again.") { Target = storage.Bucket, Hint = FlowHint.RegisterFlow(null, null) };
        }
        using var store = await OpenAsync(storage, secrets, _ => { }, cancellationToken).ConfigureAwait(false);
        var stored = await store.GetAsync(storage.Key, pinnedVersion, cancellationToken).ConfigureAwait(false);
        var sha = FlowStructure.Sha256Hex(stored.Bytes);
        var origin = store.UriOf(storage.Key);
        return storage.StoredAsScript
            ? new FetchedFlowSource(Encoding.UTF8.GetString(stored.Bytes), null, sha, stored.Version, origin)
            : new FetchedFlowSource(null, stored.Bytes, sha, stored.Version, origin);
    }

    // ---------------------------------------------------------------- shared steps

    /// <summary>
    /// The first generated key no object has yet (<c>-2</c>, <c>-3</c>, ... when two uploads fall in one second), so
    /// an upload never replaces the object of another registration.
    /// </summary>
    private Task<string> FreeKeyAsync(IObjectStore store, string prefix, string suffix, CancellationToken cancellationToken)
        => GeneratedKeys.FirstFreeAsync(prefix, _time.GetUtcNow(), suffix, store.ExistsAsync, cancellationToken);

    /// <summary>Uploads with progress: 0, the bytes sent as the store reports them, and 100 with the stored version.</summary>
    private static async Task<string> UploadAsync(IObjectStore store, string key, ObjectUpload upload, string what,
        IProgress<StorageProgress>? progress, CancellationToken cancellationToken)
    {
        var activity = $"Uploading {what} to {store.UriOf(key)}";
        var total = upload.Body.Length;
        progress?.Report(new StorageProgress(activity, $"0 of {Size(total)}", 0));
        // A store's client may raise its last byte count on another thread after the put returned: once the
        // upload is done, such late reports are dropped, so 100 % stays the last word.
        var gate = new Lock();
        var done = false;
        if (progress is not null)
        {
            upload = upload with
            {
                Sent = sent =>
                {
                    lock (gate)
                    {
                        if (!done)
                        {
                            progress.Report(new StorageProgress(activity, $"{Size(sent)} of {Size(total)}",
                                total == 0 ? 99 : (int)Math.Min(99, sent * 100 / total)));
                        }
                    }
                },
            };
        }
        var version = await store.PutAsync(key, upload, cancellationToken).ConfigureAwait(false);
        lock (gate)
        {
            done = true;
            progress?.Report(new StorageProgress(activity, $"{Size(total)} uploaded ({store.VersionNoun} {version})", 100));
        }
        return version;
    }

    private byte[] ReadLocalScript(string path, string flow)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FlowstoreException(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound,
                $"The local script '{path}' that {DisplayName} storage of flow '{flow}' uploads does not exist.", e)
            { Target = path, Hint = FlowHint.StorageSetting(Type, "LocalScriptPath") };
        }
    }

    private static string ShortSha(string sha) => sha[..16];

    /// <summary>A size for progress messages: 512 B, 1.5 KB, 2.3 MB.</summary>
    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KB",
        _ => $"{bytes / (1024.0 * 1024):0.#} MB",
    };
}
