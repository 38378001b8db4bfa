using Flowstore.Backend.Sqlite;
using Flowstore.Scripting;

namespace Flowstore.Engine;

/// <summary>How to build a <see cref="FlowClient"/>; everything defaults to the embedded setup.</summary>
public sealed class FlowClientOptions
{
    /// <summary>The Flowstore home ($FLOWSTORE_HOME, else ~/.flowstore).</summary>
    public string? Home { get; init; }

    /// <summary>The backend; defaults to the SQLite file in the home folder.</summary>
    public IFlowBackend? Backend { get; init; }

    /// <summary>Secret sources asked after the store and the environment (e.g. a SecretManagement vault).</summary>
    public IReadOnlyList<ISecretSource> SecretSources { get; init; } = Array.Empty<ISecretSource>();
}

/// <summary>
/// The engine API used by the cmdlets, the tests and the server: projects, script loading, registration
/// and runs. It never references PowerShell.
/// </summary>
public sealed partial class FlowClient : IDisposable
{
    // One compiler per home, kept for the life of the process: a pwsh session (or an agent) compiles a
    // script once, and later cmdlet calls find it in memory.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ScriptCompiler> Compilers = new(StringComparer.Ordinal);

    private readonly Dictionary<string, IStorageProvider> _providers = new(StringComparer.OrdinalIgnoreCase);
    private readonly StructureCache _structures;
    private readonly bool _ownsBackend;
    private readonly Lazy<IFlowBackend> _backend;

    public FlowClient(FlowClientOptions? options = null)
    {
        options ??= new FlowClientOptions();
        Home = FlowstoreHome.EnsureDirectory(Path.GetFullPath(options.Home ?? FlowstoreHome.Path));
        _ownsBackend = options.Backend is null;
        // Opened on first use: loading or invoking a script needs no database.
        var given = options.Backend;
        _backend = new Lazy<IFlowBackend>(() => given ?? new SqliteFlowBackend(Path.Combine(Home, SqliteFlowBackend.DefaultFileName)));
        Loader = new FlowScriptLoader(Compilers.GetOrAdd(Home, home => new ScriptCompiler(Path.Combine(home, "cache", "assemblies"), additionalReferences: BuiltInStorage.SettingsAssemblies)));
        _structures = new StructureCache(Path.Combine(Home, "cache", "structure"));
        SecretStore = new SecretStore(() => Backend, Path.Combine(Home, "secret.key"));
        Secrets = new SecretResolver(new ISecretSource[] { SecretStore, new EnvironmentSecretSource() }.Concat(options.SecretSources).ToArray());
        foreach (var provider in BuiltInStorage.Providers(Home))
        {
            AddProvider(provider);
        }
    }

    public string Home { get; }
    public IFlowBackend Backend => _backend.Value;
    public FlowScriptLoader Loader { get; }
    public SecretResolver Secrets { get; }

    /// <summary>The encrypted secret store in the backend.</summary>
    public SecretStore SecretStore { get; }

    /// <summary>Registers a storage provider and its settings type.</summary>
    public void AddProvider(IStorageProvider provider)
    {
        StorageTypes.Register(provider.Type, provider.SettingsType);
        _providers[provider.Type] = provider;
    }

    private IStorageProvider ProviderFor(StorageSettings storage)
        => _providers.TryGetValue(storage.Type, out var p) ? p
            : throw new FlowstoreException(ErrorIds.StorageTypeUnknown, FlowErrorKind.InvalidArgument,
                $"No provider for storage type '{storage.Type}'; available: {string.Join(", ", _providers.Keys.Order())}.");

    // ---------------------------------------------------------------- projects

    public Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken = default)
        => Backend.CreateProjectAsync(name, description, cancellationToken);

    public Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name = null, CancellationToken cancellationToken = default)
        => Backend.GetProjectsAsync(name, cancellationToken);

    /// <summary>Fails with <see cref="ErrorIds.ProjectNotFound"/> unless the project exists (or is created).</summary>
    public async Task<ProjectInfo> EnsureProjectAsync(string project, bool create, CancellationToken cancellationToken = default)
    {
        var found = await Backend.GetProjectsAsync(project, cancellationToken).ConfigureAwait(false);
        if (found.Count > 0)
        {
            return found[0];
        }
        if (!create)
        {
            throw new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                $"Project '{project}' does not exist in {Backend.Description}; create it with New-FlowProject -Name '{project}' or pass -CreateProject.") { Target = project };
        }
        try
        {
            return await Backend.CreateProjectAsync(project, null, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.ProjectExists)
        {
            return (await Backend.GetProjectsAsync(project, cancellationToken).ConfigureAwait(false))[0];
        }
    }

    // ---------------------------------------------------------------- scripts

    /// <summary>Loads a script and describes each (selected) flow without registering anything.</summary>
    public async Task<IReadOnlyList<FlowDescription>> TestScriptAsync(string path, IReadOnlyList<string>? names, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(path);
        var loaded = await Loader.LoadFileAsync(full, cancellationToken).ConfigureAwait(false);
        return loaded.Select(names).Select(f => new FlowDescription
        {
            Name = f.Name,
            Path = full,
            Structure = FlowStructure.FromFlow(f),
            ScriptSha256 = loaded.Compiled.Sha256,
            Storage = f.Storage,
            Labels = f.Labels.ToArray(),
        }).ToArray();
    }

    // ---------------------------------------------------------------- registration

    /// <summary>
    /// Works out what registering the flows of one file would do, writing nothing. An unchanged file
    /// (same SHA-256 as a file seen before) is neither compiled nor run: its structure comes from a cache.
    /// </summary>
    public async Task<IReadOnlyList<RegistrationPlan>> PlanAsync(string path, RegisterOptions options, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        log ??= _ => { };
        var full = Path.GetFullPath(path);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FlowstoreException(ErrorIds.ScriptNotFound, FlowErrorKind.ObjectNotFound, $"Flow script '{full}' does not exist.", e) { Target = full };
        }
        var source = System.Text.Encoding.UTF8.GetString(bytes);
        var sha = FlowStructure.Sha256Hex(source);

        LoadedScript? loaded = null;
        var flows = _structures.TryGet(sha);
        if (flows is null)
        {
            log($"Compiling '{full}'.");
            loaded = await Loader.LoadSourceAsync(source, full, cancellationToken).ConfigureAwait(false);
            flows = loaded.Flows.Select(StructureCache.Describe).ToArray();
            _structures.Put(sha, flows);
        }
        else
        {
            log($"'{full}' is unchanged since it was last compiled (SHA-256 {sha[..12]}); using its cached structure.");
        }

        var selected = LoadedScript.SelectByName(flows, f => f.Name, options.Names, full);
        var plans = new List<RegistrationPlan>();
        foreach (var flow in selected)
        {
            var storage = options.Storage?.Clone()
                ?? (flow.Storage is null ? new LocalStorage(storedAsScript: true) : StorageTypes.Deserialize(flow.Storage));
            var structure = FlowStructure.FromJson(flow.Structure);
            var context = new StorageRegistrationContext(full, source, sha, flow.Name, flow.Slug, Secrets, log)
            {
                OnWarning = options.OnWarning,
                Progress = options.Progress,
            };
            var resolved = ProviderFor(storage).Resolve(storage, context);
            var labels = flow.Labels.Concat(options.Labels).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            var key = RegistrationKey.Compute(options.Project, flow.Name, structure.Hash, resolved.Locator, labels);

            var versions = await Backend.GetFlowsAsync(new FlowQuery { Project = options.Project, Name = flow.Name, IncludeArchived = true }, cancellationToken).ConfigureAwait(false);
            var latest = versions.MaxBy(v => v.Version);
            var unchanged = latest is { Archived: false } && latest.RegistrationKey == key;
            StructureDiff? diff = null;
            string reason;
            if (latest is null)
            {
                reason = "new flow";
            }
            else if (unchanged)
            {
                reason = options.Force ? "forced; metadata unchanged" : "metadata unchanged";
            }
            else
            {
                var parts = new List<string>();
                if (latest.StructureHash != structure.Hash)
                {
                    diff = FlowStructure.Diff(FlowStructure.FromJson(latest.StructureJson), structure);
                    parts.Add("structure changed: " + diff);
                }
                var before = StorageTypes.Deserialize(latest.StorageJson);
                if (before.Locator != resolved.Locator)
                {
                    parts.Add($"storage changed: {before} -> {resolved}");
                }
                if (!latest.Labels.Order(StringComparer.Ordinal).SequenceEqual(labels))
                {
                    parts.Add($"labels changed: [{string.Join(", ", latest.Labels)}] -> [{string.Join(", ", labels)}]");
                }
                if (latest.Archived)
                {
                    parts.Add("was unregistered");
                }
                reason = parts.Count == 0 ? "registration changed" : string.Join("; ", parts);
            }
            var willRegister = !unchanged || options.Force;
            plans.Add(new RegistrationPlan(flow.Name, options.Project, full, willRegister,
                willRegister ? (latest?.Version ?? 0) + 1 : latest!.Version, reason, diff, latest, structure)
            {
                Storage = resolved,
                RegistrationKey = key,
                Labels = labels,
                Description = flow.Description,
                Force = options.Force,
                FlowSlug = flow.Slug,
                ScriptSource = source,
                ScriptSha256 = sha,
            });
        }
        return plans;
    }

    /// <summary>
    /// Carries out a plan: checks a script other than the registered file that the storage is about to store, stores
    /// what the storage needs, checks the script the storage holds, then records the version in one transaction.
    /// </summary>
    public async Task<FlowRegistration> ApplyAsync(RegistrationPlan plan, RegisterOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        if (!plan.WillRegister)
        {
            return Result(plan, plan.Latest!, RegistrationStatus.Skipped, plan.Reason, null);
        }
        log ??= _ => { };
        var warn = options.OnWarning ?? log;
        var provider = ProviderFor(plan.Storage);
        var context = new StorageRegistrationContext(plan.Path, plan.ScriptSource, plan.ScriptSha256, plan.Name, plan.FlowSlug, Secrets, log)
        {
            OnWarning = options.OnWarning,
            Progress = options.Progress,
            CompiledFlow = provider.NeedsCompiledFlow(plan.Storage)
                ? (await Loader.LoadSourceAsync(plan.ScriptSource, plan.Path, cancellationToken).ConfigureAwait(false)).Compiled.AssemblyBytes
                : null,
        };
        if (provider.ScriptToStore(plan.Storage, context) is { } toStore)
        {
            await CheckStoredScriptAsync(plan, toStore, warn, cancellationToken).ConfigureAwait(false);
        }
        var prepared = await provider.PrepareRegistrationAsync(plan.Storage, context, cancellationToken).ConfigureAwait(false);
        if (prepared.Stored is { } stored)
        {
            await CheckStoredScriptAsync(plan, stored, warn, cancellationToken).ConfigureAwait(false);
        }
        var request = new FlowRegistrationRequest
        {
            Project = plan.Project,
            Name = plan.Name,
            StructureJson = plan.Structure.CanonicalJson,
            StructureHash = plan.Structure.Hash,
            RegistrationKey = plan.RegistrationKey,
            StorageType = prepared.Settings.Type,
            StorageJson = prepared.Settings.ToJson(),
            Labels = plan.Labels,
            Description = plan.Description,
            ScriptPath = plan.Path,
            ScriptSha256 = plan.ScriptSha256,
            Force = plan.Force,
        };
        var outcome = await Backend.RegisterFlowAsync(request, cancellationToken).ConfigureAwait(false);
        if (outcome.Status == RegistrationStatus.Skipped)
        {
            // Another registration of the same change won the race.
            return Result(plan, outcome.Flow, RegistrationStatus.Skipped, "metadata unchanged (registered concurrently)", null);
        }
        var diff = outcome.Previous is { } previous && previous.StructureHash != outcome.Flow.StructureHash
            ? FlowStructure.Diff(FlowStructure.FromJson(previous.StructureJson), plan.Structure)
            : plan.Diff;
        return Result(plan, outcome.Flow, RegistrationStatus.Registered, plan.Reason, diff);
    }

    /// <summary>
    /// Checks a script held by a storage against the flow being registered: it must declare the flow with the
    /// same structure (else <see cref="ErrorIds.StoredScriptMismatch"/>, with the diff); differing task code
    /// only is a warning, since runs use the stored script.
    /// </summary>
    private async Task CheckStoredScriptAsync(RegistrationPlan plan, StoredScript script, Action<string> warn, CancellationToken cancellationToken)
    {
        var (flowName, expected, localPath) = (plan.Name, plan.Structure, plan.Path);
        var (stored, origin) = (script.Text, script.Origin);
        if (FlowStructure.Sha256Hex(stored) == plan.ScriptSha256)
        {
            return;
        }
        LoadedScript loaded;
        try
        {
            loaded = await Loader.LoadSourceAsync(stored, origin, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e)
        {
            throw new FlowstoreException(ErrorIds.StoredScriptMismatch, FlowErrorKind.InvalidData,
                $"Flow '{flowName}': the stored script {origin} cannot be loaded, so runs would fail: {e.Message}", e) { Target = origin };
        }
        var flow = loaded.Flows.FirstOrDefault(f => string.Equals(f.Name, flowName, StringComparison.Ordinal))
            ?? throw new FlowstoreException(ErrorIds.StoredScriptMismatch, FlowErrorKind.InvalidData,
                $"The stored script {origin} does not declare flow '{flowName}' (it declares: {string.Join(", ", loaded.Flows.Select(f => f.Name))}); " +
                $"publish '{localPath}' first (Publish-FlowScript).") { Target = origin };
        var structure = FlowStructure.FromFlow(flow);
        if (structure.Hash != expected.Hash)
        {
            var diff = FlowStructure.Diff(structure, expected);
            throw new FlowstoreException(ErrorIds.StoredScriptMismatch, FlowErrorKind.InvalidData,
                $"Flow '{flowName}': the stored script {origin} has a different structure than '{localPath}' ({diff}); " +
                "runs would fail. Publish the local script first (Publish-FlowScript), or register the stored one.") { Target = origin };
        }
        warn($"Flow '{flowName}': the stored script {origin} differs from '{localPath}' (same structure, different code); runs will use the stored script.");
    }

    // ---------------------------------------------------------------- publishing

    /// <summary>
    /// Publishes a script to a storage on its own (a CI step before registration): upload, commit, or build and
    /// push, through the storage's provider. The storage defaults to the one the script's flow sets.
    /// </summary>
    public async Task<FlowPublication> PublishAsync(string path, PublishOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        log ??= _ => { };
        var full = Path.GetFullPath(path);
        var loaded = await Loader.LoadFileAsync(full, cancellationToken).ConfigureAwait(false);
        var flow = SelectOne(loaded, options.Name);
        var storage = options.Storage?.Clone() ?? flow.Storage?.Clone()
            ?? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Flow '{flow.Name}' in '{full}' sets no storage; pass one with -Storage (New-FlowStorage).") { Target = full };
        var provider = ProviderFor(storage);
        var source = System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false));
        var context = new StoragePublishContext(full, source, loaded.Compiled.Sha256, flow.Name, flow.Slug, Secrets, log)
        {
            CompiledFlow = loaded.Compiled.AssemblyBytes,
            Message = options.Message,
            Branch = options.Branch,
            Progress = options.Progress,
            OnWarning = options.OnWarning,
        };
        var published = await provider.PublishAsync(storage, context, cancellationToken).ConfigureAwait(false);
        return new FlowPublication
        {
            Flow = flow.Name,
            Path = full,
            ScriptSha256 = loaded.Compiled.Sha256,
            Storage = published.Storage,
            StorageVersion = published.StorageVersion,
            Location = published.Location,
        };
    }

    /// <summary>The result object for a file or flow that failed.</summary>
    public static FlowRegistration Failure(string path, string project, string? name, Exception error) => new()
    {
        Name = name ?? Path.GetFileNameWithoutExtension(path),
        Project = project,
        Status = RegistrationStatus.Failed,
        Path = path,
        Error = error.Message,
    };

    private static FlowRegistration Result(RegistrationPlan plan, FlowRecord record, RegistrationStatus status, string reason, StructureDiff? diff) => new()
    {
        Name = record.Name,
        Project = record.Project,
        Id = record.Id,
        Version = record.Version,
        Status = status,
        Path = plan.Path,
        StructureHash = record.StructureHash,
        Reason = reason,
        Diff = diff,
        Storage = StorageTypes.Deserialize(record.StorageJson).ToString(),
    };

    // ---------------------------------------------------------------- flows

    public Task<IReadOnlyList<FlowRecord>> GetFlowsAsync(FlowQuery query, CancellationToken cancellationToken = default)
        => Backend.GetFlowsAsync(query, cancellationToken);

    /// <summary>The latest unarchived version of a flow, or a given version; <see cref="ErrorIds.FlowNotFound"/> otherwise.</summary>
    public async Task<FlowRecord> GetFlowAsync(string name, string project, int? version = null, CancellationToken cancellationToken = default)
    {
        var versions = await Backend.GetFlowsAsync(new FlowQuery { Project = project, Name = name, Version = version, IncludeArchived = version is not null }, cancellationToken).ConfigureAwait(false);
        return versions.MaxBy(v => v.Version)
            ?? throw new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound,
                version is null
                    ? $"Flow '{name}' is not registered in project '{project}'; register it with Register-Flow -Path <file> -Project '{project}'."
                    : $"Flow '{name}' has no version {version} in project '{project}'.") { Target = name };
    }

    /// <summary>Archives every version of the flow (it stays in history; runs can no longer start).</summary>
    public Task<int> UnregisterAsync(FlowRecord flow, CancellationToken cancellationToken = default)
        => Backend.ArchiveFlowAsync(flow.VersionGroupId, cancellationToken);

    // ---------------------------------------------------------------- runs

    /// <summary>Runs a flow straight from a script file: no backend, no registration (the development loop).</summary>
    public async Task<FlowRunResult> InvokeScriptAsync(string path, string? name, IReadOnlyDictionary<string, object?>? parameters,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(path);
        var loaded = await Loader.LoadFileAsync(full, cancellationToken).ConfigureAwait(false);
        var flow = SelectOne(loaded, name);
        return await ExecuteAsync(flow, parameters, observer, loaded.Compiled.Sha256, "local file " + full, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a registered flow here and now without recording a run: fetch the current script from its storage,
    /// compile (cached), check its structure against the registered one, execute.
    /// </summary>
    public async Task<FlowRunResult> RunAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var (built, source) = await PrepareAsync(flow, null, cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(built, parameters, observer, source.Sha256, source.StorageVersion, flow, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fetches a registered flow's script (current, or the pinned storage version), builds it, and checks that
    /// its structure is the registered one; a changed structure fails with the diff.
    /// </summary>
    internal async Task<(Flow Flow, FetchedFlowSource Source)> PrepareAsync(FlowRecord flow, string? pinnedVersion, CancellationToken cancellationToken,
        Action<FetchedFlowSource>? fetched = null)
    {
        var storage = StorageTypes.Deserialize(flow.StorageJson);
        var source = await ProviderFor(storage).FetchAsync(storage, pinnedVersion, Secrets, cancellationToken).ConfigureAwait(false);
        fetched?.Invoke(source);
        var loaded = source.ScriptText is { } text
            ? await Loader.LoadSourceAsync(text, source.Origin, cancellationToken).ConfigureAwait(false)
            : Loader.LoadAssembly(source.AssemblyBytes!, source.Origin);
        var built = loaded.Select(flow.Name);
        var structure = FlowStructure.FromFlow(built);
        if (structure.Hash != flow.StructureHash)
        {
            var diff = FlowStructure.Diff(FlowStructure.FromJson(flow.StructureJson), structure);
            throw new FlowstoreException(ErrorIds.StructureChanged, FlowErrorKind.InvalidData,
                $"The structure of flow '{flow.Name}' in {source.Origin} changed since version {flow.Version} was registered ({diff}). " +
                $"Run Register-Flow -Path '{flow.ScriptPath ?? source.Origin}' -Project '{flow.Project}' to register a new version.") { Target = flow.Name };
        }
        return (built, source);
    }

    private static Flow SelectOne(LoadedScript loaded, string? name)
    {
        if (name is not null)
        {
            return loaded.Select(name);
        }
        if (loaded.Flows.Count > 1)
        {
            throw new FlowstoreException(ErrorIds.FlowNotFoundInScript, FlowErrorKind.InvalidArgument,
                $"{loaded.Origin} holds {loaded.Flows.Count} flows ({string.Join(", ", loaded.Flows.Select(f => f.Name))}); choose one with -Name.") { Target = loaded.Origin };
        }
        return loaded.Flows[0];
    }

    private async Task<FlowRunResult> ExecuteAsync(Flow flow, IReadOnlyDictionary<string, object?>? parameters, IRunObserver? observer,
        string scriptSha, string storageVersion, FlowRecord? record, CancellationToken cancellationToken)
    {
        var bound = ParameterBinder.Bind(flow, parameters);
        var started = DateTimeOffset.UtcNow;
        var execution = await FlowExecutor.RunAsync(flow, bound, new ExecutionOptions
        {
            Observer = observer,
            Redactions = () => Secrets.ResolvedValues,
            Secrets = Secrets,
        }, cancellationToken).ConfigureAwait(false);
        return new FlowRunResult
        {
            FlowName = flow.Name,
            Project = record?.Project,
            FlowVersion = record?.Version,
            FlowId = record?.Id,
            State = execution.State,
            Parameters = bound,
            Started = started,
            Ended = DateTimeOffset.UtcNow,
            ScriptSha256 = scriptSha,
            StorageVersion = storageVersion,
            Error = execution.Error,
            Tasks = execution.Tasks,
            Log = execution.Log,
            // A task that returns a secret (a token it read, say) must not show it in the output either.
            Results = execution.Results.ToDictionary(r => r.Key, r => r.Value is string text ? SecretRedaction.Redact(text) : r.Value),
        };
    }

    public void Dispose()
    {
        if (_ownsBackend && _backend.IsValueCreated)
        {
            _backend.Value.Dispose();
        }
    }
}
