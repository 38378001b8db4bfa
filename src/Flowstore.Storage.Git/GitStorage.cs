namespace Flowstore;

/// <summary>
/// A flow script kept in any Git repository (https, ssh or file URL; Azure Repos included). Every run fetches the
/// file at <see cref="Branch"/>, <see cref="Tag"/> or <see cref="Commit"/> (the remote's default branch when none
/// is set), resolves it to a commit SHA and records that SHA. Script-only storage.
/// </summary>
public sealed class GitStorage : StorageSettings
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
    public string Url { get; set; } = "";

    /// <summary>The flow file's path inside the repository (forward slashes, no leading slash).</summary>
    public string Path { get; set; } = "";

    /// <summary>The branch runs follow; null with no <see cref="Tag"/> or <see cref="Commit"/>: the default branch.</summary>
    public string? Branch { get; set; }

    /// <summary>A tag runs read.</summary>
    public string? Tag { get; set; }

    /// <summary>A commit SHA runs read.</summary>
    public string? Commit { get; set; }

    /// <summary>The name of the secret that holds the token (a PAT); null for public or ssh/file repositories.</summary>
    public string? TokenSecret { get; set; }

    /// <summary>The user name sent with the token; "flowstore" when null.</summary>
    public string? TokenUsername { get; set; }

    /// <summary>Commits to fetch; null means 1, 0 the whole history.</summary>
    public int? Depth { get; set; }

    /// <summary>The ref as the user gave it, for messages: "branch main", "tag v1", "commit 3f2a...", "the default branch".</summary>
    public string RefDescription => Branch is not null ? $"branch '{Branch}'"
        : Tag is not null ? $"tag '{Tag}'"
        : Commit is not null ? $"commit {Commit}"
        : "the default branch";

    public override string Locator => $"git:{GitUrl.Redact(Url)}#{(Branch is not null ? "branch:" + Branch : Tag is not null ? "tag:" + Tag : Commit is not null ? "commit:" + Commit : "HEAD")}:{Path}";

    public override IEnumerable<string> SecretNames => TokenSecret is null ? Array.Empty<string>() : new[] { TokenSecret };

    public override string ToString() => $"Git {GitUrl.Redact(Url)} {Path} ({RefDescription})";

    /// <summary>A copy (the settings hold only immutable values).</summary>
    public GitStorage Copy() => (GitStorage)MemberwiseClone();

    /// <summary>
    /// Checks the settings: a URL without a password, a relative path, at most one of branch, tag and commit, and
    /// names git cannot mistake for options. Throws <see cref="ErrorIds.StorageInvalid"/>.
    /// </summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Url))
        {
            throw Invalid("Git storage needs a repository URL (-Url https://..., ssh://... or file://...).");
        }
        if (Url.StartsWith('-') || Url.Any(char.IsControl))
        {
            throw Invalid($"Git storage URL '{GitUrl.Redact(Url)}' is not a repository URL.");
        }
        if (GitUrl.HasPassword(Url))
        {
            throw Invalid($"Git storage URL '{GitUrl.Redact(Url)}' holds credentials; remove them and put the token in a secret " +
                "(Set-FlowSecret) named by -TokenSecret, so it is never saved with the flow.");
        }
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw Invalid($"Git storage of {GitUrl.Redact(Url)} needs the flow file's path in the repository (-Path flows/my_flow.cs).");
        }
        var path = NormalizePath(Path);
        if (path.Length == 0 || path.Split('/').Any(part => part is "" or "." or "..") || path.Any(char.IsControl))
        {
            throw Invalid($"Git storage path '{Path}' must be a file path inside the repository, such as flows/my_flow.cs.");
        }
        var refs = new[] { Branch, Tag, Commit }.Count(r => r is not null);
        if (refs > 1)
        {
            throw Invalid($"Git storage of {GitUrl.Redact(Url)} names more than one of branch ('{Branch}'), tag ('{Tag}') and commit ('{Commit}'); give at most one.");
        }
        CheckRefName(Branch, "branch");
        CheckRefName(Tag, "tag");
        if (Commit is not null && (Commit.Length < 4 || Commit.Length > 64 || !Commit.All(Uri.IsHexDigit)))
        {
            throw Invalid($"Git storage commit '{Commit}' is not a commit SHA (4 to 64 hexadecimal digits).");
        }
        if (Depth is < 0)
        {
            throw Invalid($"Git storage depth {Depth} is negative; give 1 or more commits, or 0 for the whole history.");
        }
        if (TokenSecret is not null && string.IsNullOrWhiteSpace(TokenSecret))
        {
            throw Invalid("Git storage token secret name is empty.");
        }
        if (TokenUsername is not null && (TokenUsername.Length == 0 || TokenUsername.Contains(':') || TokenUsername.Any(char.IsControl)))
        {
            throw Invalid($"Git storage token user name '{TokenUsername}' must be non-empty without ':'.");
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

    private void CheckRefName(string? name, string what)
    {
        if (name is null)
        {
            return;
        }
        if (name.Length == 0 || name.StartsWith('-') || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '~' or '^' or ':' or '?' or '*' or '[' or '\\')
            || name.Contains("..", StringComparison.Ordinal) || name.EndsWith('/') || name.EndsWith(".lock", StringComparison.Ordinal))
        {
            throw Invalid($"Git storage {what} '{name}' is not a valid {what} name.");
        }
    }

    private FlowstoreException Invalid(string message)
        => new(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument, message) { Target = GitUrl.Redact(Url ?? "") };
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

    /// <summary>True when a URL carries a password (scheme://user:password@host).</summary>
    public static bool HasPassword(string url)
    {
        var m = Userinfo.Match(url);
        return m.Success && m.Index == 0 && m.Groups["userinfo"].Value.Contains(':');
    }
}
