using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

// Shared by the GitLab and Bitbucket Server storage tests (linked into both projects): the API stand-in started by
// tests/servers/Start-GitHosts.ps1, real bare repositories under its root, and a secret resolver.
namespace Flowstore.Storage.GitHosts.Tests;

/// <summary>The running API stand-in, from FLOWSTORE_TEST_GITHOSTS_URL / _ROOT / _TOKEN.</summary>
internal sealed class StandIn
{
    private static readonly Lazy<StandIn> Lazy = new(() => new StandIn());

    private StandIn()
    {
        Url = Required("FLOWSTORE_TEST_GITHOSTS_URL").TrimEnd('/');
        Root = Required("FLOWSTORE_TEST_GITHOSTS_ROOT");
        Token = Required("FLOWSTORE_TEST_GITHOSTS_TOKEN");
    }

    public static StandIn Instance => Lazy.Value;

    public string Url { get; }

    public string Root { get; }

    public string Token { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Makes the next <paramref name="count"/> requests under <paramref name="pathPrefix"/> fail.</summary>
    public async Task InjectAsync(string pathPrefix, int status, int count = 1, Dictionary<string, string>? headers = null, string? body = null, bool drop = false)
    {
        using var response = await Http.PostAsJsonAsync($"{Url}/_standin/faults",
            new { status, count, pathPrefix, headers = headers ?? new Dictionary<string, string>(), body, drop });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The requests the stand-in saw ("METHOD /path?query [auth header names]").</summary>
    public async Task<string[]> RequestsAsync()
        => await Http.GetFromJsonAsync<string[]>($"{Url}/_standin/requests") ?? [];

    private static string Required(string name)
        => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: start the Git host API stand-ins first with tests/servers/Start-GitHosts.ps1 -WorkDirectory <folder> " +
                "(build.ps1 -Task Test does) and run the tests with its environment variables.");
}

/// <summary>A bare repository under the stand-in's root and a work tree that commits and pushes to it with the git CLI.</summary>
internal sealed class TestRepo : IDisposable
{
    private TestRepo(string fullName, string bare, string work, string defaultBranch)
    {
        FullName = fullName;
        Bare = bare;
        Work = work;
        DefaultBranch = defaultBranch;
    }

    public string FullName { get; }

    public string Bare { get; }

    public string Work { get; }

    public string DefaultBranch { get; }

    /// <summary>Creates <c>&lt;root&gt;/&lt;fullName&gt;.git</c> whose default branch is <paramref name="defaultBranch"/>.</summary>
    public static TestRepo Create(string fullName, string defaultBranch = "trunk", bool isPublic = false)
    {
        var bare = Path.Combine(StandIn.Instance.Root, fullName + ".git");
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
    public string CommitAndPush(string path, string content, string message = "change")
    {
        var full = Path.Combine(Work, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content, new UTF8Encoding(false));
        Run(Work, "add", "--", path);
        Run(Work, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", message);
        Run(Work, "push", "-q", "origin", "HEAD:refs/heads/" + CurrentBranch());
        return Head();
    }

    /// <summary>Creates a branch at the current commit and switches to it (not pushed until the next commit).</summary>
    public void SwitchToNewBranch(string name) => Run(Work, "checkout", "-q", "-b", name);

    public void Switch(string name) => Run(Work, "checkout", "-q", name);

    public void TagAndPush(string name)
    {
        Run(Work, "-c", "user.name=Test", "-c", "user.email=test@example.com", "tag", "-a", name, "-m", name);
        Run(Work, "push", "-q", "origin", "refs/tags/" + name);
    }

    public string Head() => Run(Work, "rev-parse", "HEAD").Trim();

    public string CurrentBranch() => Run(Work, "rev-parse", "--abbrev-ref", "HEAD").Trim();

    /// <summary>The commit a ref names in the bare repository (what the host has), or null.</summary>
    public string? BareCommit(string reference)
    {
        var (code, output) = TryRun(Bare, "rev-parse", "--verify", "--quiet", reference + "^{commit}");
        return code == 0 ? output.Trim() : null;
    }

    /// <summary>A file's text at a commit of the bare repository.</summary>
    public string BareShow(string commit, string path) => Run(Bare, "show", $"{commit}:{path}");

    /// <summary>The parent SHAs of a commit in the bare repository.</summary>
    public string[] BareParents(string commit) => Run(Bare, "rev-list", "--parents", "-n", "1", commit).Trim().Split(' ')[1..];

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

/// <summary>Secrets from a dictionary; a missing name is SecretNotFound, as the engine's resolver does.</summary>
internal sealed class TestSecrets(Dictionary<string, string> values) : ISecretResolver
{
    public ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken)
        => values.TryGetValue(name, out var value)
            ? ValueTask.FromResult(value)
            : throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound, $"Secret '{name}' was not found; looked in: test secrets.") { Target = name };
}

/// <summary>Helpers for the tests.</summary>
internal static class Kit
{
    /// <summary>A unique lower-case name for a repository of one test.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>A flow script that prints <paramref name="message"/> (tasks get_data and print_data).</summary>
    public static string Script(string message, string flow = "example", string lastTask = "print_data")
        => "using Flowstore;\n" +
           $"var flow = new Flow(\"{flow}\");\n" +
           "var data = flow.Task(\"get_data\", () => new[] { 1, 2, 3 });\n" +
           $"flow.Task(\"{lastTask}\", (int[] values) => Console.WriteLine(\"{message}\"), data);\n";

    /// <summary>The exception's full text: its message, its inner exceptions' messages and its ToString().</summary>
    public static string AllText(Exception e)
    {
        var text = new StringBuilder(e.ToString());
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            text.Append('\n').Append(inner.Message);
        }
        return text.ToString();
    }

    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    /// <summary>A registration context for a local script.</summary>
    public static StorageRegistrationContext RegistrationContext(ISecretResolver secrets, string localSource, List<string> log)
        => new("/tmp/flows/my_flow.cs", localSource, FlowStructure.Sha256Hex(localSource), "example", "example", secrets, log.Add);

    /// <summary>A publish context for a local script.</summary>
    public static StoragePublishContext PublishContext(ISecretResolver secrets, string source, string? message = null, string? branch = null)
        => new("/tmp/flows/my_flow.cs", source, FlowStructure.Sha256Hex(source), "example", "example",
            secrets, _ => { })
        {
            Message = message,
            Branch = branch,
        };
}
