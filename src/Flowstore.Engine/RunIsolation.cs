using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flowstore.Engine;

/// <summary>Where an agent executes the runs it claims.</summary>
public enum RunIsolation
{
    /// <summary>
    /// In a worker process of its own (the default): a flow that calls Environment.Exit, overflows its stack, exhausts
    /// memory or crashes natively fails its run only (<see cref="ErrorIds.RunProcessCrashed"/>), and a run that does not
    /// stop when asked is ended by killing its worker.
    /// </summary>
    Process,

    /// <summary>In the agent's own process, as Start-FlowRun -Wait does: the lowest latency, no protection.</summary>
    InProcess,
}

/// <summary>
/// One line of the pipe between an agent and a run's worker process (JSON, one object per line). Agent to worker:
/// <c>run</c> (the run and its flow), <c>stop</c>, <c>secret-value</c> (an answer). Worker to agent: <c>ready</c>,
/// <c>fetched</c> (provenance), <c>log</c>, <c>task</c> (a task's state), <c>secret</c> (a request: the agent resolves
/// secrets, so the worker never reads a secret store or vault of its own), <c>end</c> (how the run ended). Every line
/// about a run names it, so lines an abandoned task writes after its run ended are told apart. Secret values travel on
/// the pipe only, never into a log.
/// </summary>
internal sealed record RunWorkerMessage
{
    public const string Ready = "ready", Execute = "run", Stop = "stop", SecretValue = "secret-value",
        Fetched = "fetched", Log = "log", TaskState = "task", SecretRequest = "secret", End = "end";

    public required string Type { get; init; }

    /// <summary>The run this line is about.</summary>
    public Guid RunId { get; init; }

    public FlowRunRecord? Run { get; init; }
    public FlowRecord? Flow { get; init; }
    public int MaxParallelism { get; init; }

    public RunLogEntry? Entry { get; init; }

    /// <summary>A log line for the run's log only, not for the caller's observer (the error that ended the run).</summary>
    public bool LogOnly { get; init; }

    public TaskRunRecord? Task { get; init; }
    public string? TaskErrorId { get; init; }
    public int Done { get; init; }
    public int Total { get; init; }

    public string? Sha256 { get; init; }
    public string? StorageVersion { get; init; }

    /// <summary>A secret request's number (its answer carries it back).</summary>
    public int RequestId { get; init; }
    public string? Name { get; init; }
    public string? Value { get; init; }
    public string? ErrorId { get; init; }
    public FlowErrorKind Kind { get; init; }
    public string? Message { get; init; }

    public RunCompletion? Completion { get; init; }

    public int ProcessId { get; init; }

    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToLine() => JsonSerializer.Serialize(this, Options);

    /// <summary>The message on a line, or null for a line that is not one (nothing else should reach the pipe).</summary>
    public static RunWorkerMessage? Parse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<RunWorkerMessage>(line, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
