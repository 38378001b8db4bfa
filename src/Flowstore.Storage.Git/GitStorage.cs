[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.Git.GitStorageProvider))]

namespace Flowstore;

/// <summary>
/// A flow script kept in any Git repository (https, ssh or file URL; Azure Repos included). Every run fetches the
/// file at <see cref="Branch"/>, <see cref="Tag"/> or <see cref="Commit"/> (the remote's default branch when none
/// is set), resolves it to a commit SHA and records that SHA. Script-only storage.
/// </summary>
public sealed record GitStorage : StorageSettings
{
    /// <summary>For deserialisation.</summary>
    public GitStorage()
    {
    }

    /// <param name="url">The repository: https://..., ssh://..., file://... (no credentials in it).</param>
    /// <param name="path">The flow file inside the repository, e.g. "flows/my_flow.cs".</param>
    /// <param name="branch">A branch to follow.</param>
    /// <param name="tag">A tag to read.</param>
    /// <param name="commit">A commit SHA to read.</param>
    /// <param name="tokenSecret">Name of the secret holding a token (PAT) sent as HTTP Basic authentication.</param>
    /// <param name="tokenUsername">User name sent with the token (any for Azure Repos; default "flowstore").</param>
    /// <param name="depth">Commits to fetch (default 1; 0 fetches the whole history).</param>
    public GitStorage(string url, string path, string? branch = null, string? tag = null, string? commit = null,
        string? tokenSecret = null, string? tokenUsername = null, int? depth = null)
    {
        Url = url;
        Path = path;
        Branch = branch;
        Tag = tag;
        Commit = commit;
        TokenSecret = tokenSecret;
        TokenUsername = tokenUsername;
        Depth = depth;
        Validate();
    }

    public override string Type => "Git";

    public override bool IsScript => true;

    /// <summary>The repository URL (never with credentials).</summary>
    [StorageSetting("The repository URL: https://..., ssh://... or file://... (for Azure Repos https://dev.azure.com/org/project/_git/repo); " +
        "a local repository path becomes a file:// URL. Never put credentials in it: name a token secret instead.", Mandatory = true, LocalPath = StorageSettingPath.UrlOrFile)]
    public string Url { get; init; } = "";

    /// <summary>The flow file's path inside the repository (forward slashes, no leading slash).</summary>
    [StorageSetting("The flow file's path inside the repository, for example flows/my_flow.cs.", Mandatory = true)]
    public string Path { get; init; } = "";

    /// <summary>The branch runs follow; null with no <see cref="Tag"/> or <see cref="Commit"/>: the default branch.</summary>
    [StorageSetting("The branch runs follow (each run reads its latest commit). Without a branch, tag or commit: the repository's default branch.")]
    public string? Branch { get; init; }

    /// <summary>A tag runs read.</summary>
    [StorageSetting("The tag runs read.")]
    public string? Tag { get; init; }

    /// <summary>A commit SHA runs read.</summary>
    [StorageSetting("The commit SHA runs read.")]
    public string? Commit { get; init; }

    /// <summary>The name of the secret that holds the token (a PAT); null for public or ssh/file repositories.</summary>
    [StorageSetting("Name of the secret (a Flowstore secret, an environment variable or a vault) holding a token such as a PAT, sent as HTTP Basic authentication.", Secret = true)]
    public string? TokenSecret { get; init; }

    /// <summary>The user name sent with the token; "flowstore" when null.</summary>
    [StorageSetting("The user name sent with the token (default \"flowstore\"; Azure Repos accepts any).")]
    public string? TokenUsername { get; init; }

    /// <summary>Commits to fetch; null means 1, 0 the whole history.</summary>
    [StorageSetting("How many commits each fetch downloads (default 1; 0 fetches the whole history).", Minimum = 0)]
    public int? Depth { get; init; }

    /// <summary>The ref as the user gave it, for messages: "branch main", "tag v1", "commit 3f2a...", "the default branch".</summary>
    public string RefDescription => Branch is not null ? $"branch '{Branch}'"
        : Tag is not null ? $"tag '{Tag}'"
        : Commit is not null ? $"commit {Commit}"
        : "the default branch";

    public override string Locator => $"git:{GitUrl.Redact(Url)}#{(Branch is not null ? "branch:" + Branch : Tag is not null ? "tag:" + Tag : Commit is not null ? "commit:" + Commit : "HEAD")}:{Path}";

    public override string? RequestedRef => RefDescription;

    public override string ToString() => $"Git {GitUrl.Redact(Url)} {Path} ({RefDescription})";

    /// <summary>
    /// A URL without a password, a relative path, at most one of branch, tag and commit, and names git cannot
    /// mistake for options.
    /// </summary>
    protected override void ValidateSettings()
    {
        if (Url.StartsWith('-') || Url.Any(char.IsControl))
        {
            throw Invalid(nameof(Url), $"Git storage URL '{GitUrl.Redact(Url)}' is not a repository URL.");
        }
        if (GitUrl.HasPassword(Url))
        {
            throw Invalid(nameof(TokenSecret), $"Git storage URL '{GitUrl.Redact(Url)}' holds credentials; remove them and put the token in a secret " +
                "named by the storage's token secret, so it is never saved with the flow.");
        }
        var path = NormalizePath(Path);
        if (path.Length == 0 || path.Split('/').Any(part => part is "" or "." or "..") || path.Any(char.IsControl))
        {
            throw Invalid(nameof(Path), $"Git storage path '{Path}' must be a file path inside the repository, such as flows/my_flow.cs.");
        }
        var refs = new[] { Branch, Tag, Commit }.Count(r => r is not null);
        if (refs > 1)
        {
            throw Conflict($"Git storage of {GitUrl.Redact(Url)} names more than one of branch ('{Branch}'), tag ('{Tag}') and commit ('{Commit}'); give at most one.",
                GitUrl.Redact(Url), nameof(Branch), nameof(Tag), nameof(Commit));
        }
        CheckRefName(Branch, nameof(Branch));
        CheckRefName(Tag, nameof(Tag));
        if (Commit is not null && (Commit.Length < 4 || Commit.Length > 64 || !Commit.All(Uri.IsHexDigit)))
        {
            throw Invalid(nameof(Commit), $"Git storage commit '{Commit}' is not a commit SHA (4 to 64 hexadecimal digits).");
        }
        if (TokenSecret is not null && string.IsNullOrWhiteSpace(TokenSecret))
        {
            throw Invalid(nameof(TokenSecret), "Git storage token secret name is empty.");
        }
        if (TokenSecret is not null && GitUrl.IsSsh(Url))
        {
            // The token travels as an HTTP header: over SSH git signs in with the user's SSH key and never sends it.
            throw Conflict($"Git storage URL '{GitUrl.Redact(Url)}' is an SSH URL: git signs in there with your SSH key and does not use the token " +
                $"in secret '{TokenSecret}'. Leave out the token secret, or use the repository's https:// URL with the token.",
                GitUrl.Redact(Url), nameof(Url), nameof(TokenSecret));
        }
        if (TokenUsername is not null && (TokenUsername.Length == 0 || TokenUsername.Contains(':') || TokenUsername.Any(char.IsControl)))
        {
            throw Invalid(nameof(TokenUsername), $"Git storage token user name '{TokenUsername}' must be non-empty without ':'.");
        }
    }

    /// <summary>Forward slashes, no leading "./" or "/".</summary>
    internal static string NormalizePath(string path)
    {
        var normalized = path.Trim().Replace('\\', '/');
        while (normalized.StartsWith("./", StringComparison.Ordinal))
        {
            normalized = normalized[2..];
        }
        return normalized.TrimStart('/');
    }

    private void CheckRefName(string? name, string setting)
    {
        if (name is null)
        {
            return;
        }
        if (name.Length == 0 || name.StartsWith('-') || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '~' or '^' or ':' or '?' or '*' or '[' or '\\')
            || name.Contains("..", StringComparison.Ordinal) || name.EndsWith('/') || name.EndsWith(".lock", StringComparison.Ordinal))
        {
            var what = setting.ToLowerInvariant();
            throw Invalid(setting, $"Git storage {what} '{name}' is not a valid {what} name.");
        }
    }

    private FlowstoreException Invalid(string setting, string message) => base.Invalid(setting, message, GitUrl.Redact(Url ?? ""));
}

/// <summary>URL helpers that keep credentials out of messages.</summary>
public static class GitUrl
{
    private static readonly System.Text.RegularExpressions.Regex Userinfo = new(
        @"(?<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?<userinfo>[^/@\s]*)@", System.Text.RegularExpressions.RegexOptions.Compiled);

    /// <summary>The text with the user info of every URL in it (user:password@) removed.</summary>
    public static string Redact(string text) => string.IsNullOrEmpty(text) ? text : Userinfo.Replace(text, m =>
    {
        // Keep a bare user name (ssh://git@host) but drop anything with a password, and any https user info.
        var userinfo = m.Groups["userinfo"].Value;
        var scheme = m.Groups["scheme"].Value;
        var http = scheme.StartsWith("http", StringComparison.OrdinalIgnoreCase);
        return userinfo.Contains(':') || http ? scheme : m.Value;
    });

    /// <summary>
    /// True for an SSH URL: ssh://, git+ssh:// or ssh+git://, or the scp-like form user@host:path (git@github.com:org/repo.git),
    /// where git authenticates with SSH keys and sends no HTTP header.
    /// </summary>
    public static bool IsSsh(string url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return false;
        }
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            return url[..scheme].ToLowerInvariant() is "ssh" or "git+ssh" or "ssh+git";
        }
        // scp-like: a colon before the first slash, and not a Windows drive letter (C:\repo, C:/repo).
        var colon = url.IndexOf(':', StringComparison.Ordinal);
        var slash = url.IndexOfAny(['/', '\\']);
        return colon > 1 && (slash < 0 || colon < slash);
    }

    /// <summary>True when a URL carries a password (scheme://user:password@host).</summary>
    public static bool HasPassword(string url)
    {
        var m = Userinfo.Match(url);
        return m.Success && m.Index == 0 && m.Groups["userinfo"].Value.Contains(':');
    }
}
