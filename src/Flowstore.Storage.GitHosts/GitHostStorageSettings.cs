namespace Flowstore;

/// <summary>
/// The settings every Git host storage reached over a REST API shares (script-only): the repository, the flow
/// file's path in it, the host, the ref runs resolve to a commit (the default branch when none) and the name of the
/// secret holding the access token. A host's record says what its <see cref="Repo"/>, <see cref="Host"/> and
/// <see cref="AccessTokenSecret"/> are (their help and whether they are needed differ from host to host) and may add
/// settings of its own.
/// </summary>
public abstract record GitHostStorageSettings : StorageSettings
{
    /// <summary>The repository as the host names it (a project path, a slug).</summary>
    public abstract string Repo { get; init; }

    /// <summary>The flow file's path in the repository.</summary>
    [StorageSetting("The flow file's path in the repository, relative to its root, e.g. flows/my_flow.cs.", Mandatory = true)]
    public string Path { get; init; } = "";

    /// <summary>The host's URL.</summary>
    public abstract string? Host { get; init; }

    /// <summary>A branch, tag or commit SHA; the repository's default branch when null.</summary>
    [StorageSetting("A branch, tag or commit SHA; defaults to the repository's default branch. Every run resolves it to a commit SHA and records it.")]
    public string? Ref { get; init; }

    /// <summary>Name of the secret holding the access token; anonymous access (public repositories) when null.</summary>
    public abstract string? AccessTokenSecret { get; init; }

    public override bool IsScript => true;
}
