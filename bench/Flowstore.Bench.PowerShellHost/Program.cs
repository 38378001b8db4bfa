using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.Loader;
using System.Text.Json;

namespace Flowstore.Bench.PowerShellHost;

/// <summary>
/// The PowerShell level of the start-latency benchmark (bench/README.md, suite `runs`). Hosts PowerShell in this
/// process, imports the module from its manifest (out/module must be built), registers the start flow once, runs it
/// once untimed (compile cache and JIT warm), then answers requests on stdin, one line each, with one JSON line on
/// stdout:
///
///   run M   time M calls of `Start-FlowRun -Name N -Project P -Wait` in the same runspace: for each, from just
///           before the call to the moment the flow's first task body took its Stopwatch timestamp (the script
///           stores it with AppContext.SetData, which every load context of the process shares), and the whole call
///   probe M M times each: an empty invocation ($null) and `Get-Flow -Name N -Project P` (what Start-FlowRun does
///           before RunNowAsync: a new FlowClient, the backend opened, the flow record read); the harness asks
///           under --profile
///   quit    ends
///
/// Errors end the process with a message on stderr and a non-zero exit code.
/// </summary>
public static class Program
{
    /// <summary>The AppContext key the start flow's first task stores its Stopwatch timestamp under.</summary>
    public const string SignalKey = "Flowstore.Bench.FirstTaskStarted";

    public static int Main(string[] args)
    {
        // Protocol lines go straight to stdout: the engine reroutes Console.Out while tasks run.
        using var protocol = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
        try
        {
            var o = Options.Parse(args);
            Environment.SetEnvironmentVariable("FLOWSTORE_HOME", o.Home);

            var state = InitialSessionState.CreateDefault2();
            using var runspace = RunspaceFactory.CreateRunspace(state);
            runspace.Open();

            var import = Stopwatch.StartNew();
            Invoke(runspace, $"Import-Module '{Quote(o.Manifest)}' -ErrorAction Stop");
            var importMs = import.Elapsed.TotalMilliseconds;

            Invoke(runspace, $"New-FlowProject -Name '{Quote(o.Project)}' -ErrorAction Stop | Out-Null");
            var registered = Invoke(runspace, $"(Register-Flow -Path '{Quote(o.Script)}' -Project '{Quote(o.Project)}' -ErrorAction Stop).Status");
            if (registered.Count != 1 || registered[0]?.ToString() != "Registered")
            {
                throw new InvalidOperationException($"Register-Flow did not register the start flow: {string.Join(", ", registered)}.");
            }

            var command = $"Start-FlowRun -Name '{Quote(o.Name)}' -Project '{Quote(o.Project)}' -Wait";
            var warm = TimeRun(runspace, command);   // untimed: compiles the script, JITs the path
            var engine = AssemblyLoadContext.All
                .SelectMany(c => c.Assemblies.Where(a => a.GetName().Name == "Flowstore.Engine").Select(a => $"{c.Name} ({a.Location})"))
                .ToArray();
            protocol.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["ready"] = true,
                ["command"] = command,
                ["importMs"] = importMs,
                ["warmupFirstTaskMs"] = warm.FirstTaskMs,
                ["warmupCallMs"] = warm.CallMs,
                ["engine"] = string.Join("; ", engine),
                ["defaultContextHasEngine"] = AssemblyLoadContext.Default.Assemblies.Any(a => a.GetName().Name == "Flowstore.Engine"),
                ["psVersion"] = typeof(PSObject).Assembly.GetName().Version?.ToString(),
            }));

            string? line;
            while ((line = Console.ReadLine()) is not null)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0)
                {
                    continue;
                }
                if (parts[0] == "quit")
                {
                    break;
                }
                if (parts[0] == "probe" && parts.Length == 2 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) && k > 0)
                {
                    // Where the PowerShell level's time goes besides RunNowAsync: an empty invocation (runspace and
                    // pipeline), and Get-Flow (a cmdlet that does what Start-FlowRun does before RunNowAsync: a new
                    // FlowClient, the backend opened, the flow's record read).
                    var empty = new List<double>(k);
                    var getFlow = new List<double>(k);
                    for (var i = 0; i < k; i++)
                    {
                        empty.Add(TimeInvoke(runspace, "$null", 0));
                        getFlow.Add(TimeInvoke(runspace, $"Get-Flow -Name '{Quote(o.Name)}' -Project '{Quote(o.Project)}'", 1));
                    }
                    protocol.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                    {
                        ["emptyMs"] = empty,
                        ["getFlowMs"] = getFlow,
                    }));
                    continue;
                }
                if (parts[0] != "run" || parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) || m < 1)
                {
                    throw new InvalidOperationException($"Unknown request '{line}'.");
                }
                // As the harness does before every repetition: start from the same memory state.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                var first = new List<double>(m);
                var calls = new List<double>(m);
                var cpu = Environment.CpuUsage.TotalTime;
                for (var i = 0; i < m; i++)
                {
                    var r = TimeRun(runspace, command);
                    first.Add(r.FirstTaskMs);
                    calls.Add(r.CallMs);
                }
                var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds;
                protocol.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["firstTaskMs"] = first,
                    ["callMs"] = calls,
                    ["cpuMs"] = cpuMs,
                }));
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"Flowstore.Bench.PowerShellHost failed: {e}");
            return 1;
        }
    }

    private static (double FirstTaskMs, double CallMs) TimeRun(Runspace runspace, string command)
    {
        AppContext.SetData(SignalKey, null);
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(command);
        var start = Stopwatch.GetTimestamp();
        var output = ps.Invoke();
        var end = Stopwatch.GetTimestamp();
        if (ps.HadErrors || output.Count != 1)
        {
            throw new InvalidOperationException($"'{command}' failed: {string.Join("; ", ps.Streams.Error.Select(e => e.ToString()))} (output: {output.Count} objects).");
        }
        var runState = output[0].Properties["State"]?.Value?.ToString();
        if (runState != "Success")
        {
            throw new InvalidOperationException($"The run ended {runState}: {output[0].Properties["Error"]?.Value}.");
        }
        if (AppContext.GetData(SignalKey) is not long started)
        {
            throw new InvalidOperationException("The flow's first task did not record its start (AppContext data missing).");
        }
        return (Stopwatch.GetElapsedTime(start, started).TotalMilliseconds, Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
    }

    private static double TimeInvoke(Runspace runspace, string script, int expectedOutput)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        var start = Stopwatch.GetTimestamp();
        var output = ps.Invoke();
        var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (ps.HadErrors || output.Count(o => o is not null) != expectedOutput)
        {
            throw new InvalidOperationException($"'{script}' failed: {string.Join("; ", ps.Streams.Error.Select(e => e.ToString()))} (output: {output.Count} objects).");
        }
        return ms;
    }

    private static IReadOnlyList<object?> Invoke(Runspace runspace, string script)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        var output = ps.Invoke();
        if (ps.HadErrors)
        {
            throw new InvalidOperationException($"'{script}' failed: {string.Join("; ", ps.Streams.Error.Select(e => e.ToString()))}");
        }
        return output.Select(o => o?.BaseObject).ToArray();
    }

    private static string Quote(string s) => s.Replace("'", "''", StringComparison.Ordinal);

    private sealed class Options
    {
        public string Manifest { get; private set; } = "";
        public string Home { get; private set; } = "";
        public string Script { get; private set; } = "";
        public string Project { get; private set; } = "";
        public string Name { get; private set; } = "";

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                var value = args[i + 1];
                switch (args[i])
                {
                    case "--manifest": o.Manifest = Path.GetFullPath(value); break;
                    case "--home": o.Home = Path.GetFullPath(value); break;
                    case "--script": o.Script = Path.GetFullPath(value); break;
                    case "--project": o.Project = value; break;
                    case "--name": o.Name = value; break;
                    default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
                }
            }
            if (new[] { o.Manifest, o.Home, o.Script, o.Project, o.Name }.Any(string.IsNullOrEmpty))
            {
                throw new ArgumentException("Usage: --manifest PSD1 --home DIR --script FILE --project P --name FLOW");
            }
            return o;
        }
    }
}
