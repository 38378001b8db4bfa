using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flowstore.Scripting;

/// <summary>
/// Rewrites the compiler's overload errors for a <c>flow.Task(...)</c> call whose inputs do not fit its body
/// (CS1593 "Delegate 'Action' does not take 1 arguments", CS1503 "cannot convert ... to 'TaskOptions?'", ...)
/// into one error that says which task expects which type and what its input (a task or a parameter, with the line
/// it is declared on) gives. Errors it cannot explain, and every error inside a task's body, stay as they are.
/// </summary>
internal static class TaskWiringDiagnostics
{
    /// <summary>
    /// Ids of the compiler errors that overload resolution of a Task call yields for a mis-wired input: on the call and
    /// its arguments (CS1593, CS1503, ...), and inside the body once it is bound to a delegate that does not fit
    /// (CS0029 "cannot convert int to Task", CS0201, CS1662, ...).
    /// </summary>
    private static readonly HashSet<string> OverloadErrorIds = new(StringComparer.Ordinal)
    {
        "CS0411", "CS1501", "CS1502", "CS1503", "CS1593", "CS1660", "CS1661", "CS1662", "CS1676", "CS1678", "CS1929",
        "CS0121", "CS8917", "CS0029", "CS0201", "CS0266", "CS0126", "CS0127", "CS1643", "CS4010", "CS8030", "CS8031",
    };

    private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.CSharpShortErrorMessageFormat;

    /// <summary>The errors of a failed compilation as script diagnostics, with mis-wired task inputs explained.</summary>
    public static IReadOnlyList<ScriptDiagnostic> Describe(CSharpCompilation compilation, SyntaxTree tree, IEnumerable<Diagnostic> errors, string path)
    {
        SemanticModel? model = null;
        var explained = new Dictionary<InvocationExpressionSyntax, ScriptDiagnostic?>();
        var result = new List<ScriptDiagnostic>();
        foreach (var d in errors)
        {
            if (OverloadErrorIds.Contains(d.Id) && d.Location.SourceTree == tree && FindTaskCall(tree, d.Location.SourceSpan) is { } call)
            {
                if (!explained.TryGetValue(call, out var rewritten))
                {
                    model ??= compilation.GetSemanticModel(tree);
                    rewritten = Explain(compilation, model, call, path);
                    explained[call] = rewritten;
                    if (rewritten is not null)
                    {
                        result.Add(rewritten);
                    }
                }
                if (rewritten is not null)
                {
                    continue; // said once, in the user's terms
                }
            }
            result.Add(ToScriptDiagnostic(d, path));
        }
        return result;
    }

    private static ScriptDiagnostic ToScriptDiagnostic(Diagnostic d, string path)
    {
        var span = d.Location.GetMappedLineSpan();
        return new ScriptDiagnostic(
            string.IsNullOrEmpty(span.Path) ? path : span.Path,
            span.StartLinePosition.Line + 1,
            span.StartLinePosition.Character + 1,
            d.Id,
            d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The <c>x.Task(...)</c> call an error is about: the first call above it, when that is a Task call (an error in a
    /// body's own calls, such as <c>Console.WriteLine(...)</c>, belongs to that call, not to the task's wiring).
    /// </summary>
    private static InvocationExpressionSyntax? FindTaskCall(SyntaxTree tree, Microsoft.CodeAnalysis.Text.TextSpan span)
    {
        for (SyntaxNode? current = tree.GetRoot().FindNode(span, getInnermostNodeForTie: true); current is not null; current = current.Parent)
        {
            if (current is InvocationExpressionSyntax invocation)
            {
                return invocation.Expression is MemberAccessExpressionSyntax { Name.Identifier.Text: "Task" } ? invocation : null;
            }
        }
        return null;
    }

    private sealed record Input(ArgumentSyntax Argument, string Source, ITypeSymbol? ValueType);

    private static ScriptDiagnostic? Explain(CSharpCompilation compilation, SemanticModel model, InvocationExpressionSyntax call, string path)
    {
        var receiver = ((MemberAccessExpressionSyntax)call.Expression).Expression;
        if (model.GetTypeInfo(receiver).Type?.ToDisplayString() != "Flowstore.Flow")
        {
            return null;
        }
        var arguments = call.ArgumentList.Arguments.Where(a => a.NameColon is null).ToList();
        if (arguments.Count < 2)
        {
            return null;
        }
        var task = arguments[0].Expression is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.StringLiteralExpression } literal
            ? literal.Token.ValueText
            : arguments[0].Expression.ToString();
        if (BodyParameters(model, arguments[1].Expression) is not { } parameters)
        {
            return null;
        }

        var flowInput = compilation.GetTypeByMetadataName("Flowstore.IFlowInput`1");
        var taskOptions = compilation.GetTypeByMetadataName("Flowstore.TaskOptions");
        var inputs = new List<Input>();
        foreach (var argument in arguments.Skip(2))
        {
            var type = model.GetTypeInfo(argument.Expression).Type;
            if (argument.Expression.IsKind(SyntaxKind.NullLiteralExpression) || SymbolEqualityComparer.Default.Equals(type, taskOptions))
            {
                continue; // the options, not an input
            }
            if (type is null || type.TypeKind == TypeKind.Error || flowInput is null)
            {
                return null;
            }
            inputs.Add(new Input(argument, DescribeSource(model, argument.Expression), ValueTypeOf(type, flowInput)));
        }

        if (parameters.Count != inputs.Count)
        {
            var location = arguments[1].GetLocation().GetMappedLineSpan();
            var takes = parameters.Count == 0 ? "no input" : $"{Count(parameters.Count, "input")} ({string.Join(", ", parameters.Select(p => p.Name))})";
            var given = inputs.Count == 0 ? "none" : $"{inputs.Count}: {string.Join(", ", inputs.Select(i => i.Source))}";
            return At(location, path, "TaskInputCount", $"Task '{task}' takes {takes}, but it is given {given}.");
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            var (name, expected) = parameters[i];
            var input = inputs[i];
            if (expected is null)
            {
                continue; // an implicitly typed parameter takes whatever comes
            }
            var which = inputs.Count > 1 ? $" (input {i + 1})" : "";
            var location = input.Argument.GetLocation().GetMappedLineSpan();
            var wanted = expected.ToDisplayString(TypeFormat);
            if (input.ValueType is null)
            {
                return At(location, path, "TaskInputType",
                    $"Task '{task}' expects {wanted} for its input '{name}'{which}, but it is given {input.Source}, which returns nothing: "
                    + "a task without a result can only be waited for (.After(...) or TaskOptions.After), not passed as an input.");
            }
            var fits = compilation.ClassifyConversion(flowInput!.Construct(input.ValueType), flowInput!.Construct(expected)).IsImplicit;
            if (!fits)
            {
                var given = input.ValueType.ToDisplayString(TypeFormat);
                var gives = input.Source.StartsWith("parameter ", StringComparison.Ordinal) ? $"is {given}" : $"returns {given}";
                return At(location, path, "TaskInputType",
                    $"Task '{task}' expects {wanted} for its input '{name}'{which}, but it is given {input.Source}, which {gives}. "
                    + $"Declare '{name}' as {given}, or pass a task or parameter of type {wanted}.");
            }
        }
        return null; // nothing here explains the compiler's complaint: keep its own words
    }

    private static ScriptDiagnostic At(FileLinePositionSpan span, string path, string id, string message)
        => new(string.IsNullOrEmpty(span.Path) ? path : span.Path, span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1, id, message);

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    /// <summary>The body's inputs: name and declared type (null when implicitly typed); a trailing CancellationToken is not an input.</summary>
    private static List<(string Name, ITypeSymbol? Type)>? BodyParameters(SemanticModel model, ExpressionSyntax body)
    {
        List<(string Name, ITypeSymbol? Type)> parameters;
        switch (body)
        {
            case ParenthesizedLambdaExpressionSyntax lambda:
                parameters = lambda.ParameterList.Parameters
                    .Select(p => (p.Identifier.ValueText, p.Type is null ? null : model.GetTypeInfo(p.Type).Type))
                    .ToList();
                break;
            case SimpleLambdaExpressionSyntax simple:
                parameters = [(simple.Parameter.Identifier.ValueText, simple.Parameter.Type is null ? null : model.GetTypeInfo(simple.Parameter.Type).Type)];
                break;
            default:
                var info = model.GetSymbolInfo(body);
                var methods = info.CandidateSymbols.Append(info.Symbol).OfType<IMethodSymbol>().ToList();
                if (methods.Count != 1)
                {
                    return null;
                }
                parameters = methods[0].Parameters.Select(p => (p.Name, (ITypeSymbol?)p.Type)).ToList();
                break;
        }
        if (parameters.Any(p => p.Type is { TypeKind: TypeKind.Error }))
        {
            return null;
        }
        if (parameters.Count > 0 && parameters[^1].Type?.ToDisplayString() == "System.Threading.CancellationToken")
        {
            parameters.RemoveAt(parameters.Count - 1);
        }
        return parameters;
    }

    /// <summary>T of the IFlowInput&lt;T&gt; a type is; null for a task that returns nothing.</summary>
    private static ITypeSymbol? ValueTypeOf(ITypeSymbol type, INamedTypeSymbol flowInput)
    {
        foreach (var candidate in new[] { type }.Concat(type.AllInterfaces))
        {
            if (candidate is INamedTypeSymbol named && SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, flowInput))
            {
                return named.TypeArguments[0];
            }
        }
        return null;
    }

    /// <summary>"task 'get_data' (line 3)" or "parameter 'n' (line 2)" for a local declared by a Task or Parameter call; the expression otherwise.</summary>
    private static string DescribeSource(SemanticModel model, ExpressionSyntax expression)
    {
        var declaration = expression;
        if (model.GetSymbolInfo(expression).Symbol is ILocalSymbol local
            && local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is VariableDeclaratorSyntax { Initializer.Value: { } value })
        {
            declaration = value;
        }
        while (declaration is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.Text: "After" } after })
        {
            declaration = after.Expression; // flow.Task(...).After(other) declares the same task
        }
        if (declaration is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax member } invocation
            && member.Name.Identifier.Text is "Task" or "Parameter"
            && invocation.ArgumentList.Arguments.FirstOrDefault()?.Expression is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.StringLiteralExpression } name)
        {
            var line = invocation.GetLocation().GetMappedLineSpan().StartLinePosition.Line + 1;
            var kind = member.Name.Identifier.Text == "Task" ? "task" : "parameter";
            return $"{kind} '{name.Token.ValueText}' (line {line})";
        }
        return $"'{expression}'";
    }
}
