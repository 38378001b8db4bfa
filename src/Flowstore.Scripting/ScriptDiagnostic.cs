namespace Flowstore.Scripting;

/// <summary>A compiler error in a flow script, with its position (1-based line and column).</summary>
public sealed record ScriptDiagnostic(string File, int Line, int Column, string Id, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: error {Id}: {Message}";
}

/// <summary>A flow script that does not compile; the message lists the first errors with file:line:column.</summary>
public sealed class ScriptCompilationException : FlowstoreException
{
    public ScriptCompilationException(string file, IReadOnlyList<ScriptDiagnostic> diagnostics)
        : base(ErrorIds.ScriptCompilationFailed, FlowErrorKind.InvalidData, Format(file, diagnostics))
    {
        Diagnostics = diagnostics;
        Target = file;
    }

    public IReadOnlyList<ScriptDiagnostic> Diagnostics { get; }

    private static string Format(string file, IReadOnlyList<ScriptDiagnostic> diagnostics)
    {
        const int Shown = 10;
        var lines = diagnostics.Take(Shown).Select(d => "  " + d);
        var more = diagnostics.Count > Shown ? $"{Environment.NewLine}  ... and {diagnostics.Count - Shown} more" : "";
        return $"Flow script '{file}' does not compile ({diagnostics.Count} error{(diagnostics.Count == 1 ? "" : "s")}):{Environment.NewLine}"
            + string.Join(Environment.NewLine, lines) + more;
    }
}
