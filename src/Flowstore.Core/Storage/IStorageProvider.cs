namespace Flowstore;

/// <summary>What a provider gets when a flow is registered with its storage.</summary>
/// <param name="ScriptPath">Absolute path of the local script being registered.</param>
/// <param name="ScriptSource">The local script's text.</param>
/// <param name="ScriptSha256">SHA-256 of the local script.</param>
/// <param name="Flow">The flow's name.</param>
/// <param name="FlowSlug">The flow's slug (for generated keys and file names).</param>
/// <param name="CompiledAssembly">Gets the compiled flow assembly (for frozen storage); compiles if needed.</param>
/// <param name="Secrets">Resolves secret names at the moment of use.</param>
/// <param name="Log">Verbose messages for the user.</param>
public sealed record StorageRegistrationContext(
    string ScriptPath,
    string ScriptSource,
    string ScriptSha256,
    string Flow,
    string FlowSlug,
    Func<CancellationToken, Task<byte[]>> CompiledAssembly,
    ISecretResolver Secrets,
    Action<string> Log);

/// <summary>A flow's source as fetched from storage: script text, or a compiled assembly for frozen storage.</summary>
/// <param name="ScriptText">The script (script storage), else null.</param>
/// <param name="AssemblyBytes">The compiled flow (frozen storage), else null.</param>
/// <param name="Sha256">SHA-256 of the script text or of the assembly.</param>
/// <param name="StorageVersion">The storage's own version: commit SHA, ETag, generation, digest, write time and size.</param>
/// <param name="Origin">Where it came from, for messages (e.g. a path or URL; never a secret).</param>
public sealed record FetchedFlowSource(string? ScriptText, byte[]? AssemblyBytes, string Sha256, string StorageVersion, string Origin);

/// <summary>
/// Keeps and fetches flow sources for one storage type. Providers resolve secrets through the context's
/// resolver when they need them and never put a secret value in an exception or a message.
/// </summary>
public interface IStorageProvider
{
    /// <summary>The storage type this provider serves (matches <see cref="StorageSettings.Type"/>).</summary>
    string Type { get; }

    /// <summary>
    /// Completes the settings for a registration without side effects (absolute paths, derived names), so the
    /// registration key can be computed, also under -WhatIf and for an unchanged flow, without any upload.
    /// </summary>
    StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context);

    /// <summary>
    /// Called when a flow version is about to be recorded, with the settings <see cref="Resolve"/> returned:
    /// uploads or copies what the storage must hold, checks that the stored source exists, and returns the
    /// settings to record.
    /// </summary>
    Task<StorageSettings> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken);

    /// <summary>Fetches the current source, or the source at <paramref name="pinnedVersion"/> when given.</summary>
    Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken);
}
