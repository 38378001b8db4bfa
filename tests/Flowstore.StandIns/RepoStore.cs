using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Flowstore.StandIns;

/// <summary>
/// The repositories behind the stand-ins: real bare git repositories under one root folder, named by their full
/// path (<c>owner/repo</c>, <c>group/subgroup/project</c>, <c>PROJECTKEY/slug</c>) plus <c>.git</c>. Tests create
/// and push to them with the git CLI (<see cref="Create"/> or <c>git init --bare</c> under the root); the API
/// stand-ins read and commit through here, so refs, commit SHAs and default branches are git's own.
/// </summary>
public sealed class RepoStore
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public RepoStore(string root)
    {
        Root = root;
        Directory.CreateDirectory(root);
    }

    public string Root { get; }

    /// <summary>The bare repository folder of <paramref name="fullName"/>, or null when there is no such repository.</summary>
    public string? Find(string fullName)
    {
        if (fullName.Contains("..", StringComparison.Ordinal) || fullName.StartsWith('/'))
        {
            return null;
        }
        var dir = Path.Combine(Root, fullName + ".git");
        return Directory.Exists(Path.Combine(dir, "objects")) ? dir : null;
    }

    /// <summary>Creates an empty bare repository whose HEAD is <paramref name="defaultBranch"/>.</summary>
    public string Create(string fullName, string defaultBranch = "main")
    {
        var dir = Path.Combine(Root, fullName + ".git");
        Directory.CreateDirectory(dir);
        Git(dir, null, "init", "--bare", "--quiet", "--initial-branch=" + defaultBranch);
        return dir;
    }

    /// <summary>The branch HEAD points at (the repository's default branch).</summary>
    public string DefaultBranch(string repo)
    {
        var head = Git(repo, null, "symbolic-ref", "HEAD").Trim();
        return head.StartsWith("refs/heads/", StringComparison.Ordinal) ? head["refs/heads/".Length..] : head;
    }

    /// <summary>The commit SHA a branch, tag or (full or abbreviated) SHA names, or null.</summary>
    public string? ResolveCommit(string repo, string reference)
    {
        if (string.IsNullOrEmpty(reference) || reference.StartsWith('-'))
        {
            return null;
        }
        var (code, output, _) = TryGit(repo, null, "rev-parse", "--verify", "--quiet", "--end-of-options", reference + "^{commit}");
        return code == 0 ? output.Trim() : null;
    }

    /// <summary>True when <paramref name="branch"/> is a branch of the repository.</summary>
    public bool IsBranch(string repo, string branch)
        => TryGit(repo, null, "show-ref", "--verify", "--quiet", "refs/heads/" + branch).Code == 0;

    /// <summary>Creates branch <paramref name="branch"/> at <paramref name="commit"/>; false when the branch exists.</summary>
    public bool CreateBranch(string repo, string branch, string commit)
        => TryGit(repo, null, "update-ref", "refs/heads/" + branch, commit, "").Code == 0;

    /// <summary>The branches and their head commits.</summary>
    public IReadOnlyList<(string Name, string Commit)> Branches(string repo)
        => Refs(repo, "refs/heads/");

    /// <summary>The tags and the commits they point at.</summary>
    public IReadOnlyList<(string Name, string Commit)> Tags(string repo)
        => Refs(repo, "refs/tags/");

    private IReadOnlyList<(string Name, string Commit)> Refs(string repo, string prefix)
    {
        var (code, output, _) = TryGit(repo, null, "for-each-ref", "--format=%(refname)%09%(objectname)%09%(*objectname)", prefix);
        if (code != 0)
        {
            return Array.Empty<(string, string)>();
        }
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .Select(p => (p[0][prefix.Length..], p.Length > 2 && p[2].Length > 0 ? p[2] : p[1]))
            .ToArray();
    }

    /// <summary>The file's bytes at a commit, or null when the path is not a file there.</summary>
    public byte[]? ReadFile(string repo, string commit, string path)
    {
        var blob = BlobSha(repo, commit, path);
        return blob is null ? null : GitBytes(repo, "cat-file", "blob", blob);
    }

    /// <summary>The blob SHA of a file at a commit (GitHub's content "sha"), or null when it is not a file there.</summary>
    public string? BlobSha(string repo, string commit, string path)
    {
        var (code, output, _) = TryGit(repo, null, "ls-tree", "-z", "--full-tree", commit, "--", path.TrimStart('/'));
        if (code != 0 || output.Length == 0)
        {
            return null;
        }
        // "<mode> <type> <sha>\t<path>\0"
        var entry = output.Split('\0')[0];
        var meta = entry.Split('\t')[0].Split(' ');
        return meta.Length == 3 && meta[1] == "blob" ? meta[2] : null;
    }

    /// <summary>The SHA of the last commit on <paramref name="commit"/>'s history that changed <paramref name="path"/>, or null.</summary>
    public string? LastCommitTouching(string repo, string commit, string path)
    {
        var (code, output, _) = TryGit(repo, null, "log", "-1", "--format=%H", commit, "--", path.TrimStart('/'));
        return code == 0 && output.Trim().Length > 0 ? output.Trim() : null;
    }

    /// <summary>The files a commit changes against its first parent (all its files for a root commit): path, lines added and removed.</summary>
    public IReadOnlyList<(string Path, int Additions, int Deletions)> ChangedFiles(string repo, string commit)
    {
        var (code, output, _) = TryGit(repo, null, "diff-tree", "-r", "--root", "--no-commit-id", "--numstat", "-z", commit);
        if (code != 0)
        {
            return Array.Empty<(string, int, int)>();
        }
        // "<added>\t<removed>\t<path>\0" per file ("-" for binary files).
        return output.Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('\t', 3))
            .Where(p => p.Length == 3)
            .Select(p => (p[2], int.TryParse(p[0], out var a) ? a : 0, int.TryParse(p[1], out var d) ? d : 0))
            .ToArray();
    }

    /// <summary>A commit's metadata (what the hosts' commit JSON shows).</summary>
    public sealed record CommitInfo(string Sha, IReadOnlyList<string> Parents, string AuthorName, string AuthorEmail, DateTimeOffset AuthorDate,
        string CommitterName, string CommitterEmail, DateTimeOffset CommitterDate, string Message);

    /// <summary>The metadata of the commit a branch, tag or SHA names, or null.</summary>
    public CommitInfo? GetCommit(string repo, string reference)
    {
        var sha = ResolveCommit(repo, reference);
        if (sha is null)
        {
            return null;
        }
        var (code, output, _) = TryGit(repo, null, "show", "-s", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha);
        if (code != 0)
        {
            return null;
        }
        var p = output.Split('\0');
        return new CommitInfo(p[0], p[1].Split(' ', StringSplitOptions.RemoveEmptyEntries), p[2], p[3],
            DateTimeOffset.Parse(p[4], System.Globalization.CultureInfo.InvariantCulture), p[5], p[6],
            DateTimeOffset.Parse(p[7], System.Globalization.CultureInfo.InvariantCulture), p[8].TrimEnd('\n'));
    }

    /// <summary>The result of <see cref="CommitFile"/>.</summary>
    public sealed record CommitResult(string Commit, string Blob, string Tree, string? Parent, DateTimeOffset Date);

    /// <summary>
    /// Commits one file to a branch (created from the default branch's head, or as the first commit, when it does
    /// not exist), the way the hosts' file APIs do. <paramref name="expectedParent"/>, when given, must be the
    /// branch's current head (optimistic concurrency); returns null when it is not.
    /// </summary>
    public async Task<CommitResult?> CommitFileAsync(string repo, string branch, string path, byte[] content, string message,
        string authorName, string authorEmail, string? expectedParent = null, string? startFrom = null)
    {
        var gate = _locks.GetOrAdd(repo, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            var parent = ResolveCommit(repo, "refs/heads/" + branch)
                ?? (startFrom is not null ? ResolveCommit(repo, startFrom) : null)
                ?? ResolveCommit(repo, "HEAD");
            if (expectedParent is not null && !string.Equals(parent, expectedParent, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
            var index = Path.Combine(Path.GetTempPath(), "standin-index-" + Guid.NewGuid().ToString("N"));
            try
            {
                var env = new Dictionary<string, string> { ["GIT_INDEX_FILE"] = index };
                if (parent is not null)
                {
                    Git(repo, env, "read-tree", parent);
                }
                var blob = GitWithInput(repo, content, "hash-object", "-w", "--stdin").Trim();
                Git(repo, env, "update-index", "--add", "--cacheinfo", $"100644,{blob},{path.TrimStart('/')}");
                var tree = Git(repo, env, "write-tree").Trim();
                var date = DateTimeOffset.UtcNow;
                var commitEnv = new Dictionary<string, string>
                {
                    ["GIT_AUTHOR_NAME"] = authorName,
                    ["GIT_AUTHOR_EMAIL"] = authorEmail,
                    ["GIT_COMMITTER_NAME"] = authorName,
                    ["GIT_COMMITTER_EMAIL"] = authorEmail,
                };
                var args = new List<string> { "commit-tree", tree, "-m", message };
                if (parent is not null)
                {
                    args.InsertRange(2, new[] { "-p", parent });
                }
                var commit = Git(repo, commitEnv, args.ToArray()).Trim();
                Git(repo, null, "update-ref", "refs/heads/" + branch, commit);
                return new CommitResult(commit, blob, tree, parent, date);
            }
            finally
            {
                File.Delete(index);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    // ---------------------------------------------------------------- git CLI

    private static string Git(string repo, IDictionary<string, string>? env, params string[] args)
    {
        var (code, output, error) = TryGit(repo, env, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({code}): {error}");
        }
        return output;
    }

    private static (int Code, string Output, string Error) TryGit(string repo, IDictionary<string, string>? env, params string[] args)
    {
        using var process = Start(repo, env, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error);
    }

    private static byte[] GitBytes(string repo, params string[] args)
    {
        using var process = Start(repo, null, args);
        using var buffer = new MemoryStream();
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.BaseStream.CopyTo(buffer);
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {error.Result}");
        }
        return buffer.ToArray();
    }

    private static string GitWithInput(string repo, byte[] input, params string[] args)
    {
        using var process = Start(repo, null, args, redirectInput: true);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.StandardInput.BaseStream.Write(input);
        process.StandardInput.Close();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {error.Result}");
        }
        return output.Result;
    }

    private static Process Start(string repo, IDictionary<string, string>? env, string[] args, bool redirectInput = false)
    {
        var info = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add("--git-dir=" + repo);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["GIT_TERMINAL_PROMPT"] = "0";
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                info.Environment[k] = v;
            }
        }
        return Process.Start(info) ?? throw new InvalidOperationException("git could not be started");
    }
}
