namespace Flowstore.Storage.GitHosts;

/// <summary>A branch and, when the host tells it with the branch, its head commit.</summary>
/// <param name="Name">The branch name.</param>
/// <param name="Commit">Its head commit, when the host told it (null: resolve the name).</param>
/// <param name="Exists">False when the branch has no commit yet: the configured default branch of an empty repository.</param>
public sealed record GitHostBranch(string Name, string? Commit, bool Exists = true);

/// <summary>The flow file as it is at the commit a publish starts from.</summary>
/// <param name="Content">The file's bytes.</param>
/// <param name="LastCommit">The host's version of the file, when its commit API wants it (GitLab's last_commit_id).</param>
public sealed record GitHostFile(byte[] Content, string? LastCommit);

/// <summary>The flow file read at a ref, and the commit the ref named when it was read.</summary>
public sealed record GitHostRead(byte[] Content, string Commit);

/// <summary>What a publish commits.</summary>
/// <param name="Branch">The branch to commit to.</param>
/// <param name="Content">The file's new bytes.</param>
/// <param name="Message">The commit message.</param>
/// <param name="Existing">The file at <paramref name="BaseCommit"/>, or null when it is new there.</param>
/// <param name="Head">The branch's head, or null when the commit creates the branch.</param>
/// <param name="BaseCommit">The commit the new one follows: the head, or where a new branch starts (null: none).</param>
/// <param name="StartBranch">Where a new branch starts (null when the branch exists or starts empty).</param>
public sealed record GitHostCommit(string Branch, byte[] Content, string Message, GitHostFile? Existing, string? Head, string? BaseCommit, string? StartBranch);

/// <summary>Which part of a storage's address was not found, for the hint that goes with the error.</summary>
public enum GitHostPart
{
    /// <summary>The project or repository (or the token cannot see it).</summary>
    Repository,

    /// <summary>The branch, tag or commit.</summary>
    Ref,

    /// <summary>The file.</summary>
    Path,
}

/// <summary>
/// The REST calls of one Git host, for one operation (<see cref="Session"/>). The flow around them - which ref to
/// resolve, what to fetch, when a publish commits and where a new branch starts - is
/// <see cref="GitHostStorageProvider{TSettings}"/>'s.
/// </summary>
public interface IGitHostApi
{
    /// <summary>The operation's client, token and target.</summary>
    GitHostSession Session { get; }

    /// <summary>The repository for messages: "GitLab project 'g/p'", "Bitbucket repository PROJ/repo".</summary>
    string Label { get; }

    /// <summary>
    /// The configured default branch (<see cref="GitHostBranch.Exists"/> false while it has no commit: an empty
    /// repository); null when the host names none, unless <paramref name="required"/> (then StorageNotFound).
    /// </summary>
    Task<GitHostBranch?> DefaultBranchAsync(bool required, CancellationToken cancellationToken);

    /// <summary>
    /// The commit a branch, tag or SHA names: StorageNotFound when there is none, or (<paramref name="pinned"/>, a
    /// commit a run used) <see cref="ErrorIds.PinnedVersionUnavailable"/>.
    /// </summary>
    Task<string> ResolveCommitAsync(string reference, bool pinned, CancellationToken cancellationToken);

    /// <summary>The branch's head commit, or null when there is no such branch.</summary>
    Task<string?> BranchHeadAsync(string branch, CancellationToken cancellationToken);

    /// <summary>
    /// The flow file at a ref (null: the default branch; <paramref name="pinned"/>: a commit a run used) together with
    /// the commit the ref names, in one call, where the host answers both at once (GitLab's raw file endpoint, which a
    /// read_repository token may call); null where it does not (then the ref is resolved first, and the file read at the
    /// commit). Failures as <see cref="ResolveCommitAsync"/> and <see cref="ReadFileAsync"/>.
    /// </summary>
    Task<GitHostRead?> ReadAtRefAsync(string? reference, bool pinned, CancellationToken cancellationToken) => Task.FromResult<GitHostRead?>(null);

    /// <summary>The flow file's bytes at a commit; StorageNotFound when it is not there.</summary>
    Task<byte[]> ReadFileAsync(string commit, CancellationToken cancellationToken);

    /// <summary>The flow file at a commit for a publish, or null when it is not there.</summary>
    Task<GitHostFile?> ReadExistingFileAsync(string commit, CancellationToken cancellationToken);

    /// <summary>Commits the file; returns the new commit's SHA (StoragePublishFailed when the host refuses).</summary>
    Task<string> CommitFileAsync(GitHostCommit commit, CancellationToken cancellationToken);

    /// <summary>The file at a commit in the host's web UI.</summary>
    string WebUrl(string commit);

    /// <summary>
    /// Creates <paramref name="branch"/> at <paramref name="commit"/> without a new commit (publishing unchanged content to
    /// a new branch); false when the host's API offers no such call (then the publish commits).
    /// </summary>
    Task<bool> CreateBranchAsync(string branch, string commit, CancellationToken cancellationToken) => Task.FromResult(false);
}
