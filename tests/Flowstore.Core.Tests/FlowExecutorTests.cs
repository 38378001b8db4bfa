using System.Collections.Concurrent;

namespace Flowstore.Core.Tests;

public class FlowExecutorTests
{
    // A guard against hangs, never a timing assumption: every wait below completes long before it when the code works.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static int Fail(string message) => throw new InvalidOperationException(message);

    private static TaskRunResult Task(FlowExecutionResult result, string name) => result.Tasks.Single(t => t.Name == name);

    [Fact]
    public async Task Tasks_run_in_dependency_order()
    {
        var events = new ConcurrentQueue<string>();
        var flow = new Flow("diamond");
        void Body(string name)
        {
            events.Enqueue(name + ":start");
            events.Enqueue(name + ":end");
        }
        // Declared so that a run in declaration order would be wrong.
        var top = flow.Task("top", () => { Body("top"); return 1; });
        var left = flow.Task("left", (int v) => { Body("left"); return v; }, top);
        var right = flow.Task("right", (int v) => { Body("right"); return v; }, top);
        var bottom = flow.Task("bottom", (int l, int r) => { Body("bottom"); return l + r; }, left, right);
        flow.Task("last", () => Body("last")).After(bottom);

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        Assert.Equal(RunState.Success, result.State);
        var list = events.ToList();
        void Before(string upstream, string downstream)
            => Assert.True(list.IndexOf(upstream + ":end") < list.IndexOf(downstream + ":start"), $"{upstream} must end before {downstream} starts: {string.Join(" ", list)}");
        Before("top", "left");
        Before("top", "right");
        Before("left", "bottom");
        Before("right", "bottom");
        Before("bottom", "last");
        Assert.Equal(10, list.Count);
    }

    [Fact]
    public async Task Independent_tasks_run_at_the_same_time()
    {
        var aStarted = NewGate();
        var bStarted = NewGate();
        var flow = new Flow("parallel");
        // Each task waits until the other one has started: run one after the other, they would time out.
        flow.Task("a", async () => { aStarted.SetResult(); await bStarted.Task.WaitAsync(Guard); });
        flow.Task("b", async () => { bStarted.SetResult(); await aStarted.Task.WaitAsync(Guard); });

        var result = await FlowExecutor.RunAsync(flow, null, new ExecutionOptions { MaxParallelism = 2 }).WaitAsync(Guard * 2);

        Assert.Equal(RunState.Success, result.State);
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(2, 6)]
    [InlineData(3, 8)]
    public async Task Never_more_than_MaxParallelism_tasks_run_at_once(int limit, int count)
    {
        var running = 0;
        var max = 0;
        var startedSignal = new SemaphoreSlim(0);
        var startOrder = new ConcurrentQueue<int>();
        var releases = Enumerable.Range(0, count).Select(_ => NewGate()).ToArray();
        var flow = new Flow("bounded");
        for (var i = 0; i < count; i++)
        {
            var index = i;
            flow.Task($"t{i}", async () =>
            {
                var now = Interlocked.Increment(ref running);
                for (var seen = Volatile.Read(ref max); now > seen; seen = Volatile.Read(ref max))
                {
                    Interlocked.CompareExchange(ref max, now, seen);
                }
                startOrder.Enqueue(index);
                startedSignal.Release();
                await releases[index].Task;
                Interlocked.Decrement(ref running);
            });
        }

        var run = FlowExecutor.RunAsync(flow, null, new ExecutionOptions { MaxParallelism = limit });

        // Wait until `limit` tasks run; then free them one at a time, each time waiting for the next one to start.
        for (var i = 0; i < limit; i++)
        {
            Assert.True(await startedSignal.WaitAsync(Guard), "fewer tasks than MaxParallelism started");
        }
        var starts = limit;
        for (var released = 0; released < count; released++)
        {
            Assert.True(Volatile.Read(ref running) <= limit, $"{running} tasks running, limit {limit}");
            releases[startOrder.ElementAt(released)].SetResult();
            if (starts < count)
            {
                Assert.True(await startedSignal.WaitAsync(Guard), "no task started after a slot was freed");
                starts++;
            }
        }
        var result = await run.WaitAsync(Guard);

        Assert.Equal(RunState.Success, result.State);
        Assert.Equal(limit, max);
        Assert.Equal(count, startOrder.Count);
    }

    [Fact]
    public async Task A_task_that_fails_twice_succeeds_with_two_retries()
    {
        var attempts = 0;
        var flow = new Flow("retry");
        flow.Task("flaky", () =>
        {
            if (Interlocked.Increment(ref attempts) < 3)
            {
                throw new InvalidOperationException("not yet");
            }
            return 7;
        }, new TaskOptions { Retries = 2 });

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        Assert.Equal(RunState.Success, result.State);
        Assert.Equal(TaskRunState.Success, Task(result, "flaky").State);
        Assert.Equal(3, Task(result, "flaky").Attempts);
        Assert.Equal(7, result.Results["flaky"]);
        Assert.Equal(2, result.Log.Count(l => l.Task == "flaky" && l.Level == "Warning" && l.Message.Contains("retrying")));
    }

    [Fact]
    public async Task A_task_that_fails_more_often_than_its_retries_fails()
    {
        var attempts = 0;
        var flow = new Flow("retry");
        flow.Task("flaky", () =>
        {
            if (Interlocked.Increment(ref attempts) < 3)
            {
                throw new InvalidOperationException("not yet");
            }
            return 7;
        }, new TaskOptions { Retries = 1 });

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        Assert.Equal(RunState.Failed, result.State);
        var task = Task(result, "flaky");
        Assert.Equal(TaskRunState.Failed, task.State);
        Assert.Equal(2, task.Attempts);
        Assert.Equal(2, attempts);
        Assert.Contains("InvalidOperationException", task.Error);
        Assert.Contains("not yet", task.Error);
        Assert.Contains("flaky", result.Error);
        Assert.False(result.Results.ContainsKey("flaky"));
    }

    [Fact]
    public async Task A_task_past_its_timeout_is_TimedOut()
    {
        var flow = new Flow("timeout");
        flow.Task("hang", async (CancellationToken ct) => { await System.Threading.Tasks.Task.Delay(Timeout.Infinite, ct); },
            new TaskOptions { Timeout = TimeSpan.FromMilliseconds(100) });

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        Assert.Equal(RunState.Failed, result.State);
        Assert.Equal(TaskRunState.TimedOut, Task(result, "hang").State);
        Assert.Contains("timed out", result.Error);
    }

    [Fact]
    public async Task A_task_that_ignores_its_token_still_times_out()
    {
        var never = NewGate();
        var flow = new Flow("timeout");
        flow.Task("stubborn", async () => { await never.Task; }, new TaskOptions { Timeout = TimeSpan.FromMilliseconds(100), Retries = 1 });

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        Assert.Equal(TaskRunState.TimedOut, Task(result, "stubborn").State);
        Assert.Equal(2, Task(result, "stubborn").Attempts);
    }

    [Fact]
    public async Task Cancelling_the_run_token_cancels_the_run()
    {
        var started = NewGate();
        var downstreamRan = false;
        var tokenSeen = NewGate();
        using var cts = new CancellationTokenSource();
        var flow = new Flow("cancel");
        var wait = flow.Task("wait", async (CancellationToken ct) =>
        {
            ct.Register(() => tokenSeen.TrySetResult());
            started.SetResult();
            await System.Threading.Tasks.Task.Delay(Timeout.Infinite, ct);
            return 1;
        });
        flow.Task("after", (int v) => { downstreamRan = true; }, wait);

        var run = FlowExecutor.RunAsync(flow, null, null, cts.Token);
        await started.Task.WaitAsync(Guard);
        cts.Cancel();
        var result = await run.WaitAsync(Guard);

        Assert.Equal(RunState.Cancelled, result.State);
        Assert.Equal(TaskRunState.Cancelled, Task(result, "wait").State);
        Assert.True(tokenSeen.Task.IsCompleted, "the task's token was not cancelled");
        Assert.False(downstreamRan);
        Assert.NotEqual(TaskRunState.Success, Task(result, "after").State);
        Assert.Equal("The run was cancelled.", result.Error);
    }

    [Fact]
    public async Task A_run_cancelled_before_it_starts_runs_no_task()
    {
        var ran = false;
        var flow = new Flow("cancel");
        flow.Task("a", () => { ran = true; });
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        var result = await FlowExecutor.RunAsync(flow, null, null, cts.Token).WaitAsync(Guard);

        Assert.Equal(RunState.Cancelled, result.State);
        Assert.Equal(TaskRunState.Cancelled, Task(result, "a").State);
        Assert.False(ran);
    }

    [Fact]
    public async Task A_failure_stops_its_downstream_but_not_an_independent_branch()
    {
        var downstreamRan = false;
        var flow = new Flow("failing");
        var bad = flow.Task("bad", () => Fail("broken"));
        var next = flow.Task("next", (int v) => { downstreamRan = true; return v; }, bad);
        flow.Task("after_next", () => { downstreamRan = true; }).After(next);
        flow.Task("independent", () => 42);

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        Assert.Equal(RunState.Failed, result.State);
        Assert.Equal(TaskRunState.Failed, Task(result, "bad").State);
        Assert.Equal(TaskRunState.UpstreamFailed, Task(result, "next").State);
        Assert.Equal(TaskRunState.UpstreamFailed, Task(result, "after_next").State);
        Assert.Contains("bad", Task(result, "next").Error);
        Assert.Equal(0, Task(result, "next").Attempts);
        Assert.False(downstreamRan);
        Assert.Equal(TaskRunState.Success, Task(result, "independent").State);
        Assert.Equal(42, result.Results["independent"]);
        Assert.StartsWith("Task 'bad' failed", result.Error);
        Assert.Contains("broken", result.Error);
    }

    [Fact]
    public async Task Results_and_parameters_are_passed_along_edges()
    {
        var flow = new Flow("data");
        var factor = flow.Parameter("factor", 2);
        var numbers = flow.Task("numbers", () => new List<int> { 1, 2, 3 });
        var scaled = flow.Task("scaled", (List<int> values, int by) => values.Select(v => v * by).ToArray(), numbers, factor);
        flow.Task("sum", async (int[] values, CancellationToken ct) => { await System.Threading.Tasks.Task.Yield(); return values.Sum(); }, scaled);

        var result = await FlowExecutor.RunAsync(flow, new Dictionary<string, object?> { ["factor"] = "10" }).WaitAsync(Guard);

        Assert.Equal(RunState.Success, result.State);
        Assert.Equal(new[] { 10, 20, 30 }, result.Results["scaled"]);
        Assert.Equal(60, result.Results["sum"]);
    }

    [Fact]
    public async Task Parameter_errors_come_before_any_task_runs()
    {
        var ran = false;
        var flow = new Flow("params");
        var n = flow.Parameter<int>("n");
        flow.Task("use", (int v) => { ran = true; }, n);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => FlowExecutor.RunAsync(flow, null));

        Assert.Equal(ErrorIds.ParameterMissing, e.ErrorId);
        Assert.False(ran);
    }

    [Fact]
    public async Task Console_output_of_parallel_tasks_is_captured_per_task_without_mixing()
    {
        const int lines = 300;
        var aStarted = NewGate();
        var bStarted = NewGate();
        var flow = new Flow("console");
        async Task Write(string prefix, TaskCompletionSource mine, TaskCompletionSource other)
        {
            mine.SetResult();
            await other.Task.WaitAsync(Guard); // both write at the same time
            for (var i = 0; i < lines; i++)
            {
                // Pieces of one line in separate calls: a shared line buffer would interleave them.
                Console.Write(prefix);
                Console.Write(':');
                Console.Write(i);
                Console.WriteLine();
                if (i % 50 == 0)
                {
                    await System.Threading.Tasks.Task.Yield();
                }
            }
        }
        flow.Task("a", () => Write("A", aStarted, bStarted));
        flow.Task("b", () => Write("B", bStarted, aStarted));

        var result = await FlowExecutor.RunAsync(flow, null, new ExecutionOptions { MaxParallelism = 2 }).WaitAsync(Guard);

        Assert.Equal(RunState.Success, result.State);
        foreach (var (task, prefix) in new[] { ("a", "A"), ("b", "B") })
        {
            var output = result.Log.Where(l => l.Task == task && l.Level == "Output").Select(l => l.Message).ToArray();
            Assert.Equal(Enumerable.Range(0, lines).Select(i => $"{prefix}:{i}"), output);
        }
        Assert.DoesNotContain(result.Log, l => l.Level == "Output" && l.Task is null);
    }

    private static async Task WritePartAsync(string text)
    {
        await System.Threading.Tasks.Task.Yield();
        Console.Write(text);
    }

    [Fact]
    public async Task Console_text_is_not_lost_across_async_methods_or_without_a_final_newline()
    {
        var flow = new Flow("console");
        flow.Task("nested", async () =>
        {
            await WritePartAsync("rows: ");
            Console.WriteLine(42);
            Console.Out.Flush(); // a flush adds no line
            Console.Error.WriteLine("warning text");
        });
        flow.Task("trailing", () => { Console.Write("50% done"); });

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        Assert.Equal(new[] { ("Output", "rows: 42"), ("Error", "warning text") },
            result.Log.Where(l => l.Task == "nested" && l.Level != "State").Select(l => (l.Level, l.Message)));
        Assert.Equal(new[] { ("Output", "50% done") },
            result.Log.Where(l => l.Task == "trailing" && l.Level != "State").Select(l => (l.Level, l.Message)));
    }

    [Fact]
    public async Task Log_calls_land_in_the_run_log_under_the_task()
    {
        var flow = new Flow("logging");
        flow.Task("work", async () =>
        {
            Log.Info("starting");
            await System.Threading.Tasks.Task.Yield();
            Log.Warning("careful");
            Log.Error("oops");
        });
        flow.Task("quiet", () => 1);

        var result = await FlowExecutor.RunAsync(flow, null).WaitAsync(Guard);

        var work = result.Log.Where(l => l.Task == "work" && l.Level != "State").Select(l => (l.Level, l.Message)).ToArray();
        Assert.Equal(new[] { ("Info", "starting"), ("Warning", "careful"), ("Error", "oops") }, work);
        Assert.DoesNotContain(result.Log, l => l.Task == "quiet" && l.Level != "State");
        Assert.Contains(result.Log, l => l.Task is null && l.Message.Contains("finished Success"));
    }

    [Fact]
    public async Task The_observer_sees_each_state_and_log_line()
    {
        var observer = new RecordingObserver();
        var flow = new Flow("observed");
        var a = flow.Task("a", () => { Log.Info("hi"); return 1; });
        flow.Task("b", (int v) => v, a);

        var result = await FlowExecutor.RunAsync(flow, null, new ExecutionOptions { Observer = observer }).WaitAsync(Guard);

        Assert.Equal(RunState.Success, result.State);
        Assert.Contains(("a", TaskRunState.Running), observer.States);
        Assert.Contains(("a", TaskRunState.Success), observer.States);
        Assert.Contains(("b", TaskRunState.Success), observer.States);
        Assert.Contains(observer.Log, l => l.Task == "a" && l.Message == "hi");
    }

    [Fact]
    public async Task Secret_values_are_redacted_in_the_log_and_errors()
    {
        const string secret = "hunter2-s3cr3t";
        var observer = new RecordingObserver();
        var flow = new Flow("secrets");
        flow.Task("leaky", () =>
        {
            Log.Info($"token is {secret}");
            Console.WriteLine($"Authorization: Bearer {secret}");
            throw new InvalidOperationException($"request with {secret} was rejected");
        });

        var result = await FlowExecutor.RunAsync(flow, null, new ExecutionOptions
        {
            Observer = observer,
            Redactions = () => new[] { secret },
        }).WaitAsync(Guard);

        Assert.Equal(RunState.Failed, result.State);
        Assert.Contains(result.Log, l => l.Message == "token is ***");
        Assert.Contains(result.Log, l => l.Message == "Authorization: Bearer ***");
        Assert.DoesNotContain(result.Log, l => l.Message.Contains(secret));
        Assert.DoesNotContain(observer.Log, l => l.Message.Contains(secret));
        // The reason of the failure is shown to users as an error message: it must not carry the secret either.
        Assert.DoesNotContain(secret, Task(result, "leaky").Error);
        Assert.Contains("***", Task(result, "leaky").Error);
        Assert.DoesNotContain(secret, result.Error);
    }

    private sealed class RecordingObserver : IRunObserver
    {
        public ConcurrentQueue<(string, TaskRunState)> States { get; } = new();
        public ConcurrentQueue<RunLogEntry> Log { get; } = new();

        public void TaskStateChanged(TaskRunResult task, int done, int total) => States.Enqueue((task.Name, task.State));

        public void LogWritten(RunLogEntry entry) => Log.Enqueue(entry);
    }
}
