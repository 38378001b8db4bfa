using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Flowstore.Storage.GitHub;

namespace Flowstore.Storage.GitHub.Tests;

/// <summary>
/// The GitHub API stand-in (tests/Flowstore.StandIns) started by tests/servers/Start-GitHosts.ps1, which sets
/// FLOWSTORE_TEST_GITHOSTS_URL, _ROOT and _TOKEN. Tests fail (never skip) when they are missing.
/// </summary>
internal static class StandIn
{
    public static string Url => Required("FLOWSTORE_TEST_GITHOSTS_URL");

    public static string Root => Required("FLOWSTORE_TEST_GITHOSTS_ROOT");

    public static string Token => Required("FLOWSTORE_TEST_GITHOSTS_TOKEN");

    private static readonly HttpClient Http = new();

    private static string Required(string name)
        => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value
            : throw new InvalidOperationException(
                $"{name} is not set: start the API stand-ins first with tests/servers/Start-GitHosts.ps1 -WorkDirectory <dir> " +
                "(in the same PowerShell session that runs dotnet test), or run build.ps1 -Task Test.");

    /// <summary>Fast retries for tests; waits for a rate limit that resets within 5 s.</summary>
    public static GitHubStorageProvider Provider(TimeSpan? maxRateLimitWait = null) => new(new GitHubStorageOptions
    {
        MaxRetries = 3,
        RetryDelay = TimeSpan.FromMilliseconds(50),
        MaxRateLimitWait = maxRateLimitWait ?? TimeSpan.FromSeconds(5),
        RequestTimeout = TimeSpan.FromSeconds(20),
    });

    /// <summary>Makes the next <paramref name="count"/> requests under <paramref name="pathPrefix"/> fail.</summary>
    public static async Task InjectFaultAsync(string pathPrefix, int status = 502, int count = 1, Dictionary<string, string>? headers = null,
        string? body = null, bool drop = false)
    {
        using var response = await Http.PostAsJsonAsync(Url + "/_standin/faults",
            new { status, count, pathPrefix, headers = headers ?? new Dictionary<string, string>(), body, drop });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The requests the stand-in saw ("GET /path?query [Authorization]").</summary>
    public static async Task<string[]> RequestsAsync()
        => await Http.GetFromJsonAsync<string[]>(Url + "/_standin/requests") ?? Array.Empty<string>();
}

/// <summary>Secrets from a dictionary, through the engine's resolver (so messages are the real ones).</summary>
internal sealed class DictionarySecrets : ISecretSource
{
    private readonly Dictionary<string, string> _values;

    public DictionarySecrets(Dictionary<string, string> values) => _values = values;

    public string Description => "test secrets";

    public ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
        => ValueTask.FromResult(_values.TryGetValue(name, out var v) ? v : null);

    public static SecretResolver With(params (string Name, string Value)[] secrets)
        => new(new DictionarySecrets(secrets.ToDictionary(s => s.Name, s => s.Value)));
}

/// <summary>
/// A bare repository under the stand-in's root (<c>owner/name.git</c>, HEAD on <paramref name="defaultBranch"/>) and a
/// work clone that commits and pushes with the git CLI, as a user would.
/// </summary>
internal sealed class TestRepo : IDisposable
{
    private TestRepo(string owner, string name, string defaultBranch)
    {
        Owner = owner;
        Name = name;
        DefaultBranch = defaultBranch;
        BareDir = Path.Combine(StandIn.Root, owner, name + ".git");
        WorkDir = Path.Combine(Path.GetTempPath(), "fs-github-work-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(BareDir);
        Run(null, "init", "--bare", "--quiet", "--initial-branch=" + defaultBranch, BareDir);
        Directory.CreateDirectory(WorkDir);
        Git("init", "--quiet", "--initial-branch=" + defaultBranch);
        Git("remote", "add", "origin", BareDir);
    }

    public string Owner { get; }
    public string Name { get; }
    public string FullName => Owner + "/" + Name;
    public string DefaultBranch { get; }
    public string BareDir { get; }
    public string WorkDir { get; }

    /// <summary>The stand-in's GitHub Enterprise style base URL (Octokit appends /api/v3).</summary>
    public static string BaseUrl => StandIn.Url;

    /// <summary>A new repository with a unique name; private unless <paramref name="isPublic"/>.</summary>
    public static TestRepo Create(string defaultBranch = "trunk", bool isPublic = false)
    {
        var repo = new TestRepo("org" + Guid.NewGuid().ToString("N")[..8], "repo-" + Guid.NewGuid().ToString("N")[..8], defaultBranch);
        if (isPublic)
        {
            File.WriteAllText(Path.Combine(repo.BareDir, "standin-public"), "");
        }
        return repo;
    }

    /// <summary>The API path prefix of this repository, for fault injection.</summary>
    public string ApiPrefix => $"/api/v3/repos/{Owner}/{Name}";

    /// <summary>Writes, commits and pushes a file on the current branch; returns the new commit SHA.</summary>
    public string CommitAndPush(string path, string content, string? message = null)
    {
        var full = Path.Combine(WorkDir, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content, new UTF8Encoding(false));
        Git("add", "--", path);
        Git("commit", "--quiet", "-m", message ?? "Change " + path);
        Git("push", "--quiet", "origin", "HEAD");
        return Git("rev-parse", "HEAD").Trim();
    }

    public void Checkout(string branch, bool create = false)
    {
        if (create)
        {
            Git("checkout", "--quiet", "-b", branch);
        }
        else
        {
            Git("checkout", "--quiet", branch);
        }
    }

    public void Tag(string name)
    {
        Git("tag", "-a", name, "-m", "Tag " + name);
        Git("push", "--quiet", "origin", "refs/tags/" + name);
    }

    /// <summary>A file's text at a ref in the bare repository (what the "server" really has), or null.</summary>
    public string? Show(string reference, string path)
    {
        var (code, output) = TryRun(BareDir, "--git-dir=" + BareDir, "show", reference + ":" + path);
        return code == 0 ? output : null;
    }

    /// <summary>The commit SHA of a ref in the bare repository.</summary>
    public string Head(string reference) => Run(null, "--git-dir=" + BareDir, "rev-parse", reference + "^{commit}").Trim();

    public int CommitCount(string reference) => int.Parse(Run(null, "--git-dir=" + BareDir, "rev-list", "--count", reference).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public string Git(params string[] args) => Run(WorkDir, ["-c", "user.name=Test User", "-c", "user.email=test@example.invalid", .. args]);

    private static string Run(string? workingDirectory, params string[] args)
    {
        var (code, output) = TryRun(workingDirectory, args);
        return code == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({code}): {output}");
    }

    private static (int Code, string Output) TryRun(string? workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
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

    public void Dispose()
    {
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
