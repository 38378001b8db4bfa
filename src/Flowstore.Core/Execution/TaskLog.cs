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

    // Console text of this task not yet ended by a newline, per level (Output, Error). Kept on the scope, which
    // every async child of the task shares, so text written in a nested async method or left without a final
    // newline is not lost.
    private readonly Dictionary<string, StringBuilder> _pending = new(StringComparer.Ordinal);

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
        var scope = new TaskScope(task, sink);
        Current.Value = scope;
        try
        {
            return await body().ConfigureAwait(false);
        }
        finally
        {
            scope.EndPendingLines();
            Current.Value = previous;
        }
    }

    private void Append(string level, char value)
    {
        lock (_pending)
        {
            if (!_pending.TryGetValue(level, out var line))
            {
                _pending[level] = line = new StringBuilder();
            }
            line.Append(value);
        }
    }

    private void EndLine(string level)
    {
        string text;
        lock (_pending)
        {
            text = _pending.Remove(level, out var line) ? line.ToString() : "";
        }
        _sink(new RunLogEntry(DateTimeOffset.UtcNow, _task, level, text));
    }

    private void EndPendingLines()
    {
        KeyValuePair<string, StringBuilder>[] rest;
        lock (_pending)
        {
            rest = _pending.ToArray();
            _pending.Clear();
        }
        foreach (var (level, line) in rest)
        {
            _sink(new RunLogEntry(DateTimeOffset.UtcNow, _task, level, line.ToString()));
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
    private sealed class RoutingWriter(TextWriter original, string level) : TextWriter
    {
        private readonly TextWriter _original = original;
        private readonly string _level = level;

        public override Encoding Encoding => _original.Encoding;

        public override void Write(char value)
        {
            if (Current.Value is not { } scope)
            {
                _original.Write(value);
                return;
            }
            if (value == '\n')
            {
                scope.EndLine(_level);
            }
            else if (value != '\r')
            {
                scope.Append(_level, value);
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
            if (Current.Value is not { } scope)
            {
                _original.WriteLine(value);
                return;
            }
            Write(value);
            scope.EndLine(_level);
        }

        public override void Flush()
        {
            // Inside a task, lines reach the log at each newline and when the task ends; a flush adds no line.
            if (Current.Value is null)
            {
                _original.Flush();
            }
        }
    }
}
