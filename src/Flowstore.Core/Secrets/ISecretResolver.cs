namespace Flowstore;

/// <summary>Resolves a secret name to its value at the moment of use.</summary>
public interface ISecretResolver
{
    /// <summary>The value, or an exception (<see cref="ErrorIds.SecretNotFound"/>) naming the secret and where it looked.</summary>
    ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken);
}

/// <summary>One place a secret can come from (the store, the environment, a vault).</summary>
public interface ISecretSource
{
    /// <summary>Where it looks, for messages: "environment variable", "Flowstore secret store".</summary>
    string Description { get; }

    /// <summary>The value, or null when this source does not have the secret.</summary>
    ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken);

    /// <summary>False when the source turned out not to exist here (e.g. no vault module): messages then leave it out.</summary>
    bool IsAvailable => true;
}

/// <summary>Environment variables of the current process.</summary>
public sealed class EnvironmentSecretSource : ISecretSource
{
    public string Description => "environment variable";

    public ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
        => ValueTask.FromResult(Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null);
}

/// <summary>Asks each source in order; a missing secret is an error naming the secret and every place looked.</summary>
public sealed class SecretResolver : ISecretResolver
{
    private readonly IReadOnlyList<ISecretSource> _sources;

    public SecretResolver(params ISecretSource[] sources) => _sources = sources;

    /// <summary>Every value handed out, so run logs can redact them.</summary>
    public IReadOnlyCollection<string> ResolvedValues
    {
        get
        {
            lock (_resolved)
            {
                return _resolved.ToArray();
            }
        }
    }

    private readonly HashSet<string> _resolved = new(StringComparer.Ordinal);

    /// <summary>The first source that has the secret (without keeping its value), or null.</summary>
    public async Task<ISecretSource?> FindSourceAsync(string name, ISecretSource? skip, CancellationToken cancellationToken)
    {
        foreach (var source in _sources)
        {
            if (!ReferenceEquals(source, skip) && await source.TryGetAsync(name, cancellationToken).ConfigureAwait(false) is not null)
            {
                return source;
            }
        }
        return null;
    }

    public async ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.InvalidArgument, "A secret name is empty.");
        }
        foreach (var source in _sources)
        {
            if (await source.TryGetAsync(name, cancellationToken).ConfigureAwait(false) is { } value)
            {
                lock (_resolved)
                {
                    _resolved.Add(value);
                }
                SecretRedaction.Add(value);
                return value;
            }
        }
        throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound,
            $"Secret '{name}' was not found; looked in: {string.Join(", ", _sources.Where(s => s.IsAvailable).Select(s => s.Description))}.") { Target = name };
    }
}
