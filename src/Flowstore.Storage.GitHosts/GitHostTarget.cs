namespace Flowstore.Storage.GitHosts;

/// <summary>What an operation is about, for messages: the host, the repository, the path and the ref.</summary>
/// <param name="Service">"GitLab", "Bitbucket Server".</param>
/// <param name="Host">The host's base URL.</param>
/// <param name="Repo">The repository as the user named it.</param>
/// <param name="Path">The file in the repository.</param>
/// <param name="Ref">The ref as the user named it, or a description such as "the default branch".</param>
/// <param name="TokenSecret">The name of the secret holding the token, or null for anonymous access.</param>
/// <param name="Noun">What the host calls a repository: "project" (GitLab), "repository".</param>
public sealed record GitHostTarget(string Service, string Host, string Repo, string Path, string Ref, string? TokenSecret, string Noun = "repository")
{
    /// <summary>The storage type ("GitLab"), for hints that name one of its settings.</summary>
    public string? StorageType { get; init; }

    /// <summary>A hint to set the storage's access token secret.</summary>
    public FlowHint TokenSecretHint() => FlowHint.StorageSetting(StorageType ?? Service, "AccessTokenSecret");

    /// <summary>"project 'g/p', path 'flows/f.cs', ref 'main' on GitLab https://gitlab.com".</summary>
    public string Describe() => $"{Noun} '{Repo}', path '{Path}', ref '{Ref}' on {Service} {Host}";
}
