namespace Flowstore;

/// <summary>
/// Secrets for task code: <c>Secret.Get("GITHUB_ACCESS_TOKEN")</c> resolves the name the way storages do
/// (the Flowstore secret store, then an environment variable, then a SecretManagement vault). Values handed
/// out are redacted from the run log.
/// </summary>
public static class Secret
{
    private static readonly AsyncLocal<ISecretResolver?> Ambient = new();

    /// <summary>The value of a secret; only inside a running task.</summary>
    public static string Get(string name) => GetAsync(name).GetAwaiter().GetResult();

    /// <summary>The value of a secret; only inside a running task.</summary>
    public static async Task<string> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var resolver = Ambient.Value ?? throw new FlowstoreException(ErrorIds.SecretOutsideRun, FlowErrorKind.InvalidOperation,
            $"Secret.Get(\"{name}\") works inside a running task only (not while a script builds its flows).") { Target = name };
        return await resolver.ResolveAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets the resolver for the current run (the executor does this).</summary>
    internal static IDisposable Use(ISecretResolver? resolver)
    {
        var previous = Ambient.Value;
        Ambient.Value = resolver;
        return new Restore(previous);
    }

    private sealed class Restore(ISecretResolver? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}
