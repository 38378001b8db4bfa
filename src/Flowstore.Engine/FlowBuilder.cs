using Flowstore.Scripting;

namespace Flowstore.Engine;

/// <summary>
/// Builds a registered flow from its storage (fetch, compile, structure check) and runs built flows in this
/// process; shared by recorded runs and Invoke-Flow.
/// </summary>
public sealed class FlowBuilder(StorageProviders providers, FlowScriptLoader loader, ISecretResolver secrets)
{
    /// <summary>
    /// Fetches a registered flow's script (current, or the pinned storage version), builds it, and checks that
    /// its structure is the registered one; a changed structure fails with the diff. <paramref name="fetched"/> hears
    /// of the source as soon as it is fetched (provenance of a run that then fails); <paramref name="log"/> gets the
    /// provenance lines a run's log starts with (<see cref="Provenance"/>).
    /// Whatever fails is a <see cref="FlowstoreException"/>: a fault that is not the script's while fetching is
    /// <see cref="ErrorIds.StorageFetchFailed"/>, while loading or building <see cref="ErrorIds.FlowLoadFailed"/>
    /// (a corrupt compiled flow), each naming the flow, its storage and the version fetched.
    /// </summary>
    public async Task<(Flow Flow, FetchedFlowSource Source)> PrepareAsync(FlowRecord flow, string? pinnedVersion, CancellationToken cancellationToken,
        Action<FetchedFlowSource>? fetched = null, Action<string>? log = null)
    {
        var storage = StorageTypes.Deserialize(flow.StorageJson);
        log?.Invoke(Provenance.Fetching(flow, storage, pinnedVersion));
        FetchedFlowSource source;
        try
        {
            source = await providers.For(storage).FetchAsync(storage, pinnedVersion, secrets, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not FlowstoreException and not OperationCanceledException)
        {
            throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.ConnectionError,
                $"Fetching flow '{flow.Name}' version {flow.Version} from {storage} failed: {e.GetType().Name}: {e.Message}", e) { Target = flow.Name };
        }
        fetched?.Invoke(source);
        log?.Invoke(Provenance.Fetched(source));
        LoadedScript loaded;
        try
        {
            loaded = source.ScriptText is { } text
                ? await loader.LoadSourceAsync(text, source.Origin, cancellationToken).ConfigureAwait(false)
                : await loader.LoadAssemblyAsync(source.AssemblyBytes!, source.Origin, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not FlowstoreException and not OperationCanceledException)
        {
            // A compiled flow replaced by other bytes (BadImageFormatException), truncated or empty: the run fails
            // with an id of its own; nothing of it reaches the agent, which goes on with the next run.
            var what = source.ScriptText is null ? $"the compiled flow ({source.AssemblyBytes?.Length ?? 0} bytes)" : "the script";
            throw new FlowstoreException(ErrorIds.FlowLoadFailed, FlowErrorKind.InvalidData,
                $"Flow '{flow.Name}' version {flow.Version} in project '{flow.Project}' could not be loaded from {storage} " +
                $"(storage version {source.StorageVersion}, SHA-256 {source.Sha256}): {what} is not a loadable flow ({e.GetType().Name}: {e.Message}). " +
                $"Register the flow again from '{flow.ScriptPath ?? source.Origin}' in project '{flow.Project}' to store a good copy.", e)
            { Target = flow.Name, Hint = FlowHint.RegisterFlow(flow.ScriptPath ?? source.Origin, flow.Project) };
        }
        var built = loaded.Select(flow.Name);
        var structure = FlowStructure.FromFlow(built);
        if (structure.Hash != flow.StructureHash)
        {
            var diff = FlowStructure.Diff(FlowStructure.FromJson(flow.StructureJson), structure);
            throw new FlowstoreException(ErrorIds.StructureChanged, FlowErrorKind.InvalidData,
                $"The structure of flow '{flow.Name}' in {source.Origin} changed since version {flow.Version} was registered ({diff}). " +
                $"Register a new version from '{flow.ScriptPath ?? source.Origin}' in project '{flow.Project}'.")
            { Target = flow.Name, Hint = FlowHint.RegisterFlow(flow.ScriptPath ?? source.Origin, flow.Project) };
        }
        return (built, source);
    }

    /// <summary>Runs a built flow here and now, recording nothing: the result holds task states, log and (redacted) results.</summary>
    /// <param name="preamble">Log lines written before the flow ran (the provenance lines), first in the result's log.</param>
    public async Task<FlowRunResult> ExecuteAsync(Flow flow, IReadOnlyDictionary<string, object?>? parameters, IRunObserver? observer,
        string scriptSha, string storageVersion, FlowRecord? record, CancellationToken cancellationToken, IReadOnlyList<RunLogEntry>? preamble = null)
    {
        var bound = ParameterBinder.Bind(flow, parameters);
        var started = DateTimeOffset.UtcNow;
        var execution = await FlowExecutor.RunAsync(flow, bound, new ExecutionOptions
        {
            Observer = observer,
            Redactions = () => secrets is SecretResolver known ? known.ResolvedValues : Array.Empty<string>(),
            Secrets = secrets,
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
            ErrorId = execution.ErrorId,
            Tasks = execution.Tasks,
            Log = preamble is { Count: > 0 } ? preamble.Concat(execution.Log).ToArray() : execution.Log,
            // A task that returns a secret (a token it read, say) must not show it in the output either.
            Results = execution.Results.ToDictionary(r => r.Key, r => r.Value is string text ? SecretRedaction.Redact(text) : r.Value),
        };
    }
}
