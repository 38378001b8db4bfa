namespace Flowstore;

/// <summary>
/// What a provider gets from the engine for one flow: plain data (the local script, the flow, the compiled flow when
/// the storage stores it) and where to report. Providers return data and never call back into the engine.
/// </summary>
/// <param name="ScriptPath">Absolute path of the local script.</param>
/// <param name="ScriptSource">The local script's text.</param>
/// <param name="ScriptSha256">SHA-256 of the local script.</param>
/// <param name="Flow">The flow's name.</param>
/// <param name="FlowSlug">
/// The slug generated keys, file and image names start from, in ASCII (<see cref="FlowNames.ToAsciiSlug"/>): the
/// flow's slug, or, when several flows of one file share the storage instance (stored once for all of them), the slug
/// of the file's name.
/// </param>
/// <param name="Secrets">Resolves secret names at the moment of use.</param>
/// <param name="Log">Verbose messages for the user.</param>
public abstract record StorageContext(
    string ScriptPath,
    string ScriptSource,
    string ScriptSha256,
    string Flow,
    string FlowSlug,
    ISecretResolver Secrets,
    Action<string> Log)
{
    /// <summary>
    /// The compiled flow, filled in by the engine when the storage stores it (see
    /// <see cref="IStorageProvider.NeedsCompiledFlow"/>); null otherwise.
    /// </summary>
    public byte[]? CompiledFlow { get; init; }

    /// <summary>Progress of uploads, builds and pushes; may be null.</summary>
    public IProgress<StorageProgress>? Progress { get; init; }

    /// <summary>Where warnings go (e.g. "the committed file differs from the local one"); defaults to <see cref="Log"/>.</summary>
    public Action<string>? OnWarning { get; init; }

    /// <summary>Says something the user should see even without verbose output.</summary>
    public void Warn(string message) => (OnWarning ?? Log)(message);

    /// <summary>The compiled flow; a provider asks for it only when <see cref="IStorageProvider.NeedsCompiledFlow"/> said so.</summary>
    public byte[] RequireCompiledFlow()
        => CompiledFlow ?? throw new InvalidOperationException($"The compiled flow '{Flow}' was not given to the storage provider.");
}

/// <summary>What a provider gets when a flow is registered with its storage.</summary>
public sealed record StorageRegistrationContext(
    string ScriptPath,
    string ScriptSource,
    string ScriptSha256,
    string Flow,
    string FlowSlug,
    ISecretResolver Secrets,
    Action<string> Log)
    : StorageContext(ScriptPath, ScriptSource, ScriptSha256, Flow, FlowSlug, Secrets, Log);

/// <summary>What a provider gets when a script is published on its own, before registration.</summary>
public sealed record StoragePublishContext(
    string ScriptPath,
    string ScriptSource,
    string ScriptSha256,
    string Flow,
    string FlowSlug,
    ISecretResolver Secrets,
    Action<string> Log)
    : StorageContext(ScriptPath, ScriptSource, ScriptSha256, Flow, FlowSlug, Secrets, Log)
{
    /// <summary>Commit message (Git hosts, Git); a default naming the file is used when null.</summary>
    public string? Message { get; init; }

    /// <summary>Branch to commit to (Git hosts, Git); the storage's ref, else the default branch, when null.</summary>
    public string? Branch { get; init; }
}

/// <summary>A flow script held by a storage (or about to be stored), for the engine to check against the flow being registered.</summary>
/// <param name="Text">The script's text.</param>
/// <param name="Origin">Where it is, for messages (a path, URL or image path; never a secret).</param>
public sealed record StoredScript(string Text, string Origin);

/// <summary>
/// What <see cref="IStorageProvider.PrepareRegistrationAsync"/> returns: the settings to record and, when runs will
/// use a script the storage holds rather than the registered file, that script. The engine checks it: it must
/// declare the flow with the same structure (else <see cref="ErrorIds.StoredScriptMismatch"/> with the diff); a
/// text that differs from the local file only in code is a warning (runs use the stored one).
/// </summary>
public sealed record PreparedStorage(StorageSettings Settings, StoredScript? Stored = null);

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
    /// settings to record with the stored script runs will use (when it is not the registered file).
    /// </summary>
    Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken);

    /// <summary>
    /// A local script other than the registered file that <see cref="PrepareRegistrationAsync"/> is about to store
    /// (upload, or build into an image), read without writing anything; the engine checks it before anything is
    /// stored, so that a script that does not declare the flow is never written. Null when there is none.
    /// </summary>
    StoredScript? ScriptToStore(StorageSettings settings, StorageRegistrationContext context) => null;

    /// <summary>
    /// True when registering (or publishing) with these settings (as <see cref="Resolve"/> returned them) stores
    /// the compiled flow: the engine then compiles the script and hands it over in <see cref="StorageContext.CompiledFlow"/>.
    /// </summary>
    bool NeedsCompiledFlow(StorageSettings settings) => !settings.IsScript;

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
