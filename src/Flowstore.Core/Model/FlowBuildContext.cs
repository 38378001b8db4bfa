namespace Flowstore;

/// <summary>
/// Collects the flows a script creates while it runs in build mode. The loader sets one up around the
/// script's entry point; flows created outside a build context are not collected.
/// </summary>
internal sealed class FlowBuildContext : IDisposable
{
    private static readonly AsyncLocal<FlowBuildContext?> CurrentContext = new();
    private readonly FlowBuildContext? _previous;
    private readonly List<Flow> _flows = new();

    public FlowBuildContext()
    {
        _previous = CurrentContext.Value;
        CurrentContext.Value = this;
    }

    public static FlowBuildContext? Current => CurrentContext.Value;

    public IReadOnlyList<Flow> Flows => _flows;

    public void Add(Flow flow) => _flows.Add(flow);

    public void Dispose() => CurrentContext.Value = _previous;
}
