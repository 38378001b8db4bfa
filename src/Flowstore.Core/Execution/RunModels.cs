namespace Flowstore;

/// <summary>The state of a flow run.</summary>
public enum RunState
{
    Scheduled,
    Running,
    Success,
    Failed,
    Cancelled,
}

/// <summary>The state of one task in a run.</summary>
public enum TaskRunState
{
    Pending,
    Running,
    Success,
    Failed,
    TimedOut,

    /// <summary>Not run because a task it depends on did not succeed.</summary>
    UpstreamFailed,

    Cancelled,
}

/// <summary>One line of a run log.</summary>
/// <param name="Time">When it was written (UTC).</param>
/// <param name="Task">The task that wrote it; null for the run itself.</param>
/// <param name="Level">Info, Warning, Error, or Output for console output.</param>
/// <param name="Message">The text (secrets redacted).</param>
public sealed record RunLogEntry(DateTimeOffset Time, string? Task, string Level, string Message);

/// <summary>What happened to one task.</summary>
public sealed class TaskRunResult
{
    public required string Name { get; init; }
    public required string Slug { get; init; }
    public TaskRunState State { get; internal set; } = TaskRunState.Pending;
    public int Attempts { get; internal set; }
    public DateTimeOffset? Started { get; internal set; }
    public DateTimeOffset? Ended { get; internal set; }

    /// <summary>Why the task failed (exception type and message of the last attempt).</summary>
    public string? Error { get; internal set; }

    /// <summary>The error id when the task failed on an error Flowstore raised (e.g. SecretNotFound from Secret.Get).</summary>
    public string? ErrorId { get; internal set; }

    public override string ToString() => $"{Name}: {State}";
}

/// <summary>The result of executing a flow.</summary>
public sealed class FlowExecutionResult
{
    public required RunState State { get; init; }
    public required IReadOnlyList<TaskRunResult> Tasks { get; init; }
    public required IReadOnlyList<RunLogEntry> Log { get; init; }

    /// <summary>A one-line reason when the run did not succeed.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// The error id of the first failed task when Flowstore raised its error (SecretNotFound, ...); null for other
    /// failures (a task's own exception, a timeout), which a recorded run reports as FlowRunFailed.
    /// </summary>
    public string? ErrorId { get; init; }

    /// <summary>Task results by task name (only tasks that returned a value).</summary>
    public IReadOnlyDictionary<string, object?> Results { get; init; } = new Dictionary<string, object?>();
}

/// <summary>Receives progress while a flow executes (called from worker threads).</summary>
public interface IRunObserver
{
    void TaskStateChanged(TaskRunResult task, int done, int total);
    void LogWritten(RunLogEntry entry);
}

/// <summary>How to execute a flow.</summary>
public sealed class ExecutionOptions
{
    /// <summary>How many tasks may run at once (independent tasks run in parallel).</summary>
    public int MaxParallelism { get; init; } = Math.Max(2, Environment.ProcessorCount);

    public IRunObserver? Observer { get; init; }

    /// <summary>Values replaced by *** in the run log (resolved secrets).</summary>
    public Func<IReadOnlyCollection<string>>? Redactions { get; init; }

    /// <summary>What <see cref="Secret.Get"/> resolves through in task code.</summary>
    public ISecretResolver? Secrets { get; init; }
}
