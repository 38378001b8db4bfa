namespace Flowstore.Storage.GitHosts;

/// <summary>What a not-found message asks the user to check, per part of a storage's address (<see cref="GitHostPart"/>).</summary>
/// <param name="Repository">A repository not found without a token (it may be private).</param>
/// <param name="RepositoryWithToken">A repository not found with the token in the named secret (it may not see it).</param>
public sealed record GitHostAdvice(string Repository, Func<string?, string> RepositoryWithToken)
{
    /// <summary>A ref that names no commit.</summary>
    public string Ref { get; init; } = "Check the branch, tag or commit name.";

    /// <summary>A file that is not at the commit.</summary>
    public string Path { get; init; } = "Check the path (it is case-sensitive and relative to the repository root), or push the file first.";

    /// <summary>
    /// What a 401 or 403 means on this host, given the refusal and the name of the token's secret (null: no token
    /// was sent); null: the general advice.
    /// </summary>
    public Func<GitHostRefusal, string?, string?>? Refused { get; init; }

    /// <summary>The advice for <paramref name="part"/>; <paramref name="tokenSecret"/> names the secret of the token sent, null when none was.</summary>
    public string For(GitHostPart part, string? tokenSecret, bool anonymous) => part switch
    {
        GitHostPart.Repository => anonymous ? Repository : RepositoryWithToken(tokenSecret),
        GitHostPart.Ref => Ref,
        _ => Path,
    };
}
