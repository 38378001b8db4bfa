using System.Buffers.Binary;
using System.Runtime.Loader;
using System.Text;
using System.Text.Json;

namespace Flowstore.Scripting;

/// <summary>
/// The build worker: the child process (Flowstore.BuildHost) that runs scripts' top-level statements for
/// <see cref="ScriptBuildGuard"/>, under a GC heap hard limit set by the parent, and is killed by the parent when a
/// build runs past the time limit. It reads requests (origin + assembly bytes) from stdin and answers each with the
/// flows' sketches or the error, as length-prefixed frames on stdout. The script's own console output goes nowhere.
/// </summary>
public static class ScriptBuildWorker
{
    /// <summary>The byte the worker writes once it is ready for requests.</summary>
    internal const byte Ready = 0x52;

    /// <summary>
    /// The byte the worker writes when a request's assembly is loaded and its top-level statements start: the parent's
    /// build time limit counts from here, so a slow machine's loading and JIT never count as the script's own time.
    /// </summary>
    internal const byte Started = 0x53;

    /// <summary>Exit code after a build that ran out of memory (the heap may be in any state: the parent starts a new worker).</summary>
    internal const int ExitOutOfMemory = 3;

    /// <summary>Exit code when the worker's own watchdog ends a build the parent did not (the parent is gone or stuck).</summary>
    internal const int ExitWatchdog = 4;

    private static long _buildStarted; // Environment.TickCount64 when the running build started, 0 when idle

    /// <summary>The worker's main loop. Arguments: <c>--timeout-ms N --parent-pid P</c>.</summary>
    public static int Run(string[] args)
    {
        var timeoutMs = long.Parse(Arg(args, "--timeout-ms") ?? "30000", System.Globalization.CultureInfo.InvariantCulture);
        var parentPid = int.Parse(Arg(args, "--parent-pid") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var input = Console.OpenStandardInput();
        var output = Console.OpenStandardOutput();
        // The protocol owns stdin/stdout: what the script prints or reads must not reach them.
        Console.SetOut(TextWriter.Null);
        Console.SetError(TextWriter.Null);
        Console.SetIn(TextReader.Null);

        var directory = AppContext.BaseDirectory;
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            var candidate = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(candidate) ? context.LoadFromAssemblyPath(candidate) : null;
        };
        StartWatchdog(timeoutMs, parentPid);
        WarmUp();

        output.WriteByte(Ready);
        output.Flush();
        while (true)
        {
            if (ReadFrame(input) is not { } origin || ReadFrame(input) is not { } assembly)
            {
                return 0; // the parent closed the pipe: done
            }
            var (response, outOfMemory) = Build(assembly, Encoding.UTF8.GetString(origin), () =>
            {
                output.WriteByte(Started);
                output.Flush();
            });
            WriteFrame(output, response);
            if (outOfMemory)
            {
                return ExitOutOfMemory;
            }
        }
    }

    private static (byte[] Response, bool OutOfMemory) Build(byte[] assembly, string origin, Action started)
    {
        Interlocked.Exchange(ref _buildStarted, Environment.TickCount64);
        var signalled = false;
        try
        {
            var loaded = FlowBuild.LoadIntoNewContext(assembly, "build-" + Guid.NewGuid().ToString("N")[..8]);
            started();
            signalled = true;
            try
            {
                var sketches = FlowSketch.Of(FlowBuild.Run(loaded, origin)).ToArray();
                return (JsonSerializer.SerializeToUtf8Bytes(new BuildResponse { Flows = sketches }), false);
            }
            finally
            {
                AssemblyLoadContext.GetLoadContext(loaded)?.Unload();
            }
        }
        catch (Exception e) when (Find<OutOfMemoryException>(e) is not null || Find<InsufficientMemoryException>(e) is not null)
        {
            return (JsonSerializer.SerializeToUtf8Bytes(new BuildResponse { OutOfMemory = true }), true);
        }
        catch (FlowstoreException e)
        {
            return (JsonSerializer.SerializeToUtf8Bytes(new BuildResponse
            {
                ErrorId = e.ErrorId,
                Kind = e.Kind,
                Message = e.Message,
                Target = e.Target,
                Hint = e.Hint,
            }), false);
        }
        catch (Exception e)
        {
            return (JsonSerializer.SerializeToUtf8Bytes(new BuildResponse
            {
                ErrorId = ErrorIds.ScriptExecutionFailed,
                Kind = FlowErrorKind.InvalidData,
                Message = $"Building the flows of {origin} failed: {e.GetType().Name}: {e.Message}",
                Target = origin,
            }), false);
        }
        finally
        {
            if (!signalled)
            {
                started(); // loading failed: the answer follows at once
            }
            Interlocked.Exchange(ref _buildStarted, 0);
            GC.Collect();
        }
    }

    // Loads and compiles ahead what every build uses (Flowstore's types, the JSON answer), before the worker says it is
    // ready, so that the first build's time is the script's own.
    private static void WarmUp()
    {
        _ = JsonSerializer.SerializeToUtf8Bytes(new BuildResponse { Flows = FlowSketch.Of(Array.Empty<Flow>()).ToArray() });
    }

    // The parent kills a build that runs too long. Should the parent be gone (killed) or stuck, the worker ends such a
    // build itself, so an endless loop never outlives the process that asked for it.
    private static void StartWatchdog(long timeoutMs, int parentPid)
    {
        var grace = timeoutMs * 2 + 10_000;
        var thread = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(500);
                var started = Interlocked.Read(ref _buildStarted);
                if (started != 0 && Environment.TickCount64 - started > grace)
                {
                    Environment.Exit(ExitWatchdog);
                }
                if (parentPid > 0 && !IsAlive(parentPid))
                {
                    Environment.Exit(ExitWatchdog);
                }
            }
        })
        { IsBackground = true, Name = "Flowstore build watchdog" };
        thread.Start();
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }
        return null;
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    internal static byte[]? ReadFrame(Stream stream)
    {
        Span<byte> header = stackalloc byte[4];
        if (!ReadExactly(stream, header))
        {
            return null;
        }
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        var buffer = new byte[length];
        return ReadExactly(stream, buffer) ? buffer : null;
    }

    private static bool ReadExactly(Stream stream, Span<byte> buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = stream.Read(buffer[read..]);
            if (n == 0)
            {
                return false;
            }
            read += n;
        }
        return true;
    }

    internal static void WriteFrame(Stream stream, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
        stream.Write(header);
        stream.Write(payload);
        stream.Flush();
    }
}

/// <summary>A build worker's answer: the flows, or an error (as the engine would have raised it), or out of memory.</summary>
internal sealed class BuildResponse
{
    public FlowSketch[]? Flows { get; set; }
    public bool OutOfMemory { get; set; }
    public string? ErrorId { get; set; }
    public FlowErrorKind Kind { get; set; }
    public string? Message { get; set; }
    public string? Target { get; set; }
    public FlowHint? Hint { get; set; }
}
