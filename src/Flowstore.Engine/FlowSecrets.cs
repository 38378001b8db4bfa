namespace Flowstore.Engine;

/// <summary>Secrets: set, describe (never the value), remove.</summary>
public sealed class FlowSecrets
{
    private readonly SecretStore _store;
    private readonly SecretResolver _resolver;

    public FlowSecrets(SecretStore store, SecretResolver resolver)
    {
        _store = store;
        _resolver = resolver;
    }

    /// <summary>Stores a secret encrypted in the backend; never starts a new key over secrets stored with a lost one.</summary>
    public Task SetSecretAsync(string name, string value, CancellationToken cancellationToken = default)
        => _store.SetAsync(name, value, cancellationToken);

    /// <summary>
    /// Stores a secret encrypted in the backend. When the key is missing and other secrets are stored,
    /// <paramref name="startNewKey"/> starts a new key anyway; the result names the secrets that abandons.
    /// </summary>
    public Task<SecretSetResult> SetSecretAsync(string name, string value, bool startNewKey, CancellationToken cancellationToken = default)
        => _store.SetAsync(name, value, startNewKey, cancellationToken);

    /// <summary>
    /// Secrets in the store, and for each name asked for that the store lacks, where it would resolve from
    /// (environment variable, vault) or "not found". Values are never read into the result.
    /// </summary>
    public async Task<IReadOnlyList<SecretInfo>> DescribeSecretsAsync(IReadOnlyList<string>? names, CancellationToken cancellationToken = default)
    {
        var result = new List<SecretInfo>(await _store.DescribeAsync(cancellationToken).ConfigureAwait(false));
        foreach (var name in names ?? Array.Empty<string>())
        {
            if (result.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            var source = await _resolver.FindSourceAsync(name, skip: _store, cancellationToken).ConfigureAwait(false);
            result.Add(new SecretInfo(name, source?.Description ?? "not found", false, null, null));
        }
        return result.OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase).ToArray();
    }

    /// <summary>Removes a secret from the store; <see cref="ErrorIds.SecretNotFound"/> when it is not there.</summary>
    public async Task RemoveSecretAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!await _store.RemoveAsync(name, cancellationToken).ConfigureAwait(false))
        {
            throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound,
                $"Secret '{name}' is not in the Flowstore secret store.") { Target = name };
        }
    }
}
