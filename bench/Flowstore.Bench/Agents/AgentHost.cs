using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Engine;

namespace Flowstore.Bench.Agents;

/// <summary>
/// The child side of <see cref="AgentProcess"/>: <c>Flowstore.Bench agent URL NAME HOME LABELS ISOLATION</c> runs one agent
/// against the server at URL (the real HTTP client, a home of its own, labels comma-separated, runs in worker processes
/// (Process) or in this one (InProcess)) in this process, as
/// Start-FlowAgent on another machine would, driven over stdin:
/// <list type="bullet">
/// <item><c>drain</c>: RunAgentAsync(once: true), the queue drained; answers the runs it executed and how long each
/// claim that returned a run took.</item>
/// <item><c>serve</c> / <c>stop</c>: RunAgentAsync(once: false) in the background (polling every
/// FLOWSTORE_POLL_INTERVAL), until stop; answers the runs it executed.</item>
/// </list>
/// Answers are single JSON lines after <see cref="Marker"/> on stdout (anything else a run prints is ignored).
/// </summary>
internal static class AgentHost
{
    public const string Marker = "@@flowstore-bench-agent ";

    public static async Task<int> MainAsync(IReadOnlyList<string> args)
    {
        if (args.Count != 5)
        {
            Console.Error.WriteLine("Usage: Flowstore.Bench agent URL NAME HOME LABELS Process|InProcess");
            return 2;
        }
        var (url, name, home, labels) = (new Uri(args[0]), args[1], args[2], args[3].Split(',', StringSplitOptions.RemoveEmptyEntries));
        var isolation = Enum.Parse<RunIsolation>(args[4]);
        var claims = new List<double>();
        var backend = TimedClaims.Wrap(new HttpFlowBackend(url, null), ms =>
        {
            lock (claims)
            {
                claims.Add(ms);
            }
        });
        using var client = new FlowClient(new FlowClientOptions { Home = home, Backend = backend });
        Answer(new { ready = true, pid = Environment.ProcessId });

        Task<IReadOnlyList<FlowRunRecord>>? serving = null;
        CancellationTokenSource? stop = null;
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is { } command)
        {
            switch (command.Trim())
            {
                case "drain":
                    lock (claims)
                    {
                        claims.Clear();
                    }
                    var started = Stopwatch.GetTimestamp();
                    var ran = await client.Runs.RunAgentAsync(name, once: true, labels: labels, isolation: isolation).ConfigureAwait(false);
                    var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    double[] claimed;
                    lock (claims)
                    {
                        claimed = claims.ToArray();
                    }
                    Answer(new { runs = ran.Select(r => new { r.Id, State = r.State.ToString(), r.Error }), claims = claimed, ms });
                    break;
                case "serve":
                    stop = new CancellationTokenSource();
                    var token = stop.Token;
                    serving = Task.Run(() => client.Runs.RunAgentAsync(name, once: false, cancellationToken: token, labels: labels, isolation: isolation), CancellationToken.None);
                    Answer(new { serving = true });
                    break;
                case "stop":
                    var served = Array.Empty<FlowRunRecord>() as IReadOnlyList<FlowRunRecord>;
                    if (serving is not null && stop is not null)
                    {
                        await stop.CancelAsync().ConfigureAwait(false);
                        try
                        {
                            served = await serving.ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                        }
                        stop.Dispose();
                        (serving, stop) = (null, null);
                    }
                    Answer(new { runs = served.Select(r => new { r.Id, State = r.State.ToString(), r.Error }) });
                    break;
                case "":
                    break;
                default:
                    Console.Error.WriteLine($"Unknown command '{command}'.");
                    return 2;
            }
        }
        return 0;
    }

    private static void Answer(object answer)
    {
        Console.Out.WriteLine(Marker + JsonSerializer.Serialize(answer));
        Console.Out.Flush();
    }
}

/// <summary>The agent's backend behind a proxy that times each claim that returned a run (ms, the whole HTTP round trip).</summary>
public class TimedClaims : DispatchProxy
{
    private IFlowBackend _inner = null!;
    private Action<double> _claimed = null!;

    public static IFlowBackend Wrap(IFlowBackend inner, Action<double> claimed)
    {
        var proxy = Create<IFlowBackend, TimedClaims>();
        var timed = (TimedClaims)(object)proxy;
        timed._inner = inner;
        timed._claimed = claimed;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        object? result;
        var started = Stopwatch.GetTimestamp();
        try
        {
            result = targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        if (targetMethod.Name == nameof(IFlowBackend.ClaimRunAsync) && result is Task<FlowRunRecord?> claim)
        {
            return TimeAsync(claim, started);
        }
        return result;
    }

    private async Task<FlowRunRecord?> TimeAsync(Task<FlowRunRecord?> claim, long started)
    {
        var run = await claim.ConfigureAwait(false);
        if (run is not null)
        {
            _claimed(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return run;
    }
}
