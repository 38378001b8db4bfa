namespace Flowstore;

/// <summary>One input of a task: the argument key and where its value comes from.</summary>
internal sealed record TaskInput(string Key, IFlowInput Source)
{
    public FlowTask? UpstreamTask => (Source as TaskHandle)?.Task;
    public FlowParameter? Parameter => (Source as IParameterInput)?.Definition;
}

/// <summary>A declared parameter.</summary>
internal sealed record FlowParameter(Flow Flow, string Name, Type Type, object? Default, bool Required);

/// <summary>A declared task: its inputs, options and how to invoke its body.</summary>
internal sealed class FlowTask(Flow flow, string name, string slug, IReadOnlyList<TaskInput> inputs, TaskOptions options,
    Func<object?[], CancellationToken, Task<object?>> invoke, Type? resultType, string sourceFile, int sourceLine)
{
    private readonly List<FlowTask> _after = new();

    public Flow Flow { get; } = flow;
    public string Name { get; } = name;
    public string Slug { get; } = slug;
    public IReadOnlyList<TaskInput> Inputs { get; } = inputs;
    public TaskOptions Options { get; } = options;
    public Func<object?[], CancellationToken, Task<object?>> Invoke { get; } = invoke;
    public Type? ResultType { get; } = resultType;
    public string SourceFile { get; } = sourceFile;
    public int SourceLine { get; } = sourceLine;

    /// <summary>Ordering-only dependencies.</summary>
    public IReadOnlyList<FlowTask> After => _after;

    /// <summary>Every task this one waits for (data and ordering), without duplicates.</summary>
    public IEnumerable<FlowTask> Upstream
        => Inputs.Select(i => i.UpstreamTask).OfType<FlowTask>().Concat(_after).Distinct();

    public void AddOrderingDependency(TaskHandle upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        if (!ReferenceEquals(upstream.Task.Flow, Flow))
        {
            throw new FlowstoreException(ErrorIds.ForeignHandle, FlowErrorKind.InvalidArgument,
                $"Task '{Name}' in flow '{Flow.Name}' is set to run after task '{upstream.Name}' of flow '{upstream.Task.Flow.Name}'; " +
                "dependencies must be within one flow.") { Target = Flow.Name };
        }
        if (ReferenceEquals(upstream.Task, this))
        {
            throw new FlowstoreException(ErrorIds.FlowCycle, FlowErrorKind.InvalidData,
                $"Flow '{Flow.Name}' has a cycle: task '{Name}' is set to run after itself.") { Target = Flow.Name };
        }
        if (!_after.Contains(upstream.Task))
        {
            _after.Add(upstream.Task);
        }
    }

    public override string ToString() => Name;
}
