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

    /// <summary>
    /// The time and memory limits of building a script's flows (registration, Test-FlowScript, the build before each
    /// run); null: <see cref="ScriptBuildLimits.FromEnvironment"/> (30 s and 1024 MB unless FLOWSTORE_BUILD_TIMEOUT /
    /// FLOWSTORE_BUILD_MEMORY_MB say otherwise).
    /// </summary>
    public ScriptBuildLimits? BuildLimits { get; init; }
}

/// <summary>
/// The engine API used by the cmdlets and the tests: a facade over the use cases, each a class of
/// its own (<see cref="Catalog"/>: projects and flows; <see cref="Registration"/>; <see cref="Publishing"/>;
/// <see cref="Runs"/>; <see cref="SecretAdmin"/>), sharing one backend, script loader, secret resolver and set of
/// storage providers. It never references PowerShell.
/// </summary>
public sealed class FlowClient : IDisposable
{
    // One compiler per home, kept for the life of the process: a pwsh session (or an agent) compiles a
    // script once, and later cmdlet calls find it in memory.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ScriptCompiler> Compilers = new(StringComparer.Ordinal);

    // One build guard (and its warm worker processes) per set of limits, for the life of the process.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ScriptBuildLimits, ScriptBuildGuard> Guards = new();

    private readonly bool _ownsBackend;
    private readonly Lazy<IFlowBackend> _backend;
    private readonly StorageProviders _providers = new();
    private readonly FlowBuilder _builder;
    private FlowRuns? _runs;

    public FlowClient(FlowClientOptions? options = null)
    {
        options ??= new FlowClientOptions();
        Home = FlowstoreHome.EnsureDirectory(Path.GetFullPath(options.Home ?? FlowstoreHome.Path));
        _ownsBackend = options.Backend is null;
        // Opened on first use: loading or invoking a script needs no database.
        var given = options.Backend;
        var sources = options.SecretSources;
        // A server when FLOWSTORE_SERVER_URL is set or the home has a saved connection; else the home's SQLite file.
        _backend = new Lazy<IFlowBackend>(() => given
            ?? FlowServerConnection.OpenConfigured(Home, sources)
            ?? new SqliteFlowBackend(Path.Combine(Home, SqliteFlowBackend.DefaultFileName)));
        var limits = options.BuildLimits ?? ScriptBuildLimits.FromEnvironment();
        Loader = new FlowScriptLoader(
            Compilers.GetOrAdd(Home, home => new ScriptCompiler(Path.Combine(home, "cache", "assemblies"), additionalReferences: BuiltInStorage.SettingsAssemblies)),
            Guards.GetOrAdd(limits, l => new ScriptBuildGuard(l)));
        SecretStore = new SecretStore(() => Backend, Path.Combine(Home, SecretStore.KeyFileName));
        Secrets = new SecretResolver(new ISecretSource[] { SecretStore, new EnvironmentSecretSource() }.Concat(options.SecretSources).ToArray());
        foreach (var provider in BuiltInStorage.Providers(Home))
        {
            AddProvider(provider);
        }
        _builder = new FlowBuilder(_providers, Loader, Secrets);
        Catalog = new FlowCatalog(_backend);
        Registration = new FlowRegistrar(_backend, Catalog, Loader, new StructureCache(Path.Combine(Home, "cache", "structure")), _providers, Secrets);
        Publishing = new FlowPublisher(Loader, _providers, Secrets);
        SecretAdmin = new FlowSecrets(SecretStore, Secrets);
        ApiKeys = new FlowApiKeys(_backend);
        Sweeper = new RunSweeper(_backend, () => Timing);
        Schedules = new FlowSchedules(_backend);
    }

    /// <summary>Schedules of registered flows (Get-FlowSchedule, Set-FlowSchedule).</summary>
    public FlowSchedules Schedules { get; }

    /// <summary>
    /// A client of the home's existing state, or null when the home has none yet (nothing registered there): for
    /// callers that only read, such as completion, and must not create a database as a side effect.
    /// </summary>
    public static FlowClient? OpenExisting(FlowClientOptions? options = null)
    {
        var home = Path.GetFullPath(options?.Home ?? FlowstoreHome.Path);
        return options?.Backend is null && !File.Exists(Path.Combine(home, SqliteFlowBackend.DefaultFileName))
               && FlowServerConnection.Describe(home).Source == FlowBackendSource.Embedded
            ? null
            : new FlowClient(options);
    }

    /// <summary>
    /// Lets go of what the process keeps between clients: the compiled scripts held in memory (their collectible
    /// load contexts are unloaded), the build worker processes and pooled database connections. For a host that unloads Flowstore (Remove-Module).
    /// </summary>
    public static void ReleaseProcessCaches()
    {
        foreach (var compiler in Compilers.Values)
        {
            compiler.ClearMemory();
        }
        Compilers.Clear();
        foreach (var guard in Guards.Values)
        {
            guard.Dispose();
        }
        Guards.Clear();
        SqliteFlowBackend.ClearConnectionPools();
    }

    public string Home { get; }
    public IFlowBackend Backend => _backend.Value;
    public FlowScriptLoader Loader { get; }
    public SecretResolver Secrets { get; }

    /// <summary>The encrypted secret store in the backend.</summary>
    public SecretStore SecretStore { get; }

    /// <summary>Timing of heartbeats and polling.</summary>
    public RunTiming Timing { get; init; } = new();

    /// <summary>This process's agent name, used for runs started here and now.</summary>
    public static string LocalAgent => FlowRuns.LocalAgent;

    // ---------------------------------------------------------------- the use cases

    /// <summary>Projects, registered flows and the flow query.</summary>
    public FlowCatalog Catalog { get; }

    /// <summary>Describing scripts, planning and applying registrations.</summary>
    public FlowRegistrar Registration { get; }

    /// <summary>Publishing scripts to their storage on their own.</summary>
    public FlowPublisher Publishing { get; }

    /// <summary>Queued, recorded and unrecorded runs, agents, waiting, stopping, logs.</summary>
    public FlowRuns Runs => _runs ??= new FlowRuns(_backend, Catalog, _builder, Loader, Secrets, Sweeper, () => Timing, Home);

    /// <summary>Setting, describing and removing secrets.</summary>
    public FlowSecrets SecretAdmin { get; }

    /// <summary>Making, listing and revoking API keys; a server's first admin key.</summary>
    public FlowApiKeys ApiKeys { get; }

    /// <summary>Fails runs whose agent is lost (called where runs are claimed and by waiters).</summary>
    public RunSweeper Sweeper { get; }

    /// <summary>Registers a storage provider and its settings type.</summary>
    public void AddProvider(IStorageProvider provider) => _providers.Add(provider);

    // ---------------------------------------------------------------- facade: projects and flows

    public Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken = default)
        => Catalog.CreateProjectAsync(name, description, cancellationToken);

    public Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name = null, CancellationToken cancellationToken = default)
        => Catalog.GetProjectsAsync(name, cancellationToken);

    /// <inheritdoc cref="FlowCatalog.EnsureProjectAsync"/>
    public Task<ProjectInfo> EnsureProjectAsync(string project, bool create, CancellationToken cancellationToken = default)
        => Catalog.EnsureProjectAsync(project, create, cancellationToken);

    public Task<IReadOnlyList<FlowRecord>> GetFlowsAsync(FlowQuery query, CancellationToken cancellationToken = default)
        => Catalog.GetFlowsAsync(query, cancellationToken);

    /// <inheritdoc cref="FlowCatalog.GetFlowAsync"/>
    public Task<FlowRecord> GetFlowAsync(string name, string project, int? version = null, CancellationToken cancellationToken = default)
        => Catalog.GetFlowAsync(name, project, version, cancellationToken);

    /// <inheritdoc cref="FlowCatalog.GetFlowOfRunAsync"/>
    public Task<FlowRecord> GetFlowOfRunAsync(FlowRunRecord run, CancellationToken cancellationToken = default)
        => Catalog.GetFlowOfRunAsync(run, cancellationToken);

    /// <inheritdoc cref="FlowCatalog.UnregisterAsync"/>
    public Task<int> UnregisterAsync(FlowRecord flow, CancellationToken cancellationToken = default)
        => Catalog.UnregisterAsync(flow, cancellationToken);

    // ---------------------------------------------------------------- facade: registration and publishing

    /// <inheritdoc cref="FlowRegistrar.TestScriptAsync"/>
    public Task<IReadOnlyList<FlowDescription>> TestScriptAsync(string path, IReadOnlyList<string>? names, CancellationToken cancellationToken = default)
        => Registration.TestScriptAsync(path, names, cancellationToken);

    /// <inheritdoc cref="FlowRegistrar.PlanAsync(string, RegisterOptions, Action{string}?, CancellationToken)"/>
    public Task<IReadOnlyList<RegistrationPlan>> PlanAsync(string path, RegisterOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
        => Registration.PlanAsync(path, options, log, cancellationToken);

    /// <inheritdoc cref="FlowRegistrar.LookUpUnchangedAsync"/>
    public Task<RegistrationLookup> LookUpUnchangedAsync(IReadOnlyList<RegistrationSource> files, RegisterOptions options, Action<string>? log = null,
        CancellationToken cancellationToken = default)
        => Registration.LookUpUnchangedAsync(files, options, log, cancellationToken);

    /// <inheritdoc cref="FlowRegistrar.PlanAsync(RegistrationSource, RegisterOptions, RegistrationLookup?, Action{string}?, CancellationToken)"/>
    public Task<IReadOnlyList<RegistrationPlan>> PlanAsync(RegistrationSource file, RegisterOptions options, RegistrationLookup? lookup, Action<string>? log = null,
        CancellationToken cancellationToken = default)
        => Registration.PlanAsync(file, options, lookup, log, cancellationToken);

    /// <inheritdoc cref="FlowRegistrar.ApplyAsync"/>
    public Task<FlowRegistration> ApplyAsync(RegistrationPlan plan, RegisterOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
        => Registration.ApplyAsync(plan, options, log, cancellationToken);

    /// <inheritdoc cref="FlowRegistrar.Failure"/>
    public static FlowRegistration Failure(string path, string project, string? name, Exception error) => FlowRegistrar.Failure(path, project, name, error);

    /// <inheritdoc cref="FlowPublisher.PublishAsync"/>
    public Task<FlowPublication> PublishAsync(string path, PublishOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
        => Publishing.PublishAsync(path, options, log, cancellationToken);

    // ---------------------------------------------------------------- facade: runs

    /// <inheritdoc cref="FlowRuns.InvokeScriptAsync"/>
    public Task<FlowRunResult> InvokeScriptAsync(string path, string? name, IReadOnlyDictionary<string, object?>? parameters,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
        => Runs.InvokeScriptAsync(path, name, parameters, observer, cancellationToken);

    /// <inheritdoc cref="FlowRuns.RunAsync"/>
    public Task<FlowRunResult> RunAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
        => Runs.RunAsync(flow, parameters, observer, cancellationToken);

    /// <summary>Queues a run; pinned to the run <paramref name="pinnedFromRun"/> when given (read once, here).</summary>
    public async Task<FlowRunRecord> QueueRunAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters,
        Guid? pinnedFromRun = null, CancellationToken cancellationToken = default)
        => await Runs.QueueRunAsync(flow, parameters, await PinnedToAsync(pinnedFromRun, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Queues a run and runs it here; pinned to the run <paramref name="pinnedFromRun"/> when given (read once, here).</summary>
    public async Task<FlowRunRecord> RunNowAsync(FlowRecord flow, IReadOnlyDictionary<string, object?>? parameters, Guid? pinnedFromRun,
        IRunObserver? observer = null, CancellationToken cancellationToken = default)
        => await Runs.RunNowAsync(flow, parameters, await PinnedToAsync(pinnedFromRun, cancellationToken).ConfigureAwait(false), observer, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="FlowRuns.ExecuteClaimedAsync(FlowRunRecord, string, IRunObserver?, CancellationToken)"/>
    public Task<FlowRunRecord> ExecuteClaimedAsync(FlowRunRecord run, string agent, IRunObserver? observer = null, CancellationToken cancellationToken = default,
        RunIsolation isolation = RunIsolation.Process)
        => Runs.ExecuteClaimedAsync(run, agent, observer, cancellationToken, isolation);

    /// <inheritdoc cref="FlowRuns.RunAgentAsync"/>
    public Task<IReadOnlyList<FlowRunRecord>> RunAgentAsync(string agent, bool once, Action<FlowRunRecord>? started = null,
        Action<FlowRunRecord>? ended = null, IRunObserver? observer = null, CancellationToken cancellationToken = default,
        IReadOnlyCollection<string>? labels = null, Action<string>? warning = null, RunIsolation isolation = RunIsolation.Process, int limit = 1)
        => Runs.RunAgentAsync(agent, once, started, ended, observer, cancellationToken, labels, warning, isolation, limit);

    /// <inheritdoc cref="FlowRuns.FollowRunLogAsync"/>
    public Task<FlowRunRecord> FollowRunLogAsync(Guid id, Action<RunLogEntry> line, CancellationToken cancellationToken = default)
        => Runs.FollowRunLogAsync(id, line, cancellationToken);

    /// <inheritdoc cref="FlowRuns.GetAgentsAsync(CancellationToken)"/>
    public Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(CancellationToken cancellationToken = default)
        => Runs.GetAgentsAsync(cancellationToken);

    /// <inheritdoc cref="FlowRuns.GetAgentsAsync(bool, CancellationToken)"/>
    public Task<IReadOnlyList<AgentRecord>> GetAgentsAsync(bool all, CancellationToken cancellationToken = default)
        => Runs.GetAgentsAsync(all, cancellationToken);

    /// <inheritdoc cref="FlowRuns.GetRunsAsync"/>
    public Task<IReadOnlyList<FlowRunRecord>> GetRunsAsync(RunQuery query, CancellationToken cancellationToken = default)
        => Runs.GetRunsAsync(query, cancellationToken);

    /// <inheritdoc cref="FlowRuns.GetRunAsync"/>
    public Task<FlowRunRecord> GetRunAsync(Guid id, CancellationToken cancellationToken = default)
        => Runs.GetRunAsync(id, cancellationToken);

    /// <inheritdoc cref="FlowRuns.WaitRunAsync"/>
    public Task<FlowRunRecord> WaitRunAsync(Guid id, TimeSpan? timeout, CancellationToken cancellationToken = default)
        => Runs.WaitRunAsync(id, timeout, cancellationToken);

    /// <inheritdoc cref="FlowRuns.StopRunAsync"/>
    public Task<FlowRunRecord> StopRunAsync(Guid id, CancellationToken cancellationToken = default)
        => Runs.StopRunAsync(id, cancellationToken);

    public Task<IReadOnlyList<RunLogEntry>> GetRunLogAsync(Guid id, CancellationToken cancellationToken = default)
        => Runs.GetRunLogAsync(id, cancellationToken);

    /// <summary>The earlier run a run is pinned to; <see cref="ErrorIds.RunNotFound"/> when there is none.</summary>
    public async Task<FlowRunRecord?> PinnedToAsync(Guid? pinnedFromRun, CancellationToken cancellationToken = default)
    {
        if (pinnedFromRun is not { } id)
        {
            return null;
        }
        return (await Backend.GetRunsAsync(new RunQuery { Id = id }, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            ?? throw new FlowstoreException(ErrorIds.RunNotFound, FlowErrorKind.ObjectNotFound, $"There is no run {id} to pin to.") { Target = id.ToString() };
    }

    // ---------------------------------------------------------------- facade: secrets

    /// <inheritdoc cref="FlowSecrets.SetSecretAsync(string, string, CancellationToken)"/>
    public Task SetSecretAsync(string name, string value, CancellationToken cancellationToken = default)
        => SecretAdmin.SetSecretAsync(name, value, cancellationToken);

    /// <inheritdoc cref="FlowSecrets.SetSecretAsync(string, string, bool, CancellationToken)"/>
    public Task<SecretSetResult> SetSecretAsync(string name, string value, bool startNewKey, CancellationToken cancellationToken = default)
        => SecretAdmin.SetSecretAsync(name, value, startNewKey, cancellationToken);

    /// <inheritdoc cref="FlowSecrets.DescribeSecretsAsync"/>
    public Task<IReadOnlyList<SecretInfo>> DescribeSecretsAsync(IReadOnlyList<string>? names, CancellationToken cancellationToken = default)
        => SecretAdmin.DescribeSecretsAsync(names, cancellationToken);

    /// <inheritdoc cref="FlowSecrets.RemoveSecretAsync"/>
    public Task RemoveSecretAsync(string name, CancellationToken cancellationToken = default)
        => SecretAdmin.RemoveSecretAsync(name, cancellationToken);

    public void Dispose()
    {
        if (_ownsBackend && _backend.IsValueCreated)
        {
            _backend.Value.Dispose();
        }
    }
}
