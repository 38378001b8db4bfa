using System.Diagnostics;

namespace Flowstore;

/// <summary>
/// Where in a flow script an exception came from, for messages: the innermost frame in the script file (the line
/// that called Secret.Get, say), never a frame of Flowstore's own build tree, which tells a user nothing.
/// </summary>
public static class ScriptLocation
{
    /// <summary>" (at file:line)" for the script's innermost frame, or "" when the script is not on the stack.</summary>
    /// <param name="exception">The exception, as thrown (not wrapped in a TargetInvocationException).</param>
    /// <param name="scriptFile">The script's file name as compiled (its origin); null: any frame outside Flowstore.</param>
    public static string Of(Exception exception, string? scriptFile)
    {
        var frames = new StackTrace(exception, fNeedFileInfo: true).GetFrames()
            .Where(f => f.GetFileLineNumber() > 0 && !string.IsNullOrEmpty(f.GetFileName()))
            .ToArray();
        // The innermost frame of the compiled script: the script's own file or a file it loads (#load).
        var frame = frames.FirstOrDefault(f => f.GetMethod()?.Module.Assembly.GetName().Name?.StartsWith(ScriptAssemblyPrefix, StringComparison.Ordinal) == true);
        frame ??= scriptFile is null ? null : frames.FirstOrDefault(f => string.Equals(f.GetFileName(), scriptFile, StringComparison.Ordinal));
        frame ??= frames.FirstOrDefault(f => !IsFlowstore(f));
        return frame is null ? "" : $" (at {frame.GetFileName()}:{frame.GetFileLineNumber()})";
    }

    /// <summary>The name every compiled flow script's assembly starts with.</summary>
    internal const string ScriptAssemblyPrefix = "flowscript_";

    private static bool IsFlowstore(StackFrame frame)
    {
        var name = frame.GetMethod()?.Module.Assembly.GetName().Name;
        return name is null || name == "Flowstore" || name.StartsWith("Flowstore.", StringComparison.Ordinal);
    }
}
