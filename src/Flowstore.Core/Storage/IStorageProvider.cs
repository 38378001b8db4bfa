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
    Action<string> Log)
{
    /// <summary>Where warnings go (e.g. "the committed file differs from the local one"); defaults to <see cref="Log"/>.</summary>
    public Action<string>? OnWarning { get; init; }

    /// <summary>Progress of uploads, builds and pushes; may be null.</summary>
    public IProgress<StorageProgress>? Progress { get; init; }

    /// <summary>Says something the user should see even without -Verbose.</summary>
    public void Warn(string message) => (OnWarning ?? Log)(message);

    /// <summary>
    /// Checks a stored script (arguments: its text, where it is for messages) against the flow being registered:
    /// it must declare the flow with the same structure (else <see cref="ErrorIds.StoredScriptMismatch"/> with the
    /// diff); a text that differs from the local file only in code is a warning (runs use the stored one).
    /// Providers call it from <see cref="IStorageProvider.PrepareRegistrationAsync"/>. Set by the engine.
    /// </summary>
    public Func<string, string, CancellationToken, Task>? CheckStoredScript { get; init; }
}

/// <summary>What a provider gets when a script is published on its own (Publish-FlowScript).</summary>
/// <param name="ScriptPath">Absolute path of the local script.</param>
/// <param name="ScriptSource">The local script's text.</param>
/// <param name="ScriptSha256">SHA-256 of the local script.</param>
/// <param name="Flow">The flow's name (the script's only flow, or the one selected).</param>
/// <param name="FlowSlug">The flow's slug (for generated keys, image names).</param>
/// <param name="CompiledAssembly">Gets the compiled flow (frozen storages that publish the compiled flow).</param>
/// <param name="Secrets">Resolves secret names at the moment of use.</param>
/// <param name="Log">Verbose messages for the user.</param>
public sealed record StoragePublishContext(
    string ScriptPath,
    string ScriptSource,
    string ScriptSha256,
    string Flow,
    string FlowSlug,
    Func<CancellationToken, Task<byte[]>> CompiledAssembly,
    ISecretResolver Secrets,
    Action<string> Log)
{
    /// <summary>Commit message (Git hosts, Git); a default naming the file is used when null.</summary>
    public string? Message { get; init; }

    /// <summary>Branch to commit to (Git hosts, Git); the storage's ref, else the default branch, when null.</summary>
    public string? Branch { get; init; }

    /// <summary>Progress of uploads, builds and pushes; may be null.</summary>
    public IProgress<StorageProgress>? Progress { get; init; }

    /// <summary>Where warnings go; defaults to <see cref="Log"/>.</summary>
    public Action<string>? OnWarning { get; init; }

    public void Warn(string message) => (OnWarning ?? Log)(message);
}

/// <summary>One progress report of a storage operation.</summary>
/// <param name="Activity">What is happening, e.g. "Uploading flows/etl.cs to s3://bucket/etl/20261128T120000Z".</param>
/// <param name="Status">Detail, e.g. "512 KB of 1 MB" or a build step.</param>
/// <param name="PercentComplete">0–100, or -1 when unknown.</param>
public sealed record StorageProgress(string Activity, string Status, int PercentComplete = -1);

/// <summary>The result of publishing a script: the storage that now holds it (key, image, ... filled in) and its version.</summary>
/// <param name="Storage">Settings that point at what was published; pass them to Register-Flow.</param>
/// <param name="StorageVersion">The storage's own version of what was published: commit SHA, ETag/VersionId, generation, digest.</param>
/// <param name="Location">Where it went, for messages (never a secret): a URL, s3://bucket/key, an image reference.</param>
public sealed record PublishedFlowSource(StorageSettings Storage, string StorageVersion, string Location);

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

    /// <summary>The settings class of <see cref="Type"/> (registered with <see cref="StorageTypes"/> with the provider).</summary>
    Type SettingsType { get; }

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

    /// <summary>
    /// Puts the script (or, for a frozen storage, the compiled flow) into the storage on its own, as a CI step
    /// before registration: upload, commit, or build and push. Returns settings pointing at what was published.
    /// </summary>
    Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
        => throw new FlowstoreException(ErrorIds.StoragePublishNotSupported, FlowErrorKind.InvalidOperation,
            $"{settings.Type} storage cannot publish scripts; {settings.Type} storage reads '{settings}' where it is.") { Target = context.ScriptPath };
}
