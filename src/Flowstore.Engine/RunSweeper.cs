namespace Flowstore.Engine;

/// <summary>
/// Fails Running runs whose agent stopped heartbeating (error id RunAgentLost) once their last heartbeat is older
/// than the timeout. Called where runs are claimed (agents, runs started here and now) and by a waiter, never by
/// a read: looking at runs writes nothing. A waiter whose key may not execute runs (a Reader or Registrar key on a
/// server) does not sweep: it leaves that to the agents, which sweep before each claim.
/// </summary>
public sealed class RunSweeper
{
    private readonly Lazy<IFlowBackend> _backend;
    private readonly Func<RunTiming> _timing;

    public RunSweeper(Lazy<IFlowBackend> backend, Func<RunTiming> timing)
    {
        _backend = backend;
        _timing = timing;
    }

    private volatile bool _notAllowed;
    private long? _lastAgentSweep;

    /// <summary>
    /// An agent's sweep of the agents' records: removes those last seen longer ago than <see cref="RunTiming.AgentRetention"/>
    /// (at most once per <see cref="RunTiming.AgentSweepInterval"/> for this sweeper, the first time at once). Returns the
    /// names removed (none when it was not time yet).
    /// </summary>
    public async Task<IReadOnlyList<string>> SweepAgentsAsync(CancellationToken cancellationToken = default)
    {
        var timing = _timing();
        if (_lastAgentSweep is { } at && System.Diagnostics.Stopwatch.GetElapsedTime(at) < timing.AgentSweepInterval)
        {
            return Array.Empty<string>();
        }
        var removed = await _backend.Value.RemoveAgentsAsync(DateTimeOffset.UtcNow - timing.AgentRetention, cancellationToken).ConfigureAwait(false);
        _lastAgentSweep = System.Diagnostics.Stopwatch.GetTimestamp();
        return removed;
    }

    /// <summary>Fails the stale runs; returns them as they are now.</summary>
    public Task<IReadOnlyList<FlowRunRecord>> SweepAsync(CancellationToken cancellationToken = default)
        => _backend.Value.FailStaleRunsAsync(_timing().HeartbeatTimeout, cancellationToken);

    /// <summary>
    /// A waiter's sweep: as <see cref="SweepAsync"/>, but a backend that refuses it (<see cref="ErrorIds.AccessDenied"/>:
    /// the key may not execute runs) is not asked again, and the wait goes on without sweeping.
    /// </summary>
    public async Task SweepIfAllowedAsync(CancellationToken cancellationToken = default)
    {
        if (_notAllowed)
        {
            return;
        }
        try
        {
            await SweepAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.AccessDenied)
        {
            _notAllowed = true;
        }
    }
}
