using Flowstore.Scripting;

namespace Flowstore.Engine;

/// <summary>
/// Registration: describes a script's flows, plans what registering a file would do (writing nothing), and
/// applies a plan: the storage stores what it needs and returns the script it holds, which is checked here
/// against the flow, then the version is recorded.
/// </summary>
public sealed class FlowRegistrar
{
    private readonly Lazy<IFlowBackend> _backend;
    private readonly FlowCatalog _catalog;
    private readonly FlowScriptLoader _loader;
    private readonly StructureCache _structures;
    private readonly StorageProviders _providers;
    private readonly SecretResolver _secrets;

    internal FlowRegistrar(Lazy<IFlowBackend> backend, FlowCatalog catalog, FlowScriptLoader loader, StructureCache structures,
        StorageProviders providers, SecretResolver secrets)
    {
        _backend = backend;
        _catalog = catalog;
        _loader = loader;
        _structures = structures;
        _providers = providers;
        _secrets = secrets;
    }

    /// <summary>Loads a script and describes each (selected) flow without registering anything.</summary>
    public async Task<IReadOnlyList<FlowDescription>> TestScriptAsync(string path, IReadOnlyList<string>? names, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(path);
        // Built in the build worker under the time and memory limits: the flows are described there, not built here.
        var sketches = await _loader.DescribeFileAsync(full, cancellationToken).ConfigureAwait(false);
        var sha = FlowStructure.Sha256Hex(await File.ReadAllTextAsync(full, cancellationToken).ConfigureAwait(false));
        return LoadedScript.SelectByName(sketches, f => f.Name, names, full).Select(f => new FlowDescription
        {
            Name = f.Name,
            Path = full,
            Structure = FlowStructure.FromJson(f.Structure),
            ScriptSha256 = sha,
            // What registering the file as it is would use: the script's storage, else the file itself as a script.
            Storage = f.Storage is null ? new LocalStorage(path: full, storedAsScript: true) : StorageTypes.Deserialize(f.Storage),
            Labels = f.Labels,
        }).ToArray();
    }

    /// <summary>
    /// Works out what registering the flows of one file would do, writing nothing. An unchanged file
    /// (same SHA-256 as a file seen before) is neither compiled nor run: its structure comes from a cache.
    /// </summary>
    public Task<IReadOnlyList<RegistrationPlan>> PlanAsync(string path, RegisterOptions options, Action<string>? log = null,
        CancellationToken cancellationToken = default)
        => PlanAsync(new RegistrationSource(path), options, null, log, cancellationToken);

    /// <summary>
    /// Asks the backend in one request which of these files are registered unchanged (see <see cref="PlanAsync(RegistrationSource, RegisterOptions, RegistrationLookup?, Action{string}?, CancellationToken)"/>),
    /// before any of them is compiled. Files in the local compile cache, files that cannot be read (planning them
    /// reports why) and forced registrations are not asked about; nothing is asked when no file is left.
    /// </summary>
    public async Task<RegistrationLookup> LookUpUnchangedAsync(IReadOnlyList<RegistrationSource> files, RegisterOptions options,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (options.Force || files.Count == 0)
        {
            return RegistrationLookup.None;
        }
        var inputs = new List<string>();
        var asked = 0;
        var perFile = new List<string[]>();
        foreach (var file in files)
        {
            string full, source;
            try
            {
                full = Path.GetFullPath(file.Path);
                if (!string.Equals(Path.GetExtension(full), ".cs", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                source = System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                continue; // Planning the file reports it.
            }
            var sha = FlowStructure.Sha256Hex(source);
            if (_structures.TryGet(sha) is not null)
            {
                continue; // Compiled before on this machine: planned from the cache, as without a lookup.
            }
            var candidates = CandidateInputs(options, file, full, sha, HostLabelFor(options));
            inputs.AddRange(candidates);
            perFile.Add(candidates);
            asked++;
        }
        if (asked == 0)
        {
            return RegistrationLookup.None;
        }
        var found = await _backend.Value.FindUnchangedRegistrationsAsync(options.Project, inputs.Distinct(StringComparer.Ordinal).ToArray(), cancellationToken)
            .ConfigureAwait(false);
        var foundInputs = found.Where(f => f.Flows.Count > 0).Select(f => f.RegistrationInput).ToHashSet(StringComparer.Ordinal);
        var unchanged = perFile.Count(c => c.Any(foundInputs.Contains));
        log?.Invoke($"Asked {_backend.Value.Description} about {asked} file(s) in one request: {unchanged} registered unchanged.");
        return new RegistrationLookup(options.Project, inputs, found) { FilesAsked = asked, FilesUnchanged = unchanged };
    }

    /// <summary>
    /// Works out what registering the flows of one file would do, writing nothing. An unchanged file (same SHA-256 as a
    /// file seen before) is neither compiled nor run: its structure comes from a cache, else, when the backend has it
    /// registered unchanged from the same input (<paramref name="lookup"/> when it asked about the file, else one
    /// request now), from the recorded versions.
    /// </summary>
    public async Task<IReadOnlyList<RegistrationPlan>> PlanAsync(RegistrationSource file, RegisterOptions options, RegistrationLookup? lookup,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        log ??= _ => { };
        var full = Path.GetFullPath(file.Path);
        if (options.Labels.FirstOrDefault(l => FlowNames.LabelProblem(l) is not null) is { } badLabel)
        {
            throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                $"The label '{FlowNames.Printable(badLabel)}' {FlowNames.LabelProblem(badLabel)}.") { Target = badLabel };
        }
        FlowScriptLoader.EnsureFlowScriptFile(full);
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

        var flows = _structures.TryGet(sha);
        if (flows is null && !options.Force
            && await FindUnchangedAsync(options, file, full, source, sha, lookup, log, cancellationToken).ConfigureAwait(false) is { } unchangedPlans)
        {
            return unchangedPlans;
        }
        if (flows is null)
        {
            log($"Compiling '{full}'.");
            // Built in the build worker under the time and memory limits: the flows are described there, not built here.
            flows = (await _loader.DescribeSourceAsync(source, full, cancellationToken).ConfigureAwait(false))
                .Select(f => new CachedFlow(f.Name, f.Slug, f.Structure, f.Storage, f.Labels, f.Description, f.StorageInstance, f.Schedule)).ToArray();
            _structures.Put(sha, flows);
        }
        else
        {
            log($"'{full}' is unchanged since it was last compiled (SHA-256 {sha[..12]}); using its cached structure.");
        }

        var selected = LoadedScript.SelectByName(flows, f => f.Name, options.Names, full);
        var groups = new Dictionary<int, StorageGroup>();
        var plans = new List<RegistrationPlan>();
        // Whether every flow's storage resolves the same wherever the file is: then its registration is recorded
        // with an input that names the file's relative path, not the folder it is in.
        var portable = true;
        var hostLabel = HostLabelFor(options);
        foreach (var flow in selected)
        {
            var storage = options.Storage
                ?? (flow.Storage is null ? new LocalStorage(storedAsScript: true) : StorageTypes.Deserialize(flow.Storage));
            var structure = FlowStructure.FromJson(flow.Structure);
            // Flows of this file that share one storage instance (set in the script, or the one storage given for the
            // file) are stored once: generated keys and image names then come from the file's name, not one flow's.
            var instance = options.Storage is not null ? 0 : flow.StorageInstance;
            var sharing = instance is { } i ? flows.Where(f => options.Storage is not null || f.StorageInstance == i).ToArray() : [flow];
            var storageSlug = FlowNames.ToAsciiSlug(sharing.Length > 1 ? StorageSlug(full, sharing) : flow.Slug);
            StorageGroup? group = null;
            if (sharing.Length > 1 && !groups.TryGetValue(instance!.Value, out group))
            {
                group = new StorageGroup(sharing.Select(f => f.Name).ToArray());
                groups.Add(instance.Value, group);
            }
            var context = new StorageRegistrationContext(full, source, sha, flow.Name, storageSlug, _secrets, log)
            {
                OnWarning = options.OnWarning,
                Progress = options.Progress,
            };
            var resolved = _providers.For(storage).Resolve(storage, context);
            portable &= ResolvesAnywhere(storage, resolved, context, file.RelativeName, full);
            var labels = flow.Labels.Concat(options.Labels)
                .Concat(hostLabel is not null && storage is LocalStorage ? [hostLabel] : [])
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            var schedule = options.Schedule ?? (flow.Schedule is null ? null : Schedule.FromJson(flow.Schedule));
            if (schedule is not null)
            {
                CheckSchedulable(flow.Name, structure, schedule, full);
            }
            var scheduleJson = schedule?.ToJson();
            var key = RegistrationKey.Compute(options.Project, flow.Name, structure.Hash, resolved.Locator, labels, scheduleJson);

            var versions = await _catalog.GetVersionsAsync(options.Project, flow.Name, cancellationToken).ConfigureAwait(false);
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
                    parts.Add("storage changed: " + (StorageChange.Describe(before, resolved) ?? $"{before.Locator} -> {resolved.Locator}"));
                }
                if (!latest.Labels.Order(StringComparer.Ordinal).SequenceEqual(labels))
                {
                    parts.Add($"labels changed: [{string.Join(", ", latest.Labels)}] -> [{string.Join(", ", labels)}]");
                }
                if (!string.Equals(latest.ScheduleJson, scheduleJson, StringComparison.Ordinal))
                {
                    parts.Add($"schedule changed: {Schedule.Describe(latest.ScheduleJson)} -> {Schedule.Describe(scheduleJson)}");
                }
                if (latest.Archived)
                {
                    parts.Add("was unregistered");
                }
                reason = parts.Count == 0 ? "registration changed" : string.Join("; ", parts);
            }
            var willRegister = !unchanged || options.Force;
            plans.Add(new RegistrationPlan
            {
                Name = flow.Name,
                Project = options.Project,
                Path = full,
                WillRegister = willRegister,
                Version = willRegister ? (latest?.Version ?? 0) + 1 : latest!.Version,
                Reason = reason,
                Diff = diff,
                Latest = latest,
                Structure = structure,
                Storage = resolved,
                RegistrationKey = key,
                Labels = labels,
                Description = flow.Description,
                ScheduleJson = scheduleJson,
                Force = options.Force,
                FlowSlug = storageSlug,
                StorageGroup = group,
                ScriptSource = source,
                ScriptSha256 = sha,
                RegistrationInputFlows = selected.Count,
            });
        }
        var input = portable ? PortableRegistrationInput(options, file.RelativeName, sha) : RegistrationInput(options, full, sha, hostLabel);
        foreach (var plan in plans)
        {
            plan.RegistrationInput = input;
        }
        return plans;
    }

    /// <summary>
    /// True when <paramref name="storage"/> resolves to the same locator (what the registration key covers) for the file
    /// at another place with the same relative path: a default Local storage (the file itself), a relative local path,
    /// or a local file a storage names does not.
    /// </summary>
    private bool ResolvesAnywhere(StorageSettings storage, StorageSettings resolved, StorageRegistrationContext context, string relativeName, string full)
    {
        var elsewhere = Path.Combine(Path.GetPathRoot(full) ?? Path.DirectorySeparatorChar.ToString(), "flowstore-place-probe", "1e5b9c7d",
            relativeName.Replace('/', Path.DirectorySeparatorChar));
        try
        {
            var probe = _providers.For(storage).Resolve(storage, context with { ScriptPath = elsewhere, Log = _ => { }, OnWarning = _ => { } });
            return string.Equals(probe.Locator, resolved.Locator, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is FlowstoreException or ArgumentException or IOException or NotSupportedException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// What registering a file is made from that is known without compiling it: the project, the file's path and
    /// SHA-256, and the options that feed the registration key (labels, the storage given for the file, the selected
    /// flows). The flows, their structure, labels and storage all follow from the script's text.
    /// </summary>
    /// <remarks>
    /// This form names the file's full path: it is recorded when a flow's storage depends on where the file is (the
    /// default Local storage is the file itself), so the same file elsewhere is compiled and registered anew.
    /// </remarks>
    /// <remarks>
    /// Through a server, a file with Local storage records this machine's host label too (<paramref name="hostLabel"/>),
    /// which its flows carry; only this full-path form names it, as only Local storage gives the label.
    /// </remarks>
    internal static string RegistrationInput(RegisterOptions options, string fullPath, string sha256, string? hostLabel = null)
        => InputHash("flowstore-registration-input/1", options, fullPath, sha256, hostLabel);

    /// <summary>
    /// The same as <see cref="RegistrationInput"/> with the file's path relative to the folder it was registered from
    /// (<see cref="RegistrationSource.RelativeName"/>) instead of its full path: recorded when every flow's storage
    /// resolves the same wherever the file is, so a checkout in another folder (a fresh CI agent) finds it unchanged,
    /// while two files of equal text at different relative paths, or a file moved within the repository, do not match.
    /// </summary>
    internal static string PortableRegistrationInput(RegisterOptions options, string relativeName, string sha256)
        => InputHash("flowstore-registration-input/2 relative", options, relativeName, sha256);

    private static string InputHash(string kind, RegisterOptions options, string path, string sha256, string? hostLabel = null)
    {
        var text = string.Join("\n",
            kind,
            options.Project.Trim().ToUpperInvariant(),
            path,
            sha256,
            string.Join("\u001f", options.Labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)),
            options.Storage?.ToJson() ?? "",
            options.Names is null ? "*" : string.Join("\u001f", options.Names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)));
        // The host label and a schedule given for the file join the input only where they apply, so inputs recorded
        // without them keep their hash.
        if (hostLabel is not null)
        {
            text += "\nhost-label:" + hostLabel;
        }
        if (options.Schedule is { } schedule)
        {
            text += "\nschedule:" + schedule.ToJson();
        }
        return FlowStructure.Sha256Hex(text);
    }

    /// <summary>
    /// The label a flow with Local storage gets: this machine's host label when registering through a server (agents
    /// elsewhere cannot read the file), unless the options say not to; null on the embedded backend.
    /// </summary>
    private string? HostLabelFor(RegisterOptions options)
        => !options.NoHostLabel && _backend.Value is Flowstore.Backend.Http.HttpFlowBackend ? FlowHost.Label : null;

    /// <summary>The inputs a file may have been registered with: its relative form first, then its full-path form.</summary>
    private static string[] CandidateInputs(RegisterOptions options, RegistrationSource file, string full, string sha, string? hostLabel)
        => [PortableRegistrationInput(options, file.RelativeName, sha), RegistrationInput(options, full, sha, hostLabel)];

    /// <summary>
    /// Asks the backend whether this very file was registered with these options and nothing changed since: then every
    /// flow is planned as skipped from the recorded versions, without compiling (a fresh machine has no compile cache).
    /// Null when it must be compiled.
    /// </summary>
    private async Task<IReadOnlyList<RegistrationPlan>?> FindUnchangedAsync(RegisterOptions options, RegistrationSource file, string full, string source,
        string sha, RegistrationLookup? lookup, Action<string> log, CancellationToken cancellationToken)
    {
        var inputs = CandidateInputs(options, file, full, sha, HostLabelFor(options));
        IReadOnlyList<UnchangedRegistration> found;
        if (lookup is not null && string.Equals(lookup.Project, options.Project, StringComparison.Ordinal) && inputs.All(lookup.Asked.Contains))
        {
            found = inputs.Select(i => lookup.Found.GetValueOrDefault(i)).OfType<UnchangedRegistration>().ToArray();
        }
        else
        {
            found = await _backend.Value.FindUnchangedRegistrationsAsync(options.Project, inputs, cancellationToken).ConfigureAwait(false);
        }
        if (inputs.Select(i => found.FirstOrDefault(f => string.Equals(f.RegistrationInput, i, StringComparison.Ordinal)))
                .FirstOrDefault(f => f is { Flows.Count: > 0 }) is not { } unchanged)
        {
            return null;
        }
        var input = unchanged.RegistrationInput;
        var plans = new List<RegistrationPlan>();
        foreach (var record in unchanged.Flows)
        {
            StorageSettings storage;
            FlowStructure structure;
            try
            {
                storage = StorageTypes.Deserialize(record.StorageJson);
                structure = FlowStructure.FromJson(record.StructureJson);
            }
            catch (Exception e) when (e is FlowstoreException or System.Text.Json.JsonException or NotSupportedException or ArgumentException)
            {
                return null; // Recorded with a storage this client does not know: compile and plan as usual.
            }
            plans.Add(new RegistrationPlan
            {
                Name = record.Name,
                Project = record.Project,
                Path = full,
                WillRegister = false,
                Version = record.Version,
                Reason = "metadata unchanged",
                Latest = record,
                Structure = structure,
                Storage = storage,
                RegistrationKey = record.RegistrationKey,
                Labels = record.Labels,
                Description = record.Description,
                ScheduleJson = record.ScheduleJson,
                ScriptSource = source,
                ScriptSha256 = sha,
                RegistrationInput = input,
                RegistrationInputFlows = unchanged.Flows.Count,
            });
        }
        log($"'{full}' is registered unchanged (SHA-256 {sha[..12]}, same options); not compiling it.");
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
            var skipped = Result(plan, plan.Latest!, RegistrationStatus.Skipped, plan.Reason, null);
            return await WithScheduleStateAsync(skipped, plan.Latest!, options.NoSchedule, cancellationToken).ConfigureAwait(false);
        }
        log ??= _ => { };
        var warn = options.OnWarning ?? log;
        var provider = _providers.For(plan.Storage);
        var context = new StorageRegistrationContext(plan.Path, plan.ScriptSource, plan.ScriptSha256, plan.Name, plan.FlowSlug, _secrets, log)
        {
            OnWarning = options.OnWarning,
            Progress = options.Progress,
        };
        if (provider.ScriptToStore(plan.Storage, context) is { } toStore)
        {
            await CheckStoredScriptAsync(plan, toStore, warn, cancellationToken).ConfigureAwait(false);
        }
        PreparedStorage prepared;
        if (plan.StorageGroup?.Find(plan.Storage) is { } shared)
        {
            // Another flow of this file with the same storage instance already stored it in this registration.
            prepared = shared.Prepared;
            log($"Flow '{plan.Name}': shares its storage with flow '{shared.Flow}' ({string.Join(", ", plan.StorageGroup.Flows)} in '{plan.Path}'); " +
                $"using what was stored for it: {prepared.Settings}.");
        }
        else
        {
            if (provider.NeedsCompiledFlow(plan.Storage))
            {
                context = context with
                {
                    CompiledFlow = (await _loader.Compiler.CompileAsync(plan.ScriptSource, plan.Path, cancellationToken).ConfigureAwait(false)).AssemblyBytes,
                };
            }
            prepared = await provider.PrepareRegistrationAsync(plan.Storage, context, cancellationToken).ConfigureAwait(false);
            plan.StorageGroup?.Add(plan.Storage, plan.Name, prepared);
        }
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
            RegistrationInput = plan.RegistrationInput,
            RegistrationInputFlows = plan.RegistrationInputFlows,
            Force = plan.Force,
            ScheduleJson = plan.ScheduleJson,
            SchedulePaused = options.NoSchedule,
        };
        var outcome = await _backend.Value.RegisterFlowAsync(request, cancellationToken).ConfigureAwait(false);
        if (outcome.Status == RegistrationStatus.Skipped)
        {
            // Another registration of the same change won the race.
            var raced = Result(plan, outcome.Flow, RegistrationStatus.Skipped, "metadata unchanged (registered concurrently)", null);
            return await WithScheduleStateAsync(raced, outcome.Flow, options.NoSchedule, cancellationToken).ConfigureAwait(false);
        }
        var diff = outcome.Previous is { } previous && previous.StructureHash != outcome.Flow.StructureHash
            ? FlowStructure.Diff(FlowStructure.FromJson(previous.StructureJson), plan.Structure)
            : plan.Diff;
        var registered = Result(plan, outcome.Flow, RegistrationStatus.Registered, plan.Reason, diff);
        return await WithScheduleStateAsync(registered, outcome.Flow, pause: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The result with its schedule's state (for a flow with a schedule), pausing the schedule first when asked (a
    /// registration that recorded nothing new still pauses it).
    /// </summary>
    private async Task<FlowRegistration> WithScheduleStateAsync(FlowRegistration result, FlowRecord record, bool pause, CancellationToken cancellationToken)
    {
        if (record.ScheduleJson is null)
        {
            return result;
        }
        var state = pause
            ? await _backend.Value.SetSchedulePausedAsync(record.Project, record.Name, paused: true, cancellationToken).ConfigureAwait(false)
            : (await _backend.Value.GetSchedulesAsync(record.Project, record.Name, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        result.SchedulePaused = state?.Paused;
        return result;
    }

    /// <summary>
    /// A scheduled run gets the schedule's parameter values and the defaults: every required parameter without a
    /// default needs a value in the schedule (<see cref="ErrorIds.ScheduleParameterMissing"/>), and the schedule may
    /// only name parameters the flow declares (<see cref="ErrorIds.ScheduleParameterUnknown"/>).
    /// </summary>
    internal static void CheckSchedulable(string flowName, FlowStructure structure, Schedule schedule, string path)
    {
        var given = schedule.Parameters;
        foreach (var parameter in structure.Parameters)
        {
            if (parameter.Required && !given.ContainsKey(parameter.Name))
            {
                throw new FlowstoreException(ErrorIds.ScheduleParameterMissing, FlowErrorKind.InvalidArgument,
                    $"Flow '{flowName}' in '{path}' cannot be scheduled ({schedule}): its parameter '{parameter.Name}' ({parameter.Type}) is required " +
                    $"and has no default, and the schedule gives it no value. Give the schedule a value for '{parameter.Name}', or the parameter a default.")
                { Target = flowName };
            }
        }
        var declared = structure.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (given.Keys.FirstOrDefault(name => !declared.Contains(name)) is { } unknown)
        {
            throw new FlowstoreException(ErrorIds.ScheduleParameterUnknown, FlowErrorKind.InvalidArgument,
                $"Flow '{flowName}' in '{path}': its schedule ({schedule}) gives a value for '{unknown}', which is not a parameter of the flow " +
                $"(its parameters: {(declared.Count == 0 ? "none" : string.Join(", ", structure.Parameters.Select(p => p.Name)))}).")
            { Target = flowName };
        }
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
        IReadOnlyList<FlowSketch> loaded;
        try
        {
            loaded = await _loader.DescribeSourceAsync(stored, origin, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e)
        {
            throw new FlowstoreException(ErrorIds.StoredScriptMismatch, FlowErrorKind.InvalidData,
                $"Flow '{flowName}': the stored script {origin} cannot be loaded, so runs would fail: {e.Message}", e) { Target = origin };
        }
        var flow = loaded.FirstOrDefault(f => string.Equals(f.Name, flowName, StringComparison.Ordinal))
            ?? throw new FlowstoreException(ErrorIds.StoredScriptMismatch, FlowErrorKind.InvalidData,
                $"The stored script {origin} does not declare flow '{flowName}' (it declares: {string.Join(", ", loaded.Select(f => f.Name))}); " +
                $"publish '{localPath}' to the storage first.") { Target = origin, Hint = FlowHint.PublishScript(localPath) };
        var structure = FlowStructure.FromJson(flow.Structure);
        if (structure.Hash != expected.Hash)
        {
            var diff = FlowStructure.Diff(structure, expected);
            throw new FlowstoreException(ErrorIds.StoredScriptMismatch, FlowErrorKind.InvalidData,
                $"Flow '{flowName}': the stored script {origin} has a different structure than '{localPath}' ({diff}); " +
                "runs would fail. Publish the local script to the storage first, or register the stored one.") { Target = origin, Hint = FlowHint.PublishScript(localPath) };
        }
        warn($"Flow '{flowName}': the stored script {origin} differs from '{localPath}' (same structure, different code); runs will use the stored script.");
    }

    /// <summary>
    /// The slug generated keys and image names of a storage shared by several flows of one file start from: the file's
    /// name (the flows' own slugs when it has no usable name), the same whichever of the flows are registered.
    /// </summary>
    private static string StorageSlug(string path, IReadOnlyList<CachedFlow> sharing)
        => Flow.Slugify(Path.GetFileNameWithoutExtension(path)) is { Length: > 0 } slug ? slug : string.Join("-", sharing.Select(f => f.Slug));

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
        Storage = UnknownStorage.Read(record.StorageJson),
        Structure = new FlowStructureInfo(plan.Structure),
        Schedule = record.ScheduleJson is null ? null : Schedule.Describe(record.ScheduleJson),
    };
}
