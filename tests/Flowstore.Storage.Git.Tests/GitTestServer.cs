using System.Diagnostics;
using System.Text;

namespace Flowstore.Storage.Git.Tests;

/// <summary>
/// The smart-HTTP Git server started by tests/servers/Start-Git.ps1, read from FLOWSTORE_TEST_GIT_URL, _ROOT and
/// _TOKEN. Each test creates its own bare repository under the root, so tests never share one.
/// </summary>
internal static class GitTestServer
{
    public static string Url => Require("FLOWSTORE_TEST_GIT_URL").TrimEnd('/');

    public static string Root => Require("FLOWSTORE_TEST_GIT_ROOT");

    public static string Token => Require("FLOWSTORE_TEST_GIT_TOKEN");

    private static string Require(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{name} is not set: start the Git test server first (pwsh tests/servers/Start-Git.ps1 -WorkDirectory out/servers/Git, " +
            "or build.ps1 -Task Test) and run the tests with its FLOWSTORE_TEST_GIT_* variables.");

    /// <summary>Makes the server answer the next <paramref name="count"/> requests for a repository with <paramref name="status"/>.</summary>
    public static async Task InjectFaultAsync(string repoName, int status, int count)
    {
        using var http = new HttpClient();
        var response = await http.PostAsync($"{Url}/_faults/{repoName}.git?status={status}&count={count}", null);
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>A bare repository on the test server plus a working clone (pushed to through the file system).</summary>
internal sealed class TestRepo : IDisposable
{
    private readonly string _work;

    private TestRepo(string name, string defaultBranch)
    {
        Name = name;
        DefaultBranch = defaultBranch;
        BarePath = Path.Combine(GitTestServer.Root, name + ".git");
        Url = $"{GitTestServer.Url}/{name}.git";
        _work = Path.Combine(Path.GetTempPath(), "flowstore-git-tests", name);
        Git(GitTestServer.Root, "init", "--quiet", "--bare", "--initial-branch=" + defaultBranch, BarePath);
        Git(Path.GetTempPath(), "init", "--quiet", "--initial-branch=" + defaultBranch, _work);
    }

    public string Name { get; }
    public string DefaultBranch { get; }
    public string BarePath { get; }

    /// <summary>The repository's URL on the test server (needs the token).</summary>
    public string Url { get; }

    /// <summary>A new bare repository whose default branch is <paramref name="defaultBranch"/> (deliberately not "master").</summary>
    public static TestRepo Create(string defaultBranch = "trunk") => new("t" + Guid.NewGuid().ToString("N")[..12], defaultBranch);

    /// <summary>Writes files on a branch of the working clone, commits and pushes them; returns the commit SHA.</summary>
    public string Commit(string branch, string message, params (string Path, string Text)[] files)
    {
        var current = GitOrEmpty(_work, "rev-parse", "--abbrev-ref", "HEAD");
        if (current != branch)
        {
            var exists = GitOrEmpty(_work, "rev-parse", "--verify", "--quiet", "refs/heads/" + branch).Length > 0;
            if (exists)
            {
                Git(_work, "checkout", "--quiet", branch);
            }
            else
            {
                Git(_work, "checkout", "--quiet", "-b", branch);
            }
        }
        foreach (var (path, text) in files)
        {
            var full = Path.Combine(_work, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
            Git(_work, "add", "--", path);
        }
        Git(_work, "-c", "user.name=Test", "-c", "user.email=test@localhost", "commit", "--quiet", "--allow-empty", "-m", message);
        Git(_work, "push", "--quiet", "--force", BarePath, $"{branch}:refs/heads/{branch}");
        return Git(_work, "rev-parse", "HEAD");
    }

    /// <summary>Creates an annotated tag at a commit and pushes it.</summary>
    public void Tag(string tag, string commit)
    {
        Git(_work, "-c", "user.name=Test", "-c", "user.email=test@localhost", "tag", "-a", "-m", "release " + tag, tag, commit);
        Git(_work, "push", "--quiet", BarePath, $"refs/tags/{tag}");
    }

    /// <summary>The commit a branch points at in the bare repository (what the server serves).</summary>
    public string RemoteHead(string branch) => Git(BarePath, "rev-parse", "refs/heads/" + branch);

    /// <summary>A file's text at a commit of the bare repository.</summary>
    public string RemoteFile(string commit, string path) => Run(BarePath, ["cat-file", "blob", $"{commit}:{path}"], false, false);

    /// <summary>A formatted field of a commit in the bare repository (git log --format).</summary>
    public string RemoteLog(string commit, string format) => Git(BarePath, "log", "-1", "--format=" + format, commit);

    public void Configure(string key, string value) => Git(BarePath, "config", key, value);

    /// <summary>Makes the test server speak protocol v0 only for this repository, as older servers do.</summary>
    public void ServeProtocolV0Only() => File.WriteAllText(Path.Combine(BarePath, "flowstore-test-protocol-v0"), "");

    public void Dispose()
    {
        foreach (var dir in new[] { _work, BarePath })
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    public static string Git(string workingDirectory, params string[] args) => Run(workingDirectory, args, false, true);

    private static string GitOrEmpty(string workingDirectory, params string[] args) => Run(workingDirectory, args, true, true);

    private static string Run(string workingDirectory, string[] args, bool allowFailure, bool trim)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
        }
        return process.ExitCode != 0 ? "" : trim ? output.Result.Trim() : output.Result;
    }
}

/// <summary>Secrets from a dictionary (and nothing else), through the engine's resolver.</summary>
internal sealed class DictionarySecretSource(Dictionary<string, string> values) : ISecretSource
{
    public string Description => "test dictionary";

    public ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
        => ValueTask.FromResult(values.TryGetValue(name, out var v) ? v : null);

    public static SecretResolver Resolver(params (string Name, string Value)[] secrets)
        => new(new DictionarySecretSource(secrets.ToDictionary(s => s.Name, s => s.Value)));
}

/// <summary>A fresh cache folder per test, deleted afterwards.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flowstore-git-tests", "cache-" + Guid.NewGuid().ToString("N"));

    public string Write(string name, string text)
    {
        var full = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text, new UTF8Encoding(false));
        return full;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
