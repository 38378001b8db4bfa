using System.Text;

namespace Flowstore;

/// <summary>Log calls for task code; each line lands in the run log under the running task.</summary>
public static class Log
{
    public static void Info(string message) => TaskScope.Write("Info", message);
    public static void Warning(string message) => TaskScope.Write("Warning", message);
    public static void Error(string message) => TaskScope.Write("Error", message);
}

/// <summary>The task a thread of execution is working for; routes console output and log calls.</summary>
internal sealed class TaskScope
{
    private static readonly AsyncLocal<TaskScope?> Current = new();
    private static int _installed;

    private readonly Action<RunLogEntry> _sink;
    private readonly string _task;

    private TaskScope(string task, Action<RunLogEntry> sink)
    {
        _task = task;
        _sink = sink;
    }

    /// <summary>Runs <paramref name="body"/> with console output and log calls attributed to the task.</summary>
    public static async Task<T> RunAsync<T>(string task, Action<RunLogEntry> sink, Func<Task<T>> body)
    {
        InstallConsoleRouting();
        var previous = Current.Value;
        Current.Value = new TaskScope(task, sink);
        try
        {
            return await body().ConfigureAwait(false);
        }
        finally
        {
            Current.Value = previous;
        }
    }

    public static void Write(string level, string message)
    {
        if (Current.Value is { } scope)
        {
            scope._sink(new RunLogEntry(DateTimeOffset.UtcNow, scope._task, level, message));
        }
        else
        {
            Console.Error.WriteLine($"[{level}] {message}");
        }
    }

    private static void InstallConsoleRouting()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            Console.SetOut(new RoutingWriter(Console.Out, "Output"));
            Console.SetError(new RoutingWriter(Console.Error, "Error"));
        }
    }

    /// <summary>
    /// Console writer that sends text written inside a task to that task's log (line by line, per task, so
    /// parallel tasks never mix), and everything else to the original console.
    /// </summary>
    private sealed class RoutingWriter : TextWriter
    {
        private readonly TextWriter _original;
        private readonly string _level;
        private readonly AsyncLocal<StringBuilder?> _pending = new();

        public RoutingWriter(TextWriter original, string level)
        {
            _original = original;
            _level = level;
        }

        public override Encoding Encoding => _original.Encoding;

        public override void Write(char value)
        {
            if (Current.Value is null)
            {
                _original.Write(value);
                return;
            }
            if (value == '\n')
            {
                Flush();
                return;
            }
            if (value != '\r')
            {
                (_pending.Value ??= new StringBuilder()).Append(value);
            }
        }

        public override void Write(string? value)
        {
            if (Current.Value is null)
            {
                _original.Write(value);
                return;
            }
            foreach (var c in value ?? "")
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            if (Current.Value is null)
            {
                _original.WriteLine(value);
                return;
            }
            Write(value);
            Flush();
        }

        public override void Flush()
        {
            if (Current.Value is { } scope)
            {
                var text = _pending.Value?.ToString() ?? "";
                _pending.Value = null;
                scope._sink(new RunLogEntry(DateTimeOffset.UtcNow, scope._task, _level, text));
            }
            else
            {
                _original.Flush();
            }
        }
    }
}
