using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Flowstore.Storage.Contract.GitHosts;

/// <summary>
/// A bare repository under the stand-in's root (<c>&lt;root&gt;/&lt;full name&gt;.git</c>, HEAD on the default branch)
/// and a work clone that commits and pushes to it with the git CLI, as a user would.
/// </summary>
public sealed class TestRepo : IDisposable
{
    private TestRepo(string fullName, string bare, string work, string defaultBranch)
    {
        FullName = fullName;
        Bare = bare;
        Work = work;
        DefaultBranch = defaultBranch;
    }

    /// <summary>owner/repo, group/sub/project or KEY/slug.</summary>
    public string FullName { get; }

    public string Bare { get; }

    public string Work { get; }

    public string DefaultBranch { get; }

    /// <summary>Creates <c>&lt;root&gt;/&lt;fullName&gt;.git</c>; private unless <paramref name="isPublic"/>.</summary>
    public static TestRepo Create(string fullName, string defaultBranch = "trunk", bool isPublic = false)
    {
        var bare = Path.Combine(StandIn.Root, fullName + ".git");
        Directory.CreateDirectory(bare);
        Run(bare, "init", "-q", "--bare", "--initial-branch=" + defaultBranch);
        if (isPublic)
        {
            File.WriteAllText(Path.Combine(bare, "standin-public"), "");
        }
        var work = Path.Combine(Path.GetTempPath(), "fs-work-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        Run(work, "init", "-q", "--initial-branch=" + defaultBranch);
        Run(work, "remote", "add", "origin", bare);
        return new TestRepo(fullName, bare, work, defaultBranch);
    }

    /// <summary>Writes a file, commits it on the current branch and pushes; returns the new commit SHA.</summary>
    public string CommitAndPush(string path, string content, string? message = null)
    {
        var full = Path.Combine(Work, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content, new UTF8Encoding(false));
        Git("add", "--", path);
        Git("commit", "-q", "-m", message ?? "Change " + path);
        Git("push", "-q", "origin", "HEAD:refs/heads/" + Git("rev-parse", "--abbrev-ref", "HEAD").Trim());
        return Git("rev-parse", "HEAD").Trim();
    }

    /// <summary>Switches the work clone to <paramref name="branch"/>, creating it at the current commit (not pushed until the next commit).</summary>
    public void Checkout(string branch, bool create = false)
    {
        if (create)
        {
            Git("checkout", "-q", "-b", branch);
        }
        else
        {
            Git("checkout", "-q", branch);
        }
    }

    /// <summary>An annotated tag at the current commit, pushed.</summary>
    public void TagAndPush(string name)
    {
        Git("tag", "-a", name, "-m", name);
        Git("push", "-q", "origin", "refs/tags/" + name);
    }

    /// <summary>The commit a ref names in the bare repository (what the host has), or null.</summary>
    public string? BareCommit(string reference)
    {
        var (code, output) = TryRun(Bare, "rev-parse", "--verify", "--quiet", reference + "^{commit}");
        return code == 0 ? output.Trim() : null;
    }

    /// <summary>The commit a ref names in the bare repository; throws when there is none.</summary>
    public string Head(string reference) => BareCommit(reference) ?? throw new InvalidOperationException($"No commit '{reference}' in {FullName}.");

    /// <summary>A file's text at a ref of the bare repository, or null.</summary>
    public string? Show(string reference, string path)
    {
        var (code, output) = TryRun(Bare, "show", $"{reference}:{path}");
        return code == 0 ? output : null;
    }

    /// <summary>The parent SHAs of a commit in the bare repository.</summary>
    public string[] BareParents(string commit) => Run(Bare, "rev-list", "--parents", "-n", "1", commit).Trim().Split(' ')[1..];

    /// <summary>How many commits a ref of the bare repository holds.</summary>
    public int CommitCount(string reference) => int.Parse(Run(Bare, "rev-list", "--count", reference).Trim(), CultureInfo.InvariantCulture);

    /// <summary>git in the work clone, with a test identity.</summary>
    public string Git(params string[] args) => Run(Work, ["-c", "user.name=Test User", "-c", "user.email=test@example.invalid", .. args]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Work, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Run(string dir, params string[] args)
    {
        var (code, output) = TryRun(dir, args);
        return code == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({code}): {output}");
    }

    private static (int Code, string Output) TryRun(string dir, params string[] args)
    {
        var info = new ProcessStartInfo("git")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["GIT_TERMINAL_PROMPT"] = "0";
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, process.ExitCode == 0 ? output : output + error.Result);
    }
}
