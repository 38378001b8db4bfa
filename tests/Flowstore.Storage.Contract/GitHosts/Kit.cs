using System.Text;
using System.Text.Json;

namespace Flowstore.Storage.Contract.GitHosts;

/// <summary>Secrets from a dictionary; a missing name is SecretNotFound, as the engine's resolver does.</summary>
public sealed class TestSecrets(Dictionary<string, string> values) : ISecretResolver
{
    public ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken)
        => values.TryGetValue(name, out var value)
            ? ValueTask.FromResult(value)
            : throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound, $"Secret '{name}' was not found; looked in: test secrets.") { Target = name };
}

/// <summary>Helpers for the Git host storage tests.</summary>
public static class Kit
{
    /// <summary>A unique lower-case name for a repository of one test.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>A flow script that prints <paramref name="message"/> (tasks get_data and print_data).</summary>
    public static string Script(string message, string flow = "example", string lastTask = "print_data")
        => "using Flowstore;\n" +
           $"var flow = new Flow(\"{flow}\");\n" +
           "var data = flow.Task(\"get_data\", () => new[] { 1, 2, 3 });\n" +
           $"flow.Task(\"{lastTask}\", (int[] values) => Console.WriteLine(\"{message}\"), data);\n";

    /// <summary>The exception's full text: its message, its inner exceptions' messages and its ToString().</summary>
    public static string AllText(Exception e)
    {
        var text = new StringBuilder(e.ToString());
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            text.Append('\n').Append(inner.Message);
        }
        return text.ToString();
    }

    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    /// <summary>A registration context for a local script.</summary>
    public static StorageRegistrationContext RegistrationContext(ISecretResolver secrets, string localSource, List<string> log)
        => new("/tmp/flows/my_flow.cs", localSource, FlowStructure.Sha256Hex(localSource), "example", "example", secrets, log.Add);

    /// <summary>A publish context for a local script.</summary>
    public static StoragePublishContext PublishContext(ISecretResolver secrets, string source, string? message = null, string? branch = null)
        => new("/tmp/flows/my_flow.cs", source, FlowStructure.Sha256Hex(source), "example", "example",
            secrets, _ => { })
        {
            Message = message,
            Branch = branch,
        };
}
