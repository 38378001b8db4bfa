using System.Collections.Concurrent;
using System.Text;
using Flowstore.Scripting;

namespace Flowstore.Engine;

/// <summary>
/// The run worker process (Flowstore.RunHost): executes the runs an agent hands it, one at a time, as the agent would in
/// its own process (<see cref="FlowRuns.ExecuteHereAsync"/>: fetch from storage, compile with the home's cache, build,
/// check the structure, run the tasks), and streams provenance, task states, log lines and the end back as JSON lines
/// (<see cref="RunWorkerMessage"/>). It never touches the backend: the agent claims, heartbeats, writes the log and
/// records the end, and resolves the secrets the worker asks for. Its stdout belongs to the pipe; what flows print goes
/// to their run's log, anything else nowhere. It ends when its input closes (the agent ended it, or died).
/// </summary>
public static class RunWorker
{
    private static readonly object WriteGate = new();
    private static StreamWriter _out = null!;

    /// <summary>The worker's main loop. Arguments: <c>--home PATH</c>.</summary>
    public static int Run(string[] args)
    {
        var home = Arg(args, "--home") ?? FlowstoreHome.Path;
        _out = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
        var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
        // The pipe owns stdin/stdout: what a flow prints outside a task, or reads, must not reach them. Stderr stays for
        // the runtime's own last words (a stack overflow, a fatal error), which the agent reports when the worker dies.
        Console.SetOut(TextWriter.Null);
        Console.SetError(TextWriter.Null);
        Console.SetIn(TextReader.Null);
        // Past the GC heap hard limit: the heap may be in any state, and a flow could catch the error and go on. The
        // worker ends at once, with an exit code the agent reads as "out of memory".
        AppDomain.CurrentDomain.FirstChanceException += (_, e) =>
        {
            if (e.Exception is OutOfMemoryException)
            {
                Environment.Exit(RunWorkerOutcome.ExitOutOfMemory);
            }
        };

        var directory = AppContext.BaseDirectory;
        System.Runtime.Loader.AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            var candidate = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(candidate) ? context.LoadFromAssemblyPath(candidate) : null;
        };

        var compiler = new ScriptCompiler(Path.Combine(home, "cache", "assemblies"), additionalReferences: BuiltInStorage.SettingsAssemblies);
        var guard = new ScriptBuildGuard(ScriptBuildLimits.FromEnvironment());
        var loader = new FlowScriptLoader(compiler, guard);
        var providers = new StorageProviders();
        foreach (var provider in BuiltInStorage.Providers(home))
        {
            providers.Add(provider);
        }
        var secrets = new AgentSecrets();
        var builder = new FlowBuilder(providers, loader, secrets);
        WarmUp(guard);
        Send(new RunWorkerMessage { Type = RunWorkerMessage.Ready, ProcessId = Environment.ProcessId });

        CancellationTokenSource? current = null;
        Guid currentRun = Guid.Empty;
        while (input.ReadLine() is { } line)
        {
            if (RunWorkerMessage.Parse(line) is not { } message)
            {
                continue;
            }
            switch (message.Type)
            {
                case RunWorkerMessage.Execute when message.Run is { } run && message.Flow is { } flow:
                    var stop = new CancellationTokenSource();
                    current = stop;
                    currentRun = run.Id;
                    _ = Task.Run(() => ExecuteAsync(builder, secrets, run, flow, message.MaxParallelism, stop));
                    break;
                case RunWorkerMessage.Stop when message.RunId == currentRun:
                    current?.Cancel();
                    break;
                case RunWorkerMessage.SecretValue:
                    secrets.Answer(message);
                    break;
            }
        }
        // The agent closed the pipe (or died): end now, also when an abandoned task is still running.
        guard.Dispose();
        Environment.Exit(0);
        return 0;
    }

    private static async Task ExecuteAsync(FlowBuilder builder, AgentSecrets secrets, FlowRunRecord run, FlowRecord flow, int maxParallelism,
        CancellationTokenSource stop)
    {
        var tasks = new ConcurrentDictionary<string, TaskRunRecord>(StringComparer.Ordinal);
        var observer = new Relay(run.Id, tasks);
        secrets.RunId = run.Id;
        var completion = await FlowRuns.GuardedAsync(run, fetched => FlowRuns.ExecuteHereAsync(builder, flow, run, observer, secrets, () => secrets.ResolvedValues,
                Math.Max(1, maxParallelism), source =>
                {
                    fetched(source);
                    Send(new RunWorkerMessage { Type = RunWorkerMessage.Fetched, RunId = run.Id, Sha256 = source.Sha256, StorageVersion = source.StorageVersion });
                }, stop.Token),
            () => tasks.Values.ToArray(),
            entry => Send(new RunWorkerMessage { Type = RunWorkerMessage.Log, RunId = run.Id, Entry = entry, LogOnly = true }),
            stop.Token).ConfigureAwait(false);
        Send(new RunWorkerMessage { Type = RunWorkerMessage.End, RunId = run.Id, Completion = completion });
    }

    // Loads and runs the engine's paths a run takes (compiler, loader, executor), so that the first run handed to this
    // worker does not pay for them; and starts the build guard's own worker.
    private static void WarmUp(ScriptBuildGuard guard)
    {
        guard.Prewarm();
        try
        {
            var warm = new ScriptCompiler(cacheDirectory: null, additionalReferences: BuiltInStorage.SettingsAssemblies);
            var compiled = warm.CompileAsync("var flow = new Flowstore.Flow(\"warm-up\");\nflow.Task(\"noop\", () => 1);\n", "warm-up").GetAwaiter().GetResult();
            var flows = FlowBuild.Run(compiled.Assembly, "warm-up");
            FlowExecutor.RunAsync(flows[0], null).GetAwaiter().GetResult();
            warm.ClearMemory();
        }
        catch (Exception)
        {
            // Only a head start: a run that meets the same fault reports it.
        }
    }

    internal static void Send(RunWorkerMessage message)
    {
        var line = message.ToLine();
        lock (WriteGate)
        {
            try
            {
                _out.WriteLine(line);
                _out.Flush();
            }
            catch (IOException)
            {
                Environment.Exit(0); // the agent is gone
            }
        }
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Sends task states and log lines (already redacted) to the agent as they happen.</summary>
    private sealed class Relay(Guid runId, ConcurrentDictionary<string, TaskRunRecord> tasks) : IRunObserver
    {
        public void TaskStateChanged(TaskRunResult task, int done, int total)
        {
            var record = new TaskRunRecord(task.Name, task.Slug, task.State, task.Attempts, task.Started, task.Ended, task.Error);
            tasks[task.Slug] = record;
            Send(new RunWorkerMessage { Type = RunWorkerMessage.TaskState, RunId = runId, Task = record, TaskErrorId = task.ErrorId, Done = done, Total = total });
        }

        public void LogWritten(RunLogEntry entry) => Send(new RunWorkerMessage { Type = RunWorkerMessage.Log, RunId = runId, Entry = entry });
    }

    /// <summary>Secrets come from the agent, which looks them up where it would for a run in its own process.</summary>
    private sealed class AgentSecrets : ISecretResolver
    {
        private readonly ConcurrentDictionary<int, TaskCompletionSource<RunWorkerMessage>> _pending = new();
        private readonly HashSet<string> _resolved = new(StringComparer.Ordinal);
        private int _next;

        public Guid RunId { get; set; }

        public IReadOnlyCollection<string> ResolvedValues
        {
            get
            {
                lock (_resolved)
                {
                    return _resolved.ToArray();
                }
            }
        }

        public async ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken)
        {
            var id = Interlocked.Increment(ref _next);
            var answer = new TaskCompletionSource<RunWorkerMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[id] = answer;
            try
            {
                Send(new RunWorkerMessage { Type = RunWorkerMessage.SecretRequest, RunId = RunId, RequestId = id, Name = name });
                var message = await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (message.Value is { } value)
                {
                    lock (_resolved)
                    {
                        _resolved.Add(value);
                    }
                    SecretRedaction.Add(value);
                    return value;
                }
                throw new FlowstoreException(message.ErrorId ?? ErrorIds.SecretNotFound, message.Kind, message.Message ?? $"Secret '{name}' was not found.") { Target = name };
            }
            finally
            {
                _pending.TryRemove(id, out _);
            }
        }

        public void Answer(RunWorkerMessage message)
        {
            if (_pending.TryGetValue(message.RequestId, out var waiting))
            {
                waiting.TrySetResult(message);
            }
        }
    }
}
