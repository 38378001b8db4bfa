namespace Flowstore.Storage.GitHosts;

/// <summary>The access token a Git host storage uses and the name of the secret it came from (null: anonymous).</summary>
/// <param name="Value">The token, or null for anonymous access.</param>
/// <param name="SecretName">The secret that held it: the one the settings name, or the host's default name.</param>
public sealed record GitHostToken(string? Value, string? SecretName)
{
    public static GitHostToken Anonymous { get; } = new(null, null);
}

/// <summary>The access token of a Git host storage, from the secret the settings name, else the host's default secret name.</summary>
public static class GitHostTokens
{
    /// <summary>The secret GitHub storage uses when it names none (as Prefect users expect).</summary>
    public const string GitHubDefault = "GITHUB_ACCESS_TOKEN";

    /// <summary>The secret GitLab storage uses when it names none.</summary>
    public const string GitLabDefault = "GITLAB_ACCESS_TOKEN";

    /// <summary>The secret Bitbucket storage uses when it names none.</summary>
    public const string BitbucketDefault = "BITBUCKET_ACCESS_TOKEN";

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

    /// <summary>
    /// The token of a storage: from the secret it names (which must resolve); when it names none, from
    /// <paramref name="defaultSecretName"/> if that resolves (the store, the environment, a vault); anonymous otherwise.
    /// <paramref name="log"/> hears which was used: the secret's name, never its value.
    /// </summary>
    public static async Task<GitHostToken> ResolveAsync(ISecretResolver secrets, string? secretName, string defaultSecretName, string storage,
        Action<string>? log, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(secretName))
        {
            var named = await ResolveAsync(secrets, secretName, storage, cancellationToken).ConfigureAwait(false);
            log?.Invoke($"{storage}: using the access token in secret '{secretName}'.");
            return new GitHostToken(named, secretName);
        }
        string value;
        try
        {
            value = await secrets.ResolveAsync(defaultSecretName, cancellationToken).ConfigureAwait(false);
        }
        catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretNotFound)
        {
            log?.Invoke($"{storage}: no access token secret is named and secret '{defaultSecretName}' was not found; using anonymous access.");
            return GitHostToken.Anonymous;
        }
        log?.Invoke($"{storage}: no access token secret is named; using the access token in secret '{defaultSecretName}' (the default name).");
        return new GitHostToken(value, defaultSecretName);
    }
}
