using System.Collections.Concurrent;
using System.Diagnostics;

namespace Flowstore;

/// <summary>
/// Runs a built flow: tasks in dependency order, independent tasks in parallel (bounded), results passed
/// along edges, retries with delay, per-attempt timeouts, cancellation; tasks downstream of a failure are
/// marked <see cref="TaskRunState.UpstreamFailed"/> and not run.
/// </summary>
public static class FlowExecutor
{
    public static async Task<FlowExecutionResult> RunAsync(Flow flow, IReadOnlyDictionary<string, object?>? parameters,
        ExecutionOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ExecutionOptions();
        using var secrets = Secret.Use(options.Secrets);
        var order = flow.TopologicalOrder();
        var values = ParameterBinder.Bind(flow, parameters);
        var log = new ConcurrentQueue<RunLogEntry>();
        var redactions = options.Redactions;

        // The rules of SecretRedaction: long values anywhere, short ones only where they stand alone.
        string Redact(string message)
            => redactions?.Invoke() is { Count: > 0 } secrets ? SecretRedaction.Redact(message, secrets) : message;

        void Write(RunLogEntry entry)
        {
            entry = entry with { Message = Redact(entry.Message) };
            log.Enqueue(entry);
            options.Observer?.LogWritten(entry);
        }

        var results = order.ToDictionary(t => t, t => new TaskRunResult { Name = t.Name, Slug = t.Slug });
        var outputs = new ConcurrentDictionary<FlowTask, object?>();
        var completions = order.ToDictionary(t => t, _ => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        using var gate = new SemaphoreSlim(Math.Max(1, options.MaxParallelism));
        var done = 0;

        void Finish(FlowTask task, TaskRunState state, string? error, string? errorId = null)
        {
            var r = results[task];
            r.State = state;
            r.ErrorId = errorId;
            // The error is shown to users (task results, the run's error): a secret in an exception message must not leak.
            r.Error = error is null ? null : Redact(error);
            r.Ended = DateTimeOffset.UtcNow;
            // Task states are part of the run log (level "State"), so Get-FlowRunLog tells the whole story.
            Write(new RunLogEntry(r.Ended.Value, task.Name, "State",
                state == TaskRunState.Success ? $"Task '{task.Name}' Success after {r.Attempts} attempt(s)." : $"Task '{task.Name}' {state}."));
            var count = Interlocked.Increment(ref done);
            options.Observer?.TaskStateChanged(r, count, order.Count);
            completions[task].TrySetResult(state == TaskRunState.Success);
        }

        async Task RunTask(FlowTask task)
        {
            var upstreamOk = true;
            foreach (var up in task.Upstream)
            {
                upstreamOk &= await completions[up].Task.ConfigureAwait(false);
            }
            if (!upstreamOk)
            {
                var failed = task.Upstream.Where(u => results[u].State != TaskRunState.Success).Select(u => u.Name);
                Finish(task, TaskRunState.UpstreamFailed, $"not run: upstream task(s) {string.Join(", ", failed)} did not succeed");
                return;
            }
            if (cancellationToken.IsCancellationRequested)
            {
                Finish(task, TaskRunState.Cancelled, "the run was cancelled");
                return;
            }

            try
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Finish(task, TaskRunState.Cancelled, "the run was cancelled");
                return;
            }

            try
            {
                var args = task.Inputs.Select(i => i.UpstreamTask is { } up ? outputs[up] : values[i.Parameter!.Name]).ToArray();
                var result = results[task];
                result.Started = DateTimeOffset.UtcNow;
                result.State = TaskRunState.Running;
                Write(new RunLogEntry(result.Started.Value, task.Name, "State", $"Task '{task.Name}' Running."));
                options.Observer?.TaskStateChanged(result, Volatile.Read(ref done), order.Count);
                var maxAttempts = task.Options.Retries + 1;
                for (var attempt = 1; ; attempt++)
                {
                    result.Attempts = attempt;
                    var (state, value, error, errorId) = await Attempt(task, args, Write, cancellationToken).ConfigureAwait(false);
                    if (state == TaskRunState.Success)
                    {
                        outputs[task] = value;
                        Finish(task, TaskRunState.Success, null);
                        return;
                    }
                    if (state == TaskRunState.Cancelled || attempt >= maxAttempts)
                    {
                        Write(new RunLogEntry(DateTimeOffset.UtcNow, task.Name, "Error", $"Task '{task.Name}' {Describe(state)} after {attempt} attempt(s): {error}"));
                        Finish(task, state, error, errorId);
                        return;
                    }
                    Write(new RunLogEntry(DateTimeOffset.UtcNow, task.Name, "Warning",
                        $"Task '{task.Name}' attempt {attempt} of {maxAttempts} {Describe(state)}: {error}; retrying in {task.Options.RetryDelay.TotalSeconds:0.###}s."));
                    try
                    {
                        await Task.Delay(task.Options.RetryDelay, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        Finish(task, TaskRunState.Cancelled, "the run was cancelled");
                        return;
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }

        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(order.Select(t => Task.Run(() => RunTask(t), CancellationToken.None))).ConfigureAwait(false);

        var tasks = order.Select(t => results[t]).ToArray();
        var state = tasks.All(t => t.State == TaskRunState.Success) ? RunState.Success
            : cancellationToken.IsCancellationRequested ? RunState.Cancelled
            : RunState.Failed;
        var firstFailure = tasks.FirstOrDefault(t => t.State is TaskRunState.Failed or TaskRunState.TimedOut);
        var errorText = state switch
        {
            RunState.Success => null,
            RunState.Cancelled => "The run was cancelled.",
            _ => firstFailure is null ? "A task did not succeed." : $"Task '{firstFailure.Name}' {Describe(firstFailure.State)}: {firstFailure.Error}",
        };
        Write(new RunLogEntry(DateTimeOffset.UtcNow, null, state == RunState.Success ? "Info" : "Error",
            $"Flow '{flow.Name}' finished {state} in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms."));
        return new FlowExecutionResult
        {
            State = state,
            Tasks = tasks,
            Log = log.ToArray(),
            Error = errorText,
            ErrorId = state == RunState.Failed ? firstFailure?.ErrorId : null,
            Results = order.Where(t => t.ResultType is not null && outputs.ContainsKey(t)).ToDictionary(t => t.Name, t => outputs[t]),
        };
    }

    private static string Describe(TaskRunState state) => state switch
    {
        TaskRunState.TimedOut => "timed out",
        TaskRunState.Cancelled => "was cancelled",
        _ => "failed",
    };

    private static async Task<(TaskRunState State, object? Value, string? Error, string? ErrorId)> Attempt(
        FlowTask task, object?[] args, Action<RunLogEntry> write, CancellationToken runToken)
    {
        using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(runToken);
        if (task.Options.Timeout is { } timeout)
        {
            attemptCts.CancelAfter(timeout);
        }
        try
        {
            var work = TaskScope.RunAsync(task.Name, write, () => task.Invoke(args, attemptCts.Token));
            // WaitAsync also ends the wait for a body that ignores its token; the body is then abandoned.
            var value = await work.WaitAsync(attemptCts.Token).ConfigureAwait(false);
            return (TaskRunState.Success, value, null, null);
        }
        catch (OperationCanceledException) when (runToken.IsCancellationRequested)
        {
            return (TaskRunState.Cancelled, null, "the run was cancelled", null);
        }
        catch (OperationCanceledException) when (attemptCts.IsCancellationRequested)
        {
            return (TaskRunState.TimedOut, null, $"exceeded its timeout of {task.Options.Timeout!.Value.TotalSeconds:0.###}s", null);
        }
        catch (Exception e)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } ae ? ae.InnerExceptions[0] : e;
            // The script's line that failed (or called into Flowstore, e.g. Secret.Get), never Flowstore's own source.
            var where = ScriptLocation.Of(inner, task.SourceFile);
            // An error Flowstore raised inside the task (a missing secret, say) keeps its id and reads as itself.
            return inner is FlowstoreException fe
                ? (TaskRunState.Failed, null, fe.Message + where, fe.ErrorId)
                : (TaskRunState.Failed, null, $"{inner.GetType().Name}: {inner.Message}{where}", null);
        }
    }
}
