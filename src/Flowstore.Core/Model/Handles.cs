namespace Flowstore;

/// <summary>Something a task can take as an input: a task's result or a parameter.</summary>
public interface IFlowInput
{
    /// <summary>The flow the value belongs to.</summary>
    Flow Flow { get; }

    /// <summary>The task or parameter name.</summary>
    string SourceName { get; }

    /// <summary>The type of the value.</summary>
    Type ValueType { get; }
}

/// <summary>A typed task input.</summary>
public interface IFlowInput<out T> : IFlowInput
{
}

/// <summary>A task in a flow. Use it as an ordering-only dependency (<see cref="After"/>, <see cref="TaskOptions.After"/>).</summary>
public class TaskHandle
{
    internal TaskHandle(FlowTask task) => Task = task;

    internal FlowTask Task { get; }

    /// <summary>The task's name.</summary>
    public string Name => Task.Name;

    /// <summary>The task's slug.</summary>
    public string Slug => Task.Slug;

    /// <summary>Makes this task run only after the given tasks succeeded, without taking their results.</summary>
    public TaskHandle After(params TaskHandle[] upstream)
    {
        foreach (var u in upstream)
        {
            Task.AddOrderingDependency(u);
        }
        return this;
    }

    public override string ToString() => $"Task '{Name}'";
}

/// <summary>A task whose result can be passed to other tasks.</summary>
public sealed class TaskHandle<T> : TaskHandle, IFlowInput<T>
{
    internal TaskHandle(FlowTask task) : base(task)
    {
    }

    Flow IFlowInput.Flow => Task.Flow;
    string IFlowInput.SourceName => Task.Name;
    Type IFlowInput.ValueType => typeof(T);

    /// <summary>Makes this task run only after the given tasks succeeded, without taking their results.</summary>
    public new TaskHandle<T> After(params TaskHandle[] upstream)
    {
        base.After(upstream);
        return this;
    }
}

/// <summary>A flow parameter; pass it to tasks like a task result.</summary>
public sealed class Parameter<T> : IFlowInput<T>, IParameterInput
{
    internal Parameter(FlowParameter parameter) => Definition = parameter;

    internal FlowParameter Definition { get; }

    FlowParameter IParameterInput.Definition => Definition;

    /// <summary>The parameter's name.</summary>
    public string Name => Definition.Name;

    Flow IFlowInput.Flow => Definition.Flow;
    string IFlowInput.SourceName => Definition.Name;
    Type IFlowInput.ValueType => typeof(T);

    public override string ToString() => $"Parameter '{Name}'";
}

/// <summary>Per-task settings.</summary>
public sealed class TaskOptions
{
    internal static readonly TaskOptions Default = new();

    /// <summary>How many times a failed task is tried again (0 = no retry).</summary>
    public int Retries { get; init; }

    /// <summary>The wait between attempts.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Maximum duration of one attempt; null = no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Tasks that must succeed before this one starts (ordering only, no data).</summary>
    public IReadOnlyList<TaskHandle> After { get; init; } = Array.Empty<TaskHandle>();

    internal void Validate(string flow, string task)
    {
        string? problem = Retries < 0 ? $"Retries is {Retries}; it must be 0 or more"
            : RetryDelay < TimeSpan.Zero ? $"RetryDelay is {RetryDelay}; it must not be negative"
            : Timeout is { } t && t <= TimeSpan.Zero ? $"Timeout is {t}; it must be positive"
            : null;
        if (problem is not null)
        {
            throw new FlowstoreException(ErrorIds.InvalidTaskOption, FlowErrorKind.InvalidArgument,
                $"Task '{task}' in flow '{flow}': {problem}.") { Target = flow };
        }
    }
}

/// <summary>Reaches a parameter's definition without knowing its type argument.</summary>
internal interface IParameterInput
{
    FlowParameter Definition { get; }
}
