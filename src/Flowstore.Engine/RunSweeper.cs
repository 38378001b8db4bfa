namespace Flowstore.Engine;

/// <summary>
/// Fails Running runs whose agent stopped heartbeating (error id RunAgentLost) once their last heartbeat is older
/// than the timeout. Called where runs are claimed (agents, runs started here and now) and by a waiter, never by
/// a read: looking at runs writes nothing.
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

    /// <summary>Fails the stale runs; returns them as they are now.</summary>
    public Task<IReadOnlyList<FlowRunRecord>> SweepAsync(CancellationToken cancellationToken = default)
        => _backend.Value.FailStaleRunsAsync(_timing().HeartbeatTimeout, cancellationToken);
}
