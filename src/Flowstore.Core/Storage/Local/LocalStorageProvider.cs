using System.Globalization;

[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.LocalStorageProvider))]

namespace Flowstore;

/// <summary>Local storage: reads the script file at run time, or copies and reads back the compiled flow.</summary>
public sealed class LocalStorageProvider : IStorageProvider
{
    private readonly string _defaultDirectory;

    /// <param name="defaultDirectory">Where frozen flows go when the settings name no directory.</param>
    public LocalStorageProvider(string defaultDirectory) => _defaultDirectory = defaultDirectory;

    /// <summary>Frozen flows go to $FLOWSTORE_HOME/flows by default.</summary>
    public LocalStorageProvider(StorageEnvironment environment) : this(System.IO.Path.Combine(environment.Home, "flows"))
    {
    }

    public string Type => "Local";

    public Type SettingsType => typeof(LocalStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var local = (LocalStorage)settings;
        var baseDir = System.IO.Path.GetDirectoryName(context.ScriptPath)!;
        return local.StoredAsScript
            ? local with { Path = local.Path is null ? context.ScriptPath : LocalPaths.Resolve(local.Path, baseDir) }
            // Frozen copies are named by the script's content: the same script maps to the same file.
            : Frozen(local, baseDir, context.FlowSlug, context.ScriptSha256);
    }

    public async Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var local = (LocalStorage)settings;
        if (local.StoredAsScript)
        {
            LocalPaths.RequireUsableHere(local.Path, $"The script file of flow '{context.Flow}' (Local storage)");
            if (!File.Exists(local.Path))
            {
                throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.ObjectNotFound,
                    $"Local storage of flow '{context.Flow}' points at '{local.Path}', which does not exist.") { Target = local.Path };
            }
            if (string.Equals(local.Path, context.ScriptPath, StringComparison.Ordinal))
            {
                return new PreparedStorage(local);
            }
            var stored = await File.ReadAllTextAsync(local.Path, cancellationToken).ConfigureAwait(false);
            return new PreparedStorage(local, new StoredScript(stored, $"'{local.Path}'"));
        }

        LocalPaths.RequireUsableHere(local.Directory, $"The folder for the compiled flow '{context.Flow}' (Local frozen storage)", setting: nameof(LocalStorage.Directory));
        var target = local.ArtifactPath!;
        if (!File.Exists(target))
        {
            await WriteAtomicallyAsync(target, context.RequireCompiledFlow(), cancellationToken).ConfigureAwait(false);
        }
        context.Log($"Flow '{context.Flow}': compiled flow stored at '{target}'.");
        return new PreparedStorage(local);
    }

    /// <summary>
    /// Script storage: copies the script to the storage's <see cref="LocalStorage.Path"/> (a shared folder, say).
    /// Frozen storage: stores the compiled flow in the storage's directory, as registration does.
    /// </summary>
    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var local = (LocalStorage)settings;
        var baseDir = System.IO.Path.GetDirectoryName(context.ScriptPath)!;
        if (local.StoredAsScript)
        {
            var target = local.Path is null
                ? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                    $"Local script storage needs a path to publish '{context.ScriptPath}' to: the file the script is copied to.")
                    { Target = context.ScriptPath, Hint = FlowHint.StorageSetting("Local", nameof(LocalStorage.Path)) }
                : LocalPaths.Resolve(local.Path, baseDir);
            LocalPaths.RequireUsableHere(target, $"The file to publish '{context.ScriptPath}' to (Local storage)");
            local = local with { Path = target };
            if (!string.Equals(target, context.ScriptPath, StringComparison.Ordinal))
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(context.ScriptSource);
                var unchanged = File.Exists(target) && FlowStructure.Sha256Hex(await File.ReadAllBytesAsync(target, cancellationToken).ConfigureAwait(false)) == FlowStructure.Sha256Hex(bytes);
                if (!unchanged)
                {
                    await WriteAtomicallyAsync(target, bytes, cancellationToken).ConfigureAwait(false);
                    context.Log($"Copied '{context.ScriptPath}' to '{target}'.");
                }
            }
            var info = new FileInfo(target);
            return new PublishedFlowSource(local, $"{info.LastWriteTimeUtc.ToString("O", CultureInfo.InvariantCulture)}/{info.Length}", target);
        }

        local = Frozen(local, baseDir, context.FlowSlug, context.ScriptSha256);
        LocalPaths.RequireUsableHere(local.Directory, $"The folder for the compiled flow '{context.Flow}' (Local frozen storage)", setting: nameof(LocalStorage.Directory));
        var artifact = local.ArtifactPath!;
        var assembly = context.RequireCompiledFlow();
        if (!File.Exists(artifact))
        {
            await WriteAtomicallyAsync(artifact, assembly, cancellationToken).ConfigureAwait(false);
        }
        return new PublishedFlowSource(local, FlowStructure.Sha256Hex(await File.ReadAllBytesAsync(artifact, cancellationToken).ConfigureAwait(false)), artifact);
    }

    /// <summary>Frozen settings completed: the absolute directory and the copy named by the script's content.</summary>
    private LocalStorage Frozen(LocalStorage local, string baseDir, string flowSlug, string scriptSha256)
    {
        var directory = LocalPaths.Resolve(local.Directory ?? _defaultDirectory, baseDir);
        // A folder of another operating system is kept as written; the artifact path is joined in its own syntax.
        var separator = LocalPaths.ForeignSystem(directory) == "Windows" ? "\\" : "/";
        var artifact = LocalPaths.ForeignSystem(directory) is null
            ? System.IO.Path.Combine(directory, flowSlug, scriptSha256[..16] + ".dll")
            : directory.TrimEnd('/', '\\') + separator + flowSlug + separator + scriptSha256[..16] + ".dll";
        return local with { Directory = directory, ArtifactPath = artifact };
    }

    // Write to a temporary name, then move: a crash never leaves a half-written file behind.
    private static async Task WriteAtomicallyAsync(string target, byte[] bytes, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        var temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var local = (LocalStorage)settings;
        if (local.StoredAsScript)
        {
            var path = local.Path;
            var bytes = await ReadStoredAsync(path, "Local script storage has no path.", "The registered flow script (Local storage)", nameof(LocalStorage.Path),
                $"The flow script '{path}' does not exist (Local storage).", cancellationToken).ConfigureAwait(false);
            var info = new FileInfo(path);
            var version = $"{info.LastWriteTimeUtc.ToString("O", CultureInfo.InvariantCulture)}/{info.Length}";
            if (pinnedVersion is not null && pinnedVersion != version)
            {
                throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                    $"Local script storage keeps only the current file '{path}' (now {version}); version {pinnedVersion} cannot be fetched.") { Target = path };
            }
            var text = System.Text.Encoding.UTF8.GetString(bytes);
            return new FetchedFlowSource(text, null, FlowStructure.Sha256Hex(bytes), version, path);
        }

        var artifact = local.ArtifactPath;
        var assembly = await ReadStoredAsync(artifact, "Local frozen storage has no stored flow; register the flow again.",
            "The registered compiled flow (Local frozen storage)", nameof(LocalStorage.Directory),
            $"The stored flow '{artifact}' is missing (Local frozen storage); register the flow again.", cancellationToken).ConfigureAwait(false);
        var sha = FlowStructure.Sha256Hex(assembly);
        if (pinnedVersion is not null && pinnedVersion != sha)
        {
            // Frozen copies are never overwritten: an earlier registration's copy sits beside the current one.
            var folder = System.IO.Path.GetDirectoryName(artifact)!;
            foreach (var candidate in System.IO.Directory.EnumerateFiles(folder, "*.dll"))
            {
                var bytes = await File.ReadAllBytesAsync(candidate, cancellationToken).ConfigureAwait(false);
                if (FlowStructure.Sha256Hex(bytes) == pinnedVersion)
                {
                    return new FetchedFlowSource(null, bytes, pinnedVersion, pinnedVersion, candidate);
                }
            }
            throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                $"The stored flow with SHA-256 {pinnedVersion[..12]}... is no longer in '{folder}' (Local frozen storage).") { Target = folder };
        }
        return new FetchedFlowSource(null, assembly, sha, sha, artifact);
    }

    /// <summary>
    /// The bytes of the file a run fetches: <see cref="ErrorIds.StorageInvalid"/> (<paramref name="none"/>) when the
    /// settings name none, <see cref="ErrorIds.StorageFetchFailed"/> (<paramref name="missing"/>) when it is gone.
    /// </summary>
    /// <param name="path">The stored file, or null when the settings name none.</param>
    /// <param name="none">The message when there is no path.</param>
    /// <param name="what">The file for the message when its path is of another operating system.</param>
    /// <param name="setting">The setting such a path comes from.</param>
    /// <param name="missing">The message when the file is gone.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    private static async Task<byte[]> ReadStoredAsync([System.Diagnostics.CodeAnalysis.NotNull] string? path, string none, string what, string setting, string missing, CancellationToken cancellationToken)
    {
        if (path is null)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData, none);
        }
        LocalPaths.RequireUsableHere(path, what, setting: setting);
        if (!File.Exists(path))
        {
            throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.ObjectNotFound, missing) { Target = path };
        }
        return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
    }
}
