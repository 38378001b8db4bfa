namespace Flowstore.Storage.GitHosts;

/// <summary>The access token of a Git host storage, from the secret the settings name.</summary>
public static class GitHostTokens
{
    /// <summary>
    /// The token in secret <paramref name="secretName"/>, or null (anonymous access) when no secret is named. A
    /// missing secret is <see cref="ErrorIds.SecretNotFound"/> naming the storage (<paramref name="storage"/>).
    /// </summary>
    public static async Task<string?> ResolveAsync(ISecretResolver secrets, string? secretName, string storage, CancellationToken cancellationToken)
    {
        if (secretName is null)
        {
            return null;
        }
        try
        {
            return await secrets.ResolveAsync(secretName, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretNotFound)
        {
            throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound,
                $"{storage} needs the access token secret '{secretName}': {e.Message}", e) { Target = secretName, Hint = FlowHint.SetSecret(secretName) };
        }
    }
}
