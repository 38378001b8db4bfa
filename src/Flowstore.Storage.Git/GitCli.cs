using System.Diagnostics;
using System.Text;

namespace Flowstore.Storage.Git;

/// <summary>The outcome of one git command.</summary>
internal sealed record GitResult(int ExitCode, byte[] Output, string Error)
{
    public bool Succeeded => ExitCode == 0;

    public string Text => Encoding.UTF8.GetString(Output).Trim();
}

/// <summary>
/// Runs the git command line against one repository (a bare cache repository). The token, when given, travels only
/// in the child's environment (GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n as an http.extraHeader
/// scoped to the remote's origin), never on the command line; git never prompts.
/// </summary>
internal sealed class GitCli
{
    private readonly string _gitDir;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _config;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly string? _secret;

    /// <param name="gitDir">The repository every command runs in.</param>
    /// <param name="config">Configuration passed through the environment (may hold the token header).</param>
    /// <param name="environment">Further environment variables (author, index file).</param>
    /// <param name="secret">A value to blank out of git's messages, should git ever echo it.</param>
    public GitCli(string gitDir, IReadOnlyList<KeyValuePair<string, string>> config, IReadOnlyDictionary<string, string>? environment = null, string? secret = null)
    {
        _gitDir = gitDir;
        _config = config;
        _environment = environment ?? new Dictionary<string, string>();
        _secret = secret;
    }

    public GitCli With(IReadOnlyDictionary<string, string> environment)
    {
        var merged = new Dictionary<string, string>(_environment);
        foreach (var (k, v) in environment)
        {
            merged[k] = v;
        }
        return new GitCli(_gitDir, _config, merged, _secret);
    }

    /// <summary>Runs git; a missing git executable is <see cref="ErrorIds.StorageUnavailable"/>.</summary>
    public async Task<GitResult> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken, byte[]? input = null)
    {
        var start = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        start.ArgumentList.Add("--git-dir=" + _gitDir);
        // Never run hooks from the user's configuration, never leave background maintenance behind.
        foreach (var option in new[] { "core.hooksPath=" + (OperatingSystem.IsWindows() ? "NUL" : "/dev/null"), "gc.autoDetach=false", "maintenance.auto=false", "advice.detachedHead=false" })
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(option);
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var env = start.Environment;
        env["GIT_TERMINAL_PROMPT"] = "0";
        env["GIT_ASKPASS"] = "";
        env["SSH_ASKPASS"] = "";
        env["GCM_INTERACTIVE"] = "never";
        env["LC_ALL"] = "C";
        env["LANGUAGE"] = "C";
        env.Remove("GIT_DIR");
        env.Remove("GIT_WORK_TREE");
        env.Remove("GIT_INDEX_FILE");
        if (!env.ContainsKey("GIT_SSH_COMMAND") && !env.ContainsKey("GIT_SSH"))
        {
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes";
        }
        // Append to configuration the caller's environment may already pass this way.
        var count = int.TryParse(env.TryGetValue("GIT_CONFIG_COUNT", out var existing) ? existing : null, out var n) && n > 0 ? n : 0;
        foreach (var (key, value) in _config)
        {
            env[$"GIT_CONFIG_KEY_{count}"] = key;
            env[$"GIT_CONFIG_VALUE_{count}"] = value;
            count++;
        }
        if (count > 0)
        {
            env["GIT_CONFIG_COUNT"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var (key, value) in _environment)
        {
            env[key] = value;
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FlowstoreException(ErrorIds.StorageUnavailable, FlowErrorKind.NotImplemented,
                "Git storage needs the git command-line tool, which was not found on PATH; install Git (https://git-scm.com).", e);
        }

        using var killOnCancel = cancellationToken.Register(() =>
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
        });
        var output = new MemoryStream();
        var readOutput = process.StandardOutput.BaseStream.CopyToAsync(output, CancellationToken.None);
        var readError = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            if (input is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(input, CancellationToken.None).ConfigureAwait(false);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // git exited without reading its input; its exit code tells why.
        }
        await Task.WhenAll(readOutput, readError).ConfigureAwait(false);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return new GitResult(process.ExitCode, output.ToArray(), Scrub(await readError.ConfigureAwait(false)));
    }

    /// <summary>Removes URL credentials and the secret from a message of git's.</summary>
    public string Scrub(string text)
    {
        var scrubbed = GitUrl.Redact(text);
        if (!string.IsNullOrEmpty(_secret))
        {
            scrubbed = scrubbed.Replace(_secret, "***", StringComparison.Ordinal);
            var basic = _config.FirstOrDefault(c => c.Key.EndsWith(".extraHeader", StringComparison.OrdinalIgnoreCase)).Value;
            if (basic is not null)
            {
                var encoded = basic["Authorization: Basic ".Length..];
                scrubbed = scrubbed.Replace(encoded, "***", StringComparison.Ordinal);
            }
        }
        return scrubbed;
    }
}
