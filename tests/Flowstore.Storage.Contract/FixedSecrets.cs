namespace Flowstore.Storage.Contract;

/// <summary>Secrets with fixed values, for calling a provider directly; an unknown name is SecretNotFound.</summary>
public sealed class FixedSecrets(params (string Name, string Value)[] values) : ISecretResolver
{
    public ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken) =>
        values.FirstOrDefault(v => v.Name == name) is { Value: { } value }
            ? ValueTask.FromResult(value)
            : throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound, $"Secret '{name}' was not found.") { Target = name };
}
