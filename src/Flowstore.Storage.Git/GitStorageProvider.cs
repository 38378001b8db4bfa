using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Flowstore.Storage.Git;

/// <summary>
/// Git storage through the git command line: each fetch resolves the storage's ref to a commit with a shallow
/// <c>git fetch</c> into a cache repository ($FLOWSTORE_HOME/cache/git/&lt;hash of url&gt;, one process at a time),
/// reads the file at that commit, and records the commit SHA. Publishing writes the file into a new commit
/// (no working tree) and pushes it.
/// </summary>
public sealed class GitStorageProvider : IStorageProvider
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> InProcessLocks = new(StringComparer.Ordinal);
    private readonly string? _cacheDirectory;

    /// <summary>Caches repositories under $FLOWSTORE_HOME/cache/git.</summary>
    public GitStorageProvider()
        : this((string?)null)
    {
    }

    /// <param name="cacheDirectory">Where the cache repositories live; $FLOWSTORE_HOME/cache/git when null.</param>
    public GitStorageProvider(string? cacheDirectory) => _cacheDirectory = cacheDirectory;

    /// <summary>Caches repositories under the client's home, cache/git.</summary>
    public GitStorageProvider(StorageEnvironment environment)
        : this(Path.Combine(environment.Home, "cache", "git"))
    {
    }

    public string Type => "Git";

    public Type SettingsType => typeof(GitStorage);

    /// <summary>Retries network operations that failed for a transient reason (tests shorten the backoff).</summary>
    internal StorageRetry Retry { get; set; } = StorageRetry.Default;

    /// <summary>How long to wait for another process that is using the same cache repository.</summary>
    internal TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(5);

    private string CacheRoot => _cacheDirectory ?? Path.Combine(FlowstoreHome.Path, "cache", "git");

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var git = (GitStorage)settings;
        git.Validate();
        return git with { Path = GitStorage.NormalizePath(git.Path) };
    }

    public async Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var git = (GitStorage)Resolve(settings, context);
        context.Progress?.Report(new StorageProgress($"Reading {git.Path} from {GitUrl.Redact(git.Url)}", $"Fetching {git.RefDescription}", 0));
        var fetched = await FetchAsync(git, null, context.Secrets, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': {git.RefDescription} of {GitUrl.Redact(git.Url)} is commit {fetched.StorageVersion}; {git.Path} is there.");
        context.Progress?.Report(new StorageProgress($"Reading {git.Path} from {GitUrl.Redact(git.Url)}", "Done", 100));
        return new PreparedStorage(git, new StoredScript(fetched.ScriptText!, fetched.Origin));
    }

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var git = (GitStorage)settings;
        git.Validate();
        var path = GitStorage.NormalizePath(git.Path);
        if (pinnedVersion is not null && (pinnedVersion.Length is not (40 or 64) || !pinnedVersion.All(Uri.IsHexDigit)))
        {
            throw new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.InvalidArgument,
                $"'{pinnedVersion}' is not a commit SHA, so it cannot be fetched from Git storage {GitUrl.Redact(git.Url)}.") { Target = GitUrl.Redact(git.Url) };
        }
        await using var session = await OpenAsync(git, secrets, cancellationToken).ConfigureAwait(false);
        string commit;
        string described;
        if (pinnedVersion is not null)
        {
            commit = await session.FetchCommitAsync(pinnedVersion.ToLowerInvariant(), pinned: true, cancellationToken).ConfigureAwait(false);
            described = $"pinned commit {commit[..12]}";
        }
        else
        {
            commit = await session.FetchConfiguredRefAsync(cancellationToken).ConfigureAwait(false);
            described = $"{git.RefDescription} (commit {commit[..12]})";
        }
        var bytes = await session.ReadFileAsync(commit, path, described, cancellationToken).ConfigureAwait(false);
        var text = Encoding.UTF8.GetString(bytes);
        return new FetchedFlowSource(text, null, FlowStructure.Sha256Hex(bytes), commit,
            $"{GitUrl.Redact(git.Url)} {path} at {described}");
    }

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var git = (GitStorage)settings;
        git.Validate();
        git = git with { Path = GitStorage.NormalizePath(git.Path) };
        if (git.Tag is not null && context.Branch is null)
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Git storage {GitUrl.Redact(git.Url)} reads tag '{git.Tag}', which cannot be published to; name a branch to commit to.")
                { Target = GitUrl.Redact(git.Url), Hint = FlowHint.PublishToBranch() };
        }
        var url = GitUrl.Redact(git.Url);
        var activity = $"Publishing {git.Path} to {url}";
        var message = string.IsNullOrWhiteSpace(context.Message) ? $"Publish {git.Path} with Flowstore" : context.Message!;
        var bytes = await File.ReadAllBytesAsync(context.ScriptPath, cancellationToken).ConfigureAwait(false);

        await using var session = await OpenAsync(git, context.Secrets, cancellationToken).ConfigureAwait(false);
        context.Progress?.Report(new StorageProgress(activity, "Finding the branch", 5));
        var branch = context.Branch ?? git.Branch;
        if (branch is not null && branch != git.Branch)
        {
            new GitStorage(git.Url, git.Path, branch: branch).Validate();
        }
        branch ??= await session.DefaultBranchAsync(cancellationToken).ConfigureAwait(false);

        var (commit, created) = await session.CommitAndPushAsync(branch, git.Path, bytes, message, context.Progress, activity, cancellationToken).ConfigureAwait(false);
        context.Log(created
            ? $"Committed {git.Path} to branch '{branch}' of {url} as {commit} and pushed it."
            : $"{git.Path} on branch '{branch}' of {url} already has this content (commit {commit}); nothing to commit.");
        context.Progress?.Report(new StorageProgress(activity, created ? $"Pushed {commit[..12]}" : "Unchanged", 100));

        if (git.Commit is not null)
        {
            // A storage pinned to a commit follows what was just published.
            git = git with { Commit = commit };
        }
        else if (context.Branch is not null)
        {
            git = git with { Branch = context.Branch, Tag = null };
        }
        return new PublishedFlowSource(git, commit, $"{url} {git.Path} on branch '{branch}' (commit {commit[..12]})");
    }

    private async Task<GitSession> OpenAsync(GitStorage git, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var url = GitUrl.Redact(git.Url);
        string? token = null;
        if (git.TokenSecret is not null)
        {
            try
            {
                token = await secrets.ResolveAsync(git.TokenSecret, cancellationToken).ConfigureAwait(false);
            }
            catch (FlowstoreException e) when (e.ErrorId == ErrorIds.SecretNotFound)
            {
                throw new FlowstoreException(ErrorIds.SecretNotFound, e.Kind,
                    $"{e.Message} It holds the token of Git storage {url} ({git.Path}, {git.RefDescription}).", e) { Target = git.TokenSecret };
            }
        }

        var config = new List<KeyValuePair<string, string>>();
        if (!string.IsNullOrEmpty(token) && Uri.TryCreate(git.Url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{git.TokenUsername ?? "flowstore"}:{token}"));
            // Scoped to the remote's origin, so a redirect to another host never receives the token.
            config.Add(new($"http.{uri.Scheme}://{uri.Authority}/.extraHeader", "Authorization: Basic " + credentials));
        }

        var root = FlowstoreHome.EnsureDirectory(CacheRoot);
        var dir = Path.Combine(root, FlowStructure.Sha256Hex(git.Url)[..16] + ".git");
        var release = await AcquireLockAsync(dir, url, cancellationToken).ConfigureAwait(false);
        try
        {
            var cli = new GitCli(dir, config, secret: token);
            if (!File.Exists(Path.Combine(dir, "HEAD")))
            {
                // Initialise beside the final place, then move: an interrupted init leaves nothing half-made.
                var temp = dir + "." + Guid.NewGuid().ToString("N") + ".tmp";
                var init = await new GitCli(temp, config).RunAsync(["init", "--bare", "--quiet", temp], cancellationToken).ConfigureAwait(false);
                if (!init.Succeeded)
                {
                    throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidOperation,
                        $"Cannot create the Git cache repository '{dir}': {Tail(init.Error)}") { Target = dir };
                }
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
                Directory.Move(temp, dir);
            }
            return new GitSession(this, git, cli, dir, release);
        }
        catch
        {
            release.Dispose();
            throw;
        }
    }

    /// <summary>One process (and one caller in it) at a time per cache repository: a lock file held open exclusively.</summary>
    private async Task<IDisposable> AcquireLockAsync(string dir, string url, CancellationToken cancellationToken)
    {
        var semaphore = InProcessLocks.GetOrAdd(dir, _ => new SemaphoreSlim(1, 1));
        if (!await semaphore.WaitAsync(LockTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw LockTimedOut(dir, url);
        }
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                var stream = new FileStream(dir + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                return new Lock(stream, semaphore);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // Another process fetches into the same cache repository: wait for it.
                try
                {
                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    semaphore.Release();
                    throw;
                }
            }
            catch (IOException)
            {
                semaphore.Release();
                throw LockTimedOut(dir, url);
            }
        }
    }

    private static FlowstoreException LockTimedOut(string dir, string url) => new(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
        $"Another Flowstore process has been using the Git cache '{dir}' of {url} for too long; try again, or end that process.") { Target = dir };

    private sealed class Lock(FileStream stream, SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose()
        {
            stream.Dispose();
            semaphore.Release();
        }
    }

    internal static string Tail(string error)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("hint:", StringComparison.Ordinal))
            .ToArray();
        return lines.Length == 0 ? "(git gave no message)" : string.Join(" ", lines.TakeLast(3));
    }

    /// <summary>What a failed git network command means.</summary>
    internal enum Failure
    {
        Other,
        AccessDenied,
        RepositoryNotFound,
        RefNotFound,
        ShaRefused,
        Rejected,
        Transient,
    }

    private static readonly Regex ServerError = new(@"returned error: 5\d\d", RegexOptions.Compiled);

    internal static Failure Classify(string error)
    {
        var e = error.ToLowerInvariant();
        if (e.Contains("returned error: 401") || e.Contains("returned error: 403") || e.Contains("authentication failed")
            || e.Contains("could not read username") || e.Contains("could not read password") || e.Contains("terminal prompts disabled")
            || e.Contains("permission denied (publickey") || e.Contains("http basic: access denied") || e.Contains("access denied")
            || e.Contains("host key verification failed"))
        {
            return Failure.AccessDenied;
        }
        if (e.Contains("not our ref") || e.Contains("unadvertised object") || e.Contains("upload-pack: not our"))
        {
            return Failure.ShaRefused;
        }
        if (e.Contains("couldn't find remote ref") || e.Contains("could not find remote ref"))
        {
            return Failure.RefNotFound;
        }
        if (e.Contains("repository not found") || e.Contains("returned error: 404") || e.Contains("does not appear to be a git repository")
            || e.Contains("not a git repository") || (e.Contains("repository") && e.Contains("not found")))
        {
            return Failure.RepositoryNotFound;
        }
        if (e.Contains("[rejected]") || e.Contains("non-fast-forward") || e.Contains("fetch first") || e.Contains("cannot lock ref"))
        {
            return Failure.Rejected;
        }
        if (ServerError.IsMatch(e) || e.Contains("could not resolve host") || e.Contains("failed to connect") || e.Contains("couldn't connect")
            || e.Contains("connection refused") || e.Contains("timed out") || e.Contains("early eof") || e.Contains("rpc failed")
            || e.Contains("unexpected disconnect") || e.Contains("connection reset") || e.Contains("remote end hung up")
            || e.Contains("ssl") || e.Contains("gnutls") || e.Contains("operation too slow") || e.Contains("empty reply"))
        {
            return Failure.Transient;
        }
        return Failure.Other;
    }

    /// <summary>A locked cache repository and the storage it serves.</summary>
    private sealed class GitSession(GitStorageProvider provider, GitStorage git, GitCli cli, string dir, IDisposable release) : IAsyncDisposable
    {
        private readonly string _url = GitUrl.Redact(git.Url);

        public ValueTask DisposeAsync()
        {
            release.Dispose();
            return ValueTask.CompletedTask;
        }

        private string Where(string? what = null) => $"{_url} ({GitStorage.NormalizePath(git.Path)}, {what ?? git.RefDescription})";

        /// <summary>Resolves the storage's branch, tag, commit or the default branch to a commit SHA, fetching it.</summary>
        public Task<string> FetchConfiguredRefAsync(CancellationToken cancellationToken)
        {
            if (git.Commit is { } commit)
            {
                return FetchCommitAsync(commit.ToLowerInvariant(), pinned: false, cancellationToken);
            }
            var remote = git.Branch is not null ? "refs/heads/" + git.Branch
                : git.Tag is not null ? "refs/tags/" + git.Tag
                : "HEAD";
            return FetchRefAsync(remote, git.RefDescription, cancellationToken);
        }

        private async Task<string> FetchRefAsync(string remoteRef, string described, CancellationToken cancellationToken)
        {
            var local = "refs/flowstore/" + (remoteRef == "HEAD" ? "HEAD" : remoteRef["refs/".Length..]);
            var args = new List<string> { "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--force" };
            args.AddRange(await DepthArgumentsAsync(cancellationToken).ConfigureAwait(false));
            args.AddRange(["--", git.Url, $"+{remoteRef}:{local}"]);
            var result = await NetworkAsync(args, described, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw Failed(result, described, fetching: true);
            }
            return await RevParseAsync(local + "^{commit}", cancellationToken).ConfigureAwait(false)
                ?? throw new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"Git storage: {described} of {_url} does not point at a commit.") { Target = _url };
        }

        /// <summary>Fetches one commit by SHA (needs uploadpack.allowReachableSHA1InWant), else the whole repository.</summary>
        public async Task<string> FetchCommitAsync(string sha, bool pinned, CancellationToken cancellationToken)
        {
            var full = sha.Length is 40 or 64;
            if (full && await RevParseAsync(sha + "^{commit}", cancellationToken).ConfigureAwait(false) is { } present)
            {
                // Commits never change: one already in the cache needs no network.
                return present;
            }
            var described = pinned ? $"pinned commit {sha}" : $"commit {sha}";
            if (full)
            {
                var args = new List<string> { "fetch", "--quiet", "--no-tags", "--no-write-fetch-head" };
                args.AddRange(await DepthArgumentsAsync(cancellationToken).ConfigureAwait(false));
                args.AddRange(["--", git.Url, $"+{sha}:refs/flowstore/commits/{sha}"]);
                var result = await NetworkAsync(args, described, cancellationToken).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    return await RevParseAsync(sha + "^{commit}", cancellationToken).ConfigureAwait(false) ?? throw CommitMissing(sha, pinned, described);
                }
                var failure = Classify(result.Error);
                if (failure is not (Failure.ShaRefused or Failure.RefNotFound or Failure.Other))
                {
                    throw Failed(result, described, fetching: true);
                }
            }

            // The server will not send a commit by SHA (or it is abbreviated): fetch every branch and tag, whole.
            var all = new List<string> { "fetch", "--quiet", "--no-write-fetch-head", "--force" };
            if (await RevParseAsync("--is-shallow-repository", cancellationToken, verify: false).ConfigureAwait(false) == "true")
            {
                all.Add("--unshallow");
            }
            all.AddRange(["--", git.Url, "+refs/heads/*:refs/flowstore/all/heads/*", "+refs/tags/*:refs/flowstore/all/tags/*"]);
            var fetched = await NetworkAsync(all, described, cancellationToken).ConfigureAwait(false);
            if (!fetched.Succeeded)
            {
                throw Failed(fetched, described, fetching: true);
            }
            return await RevParseAsync(sha + "^{commit}", cancellationToken).ConfigureAwait(false) ?? throw CommitMissing(sha, pinned, described);
        }

        private FlowstoreException CommitMissing(string sha, bool pinned, string described) => pinned
            ? new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                $"Git storage: commit {sha} is no longer in {_url} (rewritten history?), so {GitStorage.NormalizePath(git.Path)} cannot be read at that commit.") { Target = _url }
            : new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                $"Git storage: {Where(described)}: no such commit in the repository; check the storage's commit.")
                { Target = _url, Hint = FlowHint.StorageSetting("Git", nameof(GitStorage.Commit)) };

        /// <summary>The file's bytes at a commit; <see cref="ErrorIds.StorageNotFound"/> when it is not there.</summary>
        public async Task<byte[]> ReadFileAsync(string commit, string path, string described, CancellationToken cancellationToken)
        {
            var result = await cli.RunAsync(["cat-file", "blob", $"{commit}:{path}"], cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"Git storage: '{path}' does not exist (as a file) in {_url} at {described}; check the storage's path, or publish the script there first.")
                    { Target = _url, Hint = FlowHint.PublishScript() };
            }
            return result.Output;
        }

        /// <summary>The remote's default branch (its HEAD), by name.</summary>
        public async Task<string> DefaultBranchAsync(CancellationToken cancellationToken)
        {
            var result = await NetworkAsync(["ls-remote", "--symref", "--", git.Url, "HEAD"], "the default branch", cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw Failed(result, "the default branch", fetching: false);
            }
            var match = Regex.Match(result.Text, @"^ref:\s*refs/heads/(?<branch>\S+)\s+HEAD", RegexOptions.Multiline);
            return match.Success ? match.Groups["branch"].Value
                : throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"Git storage: {_url} has no default branch yet (an empty repository?); name the branch to create.")
                    { Target = _url, Hint = FlowHint.PublishToBranch() };
        }

        /// <summary>Commits the file on top of the branch (created from the default branch if missing) and pushes; retries when the branch moved meanwhile.</summary>
        public async Task<(string Commit, bool Created)> CommitAndPushAsync(string branch, string path, byte[] content, string message,
            IProgress<StorageProgress>? progress, string activity, CancellationToken cancellationToken)
        {
            var identity = await IdentityAsync(cancellationToken).ConfigureAwait(false);
            var described = $"branch '{branch}'";
            for (var attempt = 1; ; attempt++)
            {
                progress?.Report(new StorageProgress(activity, $"Fetching {described}", 15));
                string? parent;
                var branchExists = true;
                try
                {
                    parent = await FetchRefAsync("refs/heads/" + branch, described, cancellationToken).ConfigureAwait(false);
                }
                catch (FlowstoreException e) when (e.Data.Contains(RefNotFoundKey))
                {
                    // A new branch starts from the default branch, or from nothing in an empty repository.
                    branchExists = false;
                    try
                    {
                        parent = await FetchRefAsync("HEAD", "the default branch", cancellationToken).ConfigureAwait(false);
                    }
                    catch (FlowstoreException inner) when (inner.Data.Contains(RefNotFoundKey))
                    {
                        parent = null;
                    }
                }

                progress?.Report(new StorageProgress(activity, "Committing", 40));
                var blob = (await Checked(cli.RunAsync(["hash-object", "-w", "--stdin", "--no-filters"], cancellationToken, content), "store the file").ConfigureAwait(false)).Text;
                string mode = "100644";
                var unchanged = false;
                if (parent is not null)
                {
                    var existing = (await Checked(cli.RunAsync(["ls-tree", "-z", parent, "--", path], cancellationToken), "read the branch").ConfigureAwait(false)).Text.TrimEnd('\0');
                    var parts = existing.Split([' ', '\t'], 4);
                    if (parts.Length == 4 && parts[1] == "blob")
                    {
                        unchanged = parts[2] == blob;
                        mode = parts[0] == "100755" ? "100755" : "100644";
                    }
                }

                if (unchanged && branchExists)
                {
                    return (parent!, false);
                }
                // A new branch whose starting point already holds this content starts right there.
                var commit = unchanged ? parent! : await CommitTreeAsync(parent, path, mode, blob, message, identity, cancellationToken).ConfigureAwait(false);

                progress?.Report(new StorageProgress(activity, $"Pushing {commit[..12]} to {described}", 70));
                var pushed = await NetworkAsync(["push", "--quiet", "--porcelain", "--", git.Url, $"{commit}:refs/heads/{branch}"], described, cancellationToken).ConfigureAwait(false);
                if (pushed.Succeeded)
                {
                    return (commit, commit != parent);
                }
                var combined = pushed.Error + "\n" + Encoding.UTF8.GetString(pushed.Output);
                if (Classify(combined) == Failure.Rejected && attempt < 3)
                {
                    // Someone pushed to the branch since we fetched it: build the commit again on top of theirs.
                    continue;
                }
                throw Failed(pushed with { Error = cli.Scrub(combined) }, described, fetching: false);
            }
        }

        /// <summary>A new commit: the parent's tree with the file at <paramref name="path"/> set to <paramref name="blob"/>.</summary>
        private async Task<string> CommitTreeAsync(string? parent, string path, string mode, string blob, string message,
            Dictionary<string, string> identity, CancellationToken cancellationToken)
        {
            var index = Path.Combine(dir, "flowstore-index-" + Guid.NewGuid().ToString("N"));
            string tree;
            try
            {
                var indexed = cli.With(new Dictionary<string, string> { ["GIT_INDEX_FILE"] = index });
                await Checked(indexed.RunAsync(parent is null ? ["read-tree", "--empty"] : ["read-tree", parent], cancellationToken), "read the branch").ConfigureAwait(false);
                await Checked(indexed.RunAsync(["update-index", "--add", "--cacheinfo", $"{mode},{blob},{path}"], cancellationToken), $"add {path}").ConfigureAwait(false);
                tree = (await Checked(indexed.RunAsync(["write-tree"], cancellationToken), "write the tree").ConfigureAwait(false)).Text;
            }
            finally
            {
                File.Delete(index);
            }
            var commitArgs = new List<string> { "commit-tree", tree };
            if (parent is not null)
            {
                commitArgs.AddRange(["-p", parent]);
            }
            commitArgs.AddRange(["-F", "-"]);
            return (await Checked(cli.With(identity).RunAsync(commitArgs, cancellationToken, Encoding.UTF8.GetBytes(message)), "create the commit").ConfigureAwait(false)).Text;
        }

        /// <summary>The author: git's user.name/user.email when configured, else Flowstore &lt;flowstore@localhost&gt;.</summary>
        private async Task<Dictionary<string, string>> IdentityAsync(CancellationToken cancellationToken)
        {
            var name = (await cli.RunAsync(["config", "user.name"], cancellationToken).ConfigureAwait(false)).Text;
            var email = (await cli.RunAsync(["config", "user.email"], cancellationToken).ConfigureAwait(false)).Text;
            var identity = new Dictionary<string, string>();
            if (name.Length == 0 || email.Length == 0)
            {
                identity["GIT_AUTHOR_NAME"] = identity["GIT_COMMITTER_NAME"] = "Flowstore";
                identity["GIT_AUTHOR_EMAIL"] = identity["GIT_COMMITTER_EMAIL"] = "flowstore@localhost";
            }
            return identity;
        }

        private async Task<GitResult> Checked(Task<GitResult> run, string what)
        {
            var result = await run.ConfigureAwait(false);
            return result.Succeeded ? result
                : throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"Git storage: could not {what} for {Where()} in the cache repository '{dir}': {Tail(result.Error)}") { Target = _url };
        }

        private async Task<IEnumerable<string>> DepthArgumentsAsync(CancellationToken cancellationToken)
        {
            var depth = git.Depth ?? 1;
            if (depth > 0)
            {
                return ["--depth", depth.ToString(System.Globalization.CultureInfo.InvariantCulture)];
            }
            return await RevParseAsync("--is-shallow-repository", cancellationToken, verify: false).ConfigureAwait(false) == "true"
                ? ["--unshallow"]
                : [];
        }

        private async Task<string?> RevParseAsync(string what, CancellationToken cancellationToken, bool verify = true)
        {
            var result = await cli.RunAsync(verify ? ["rev-parse", "--verify", "--quiet", what] : ["rev-parse", what], cancellationToken).ConfigureAwait(false);
            return result.Succeeded ? result.Text : null;
        }

        /// <summary>
        /// Runs a command that talks to the remote, retrying transient failures (the shared storage policy); a remote
        /// that stays unreachable is <see cref="ErrorIds.StorageUnavailable"/>. Other failures come back as results.
        /// </summary>
        private Task<GitResult> NetworkAsync(IReadOnlyList<string> args, string described, CancellationToken cancellationToken)
            => provider.Retry.ExecuteAsync(
                new StorageCall<GitResult>($"Git storage {_url}", $"{(args[0] == "push" ? "pushing to" : "fetching")} {Where(described)}")
                {
                    OnResult = result => !result.Succeeded && Classify(result.Error) == Failure.Transient
                        ? RetryVerdict.Transient("git said: " + Tail(result.Error))
                        : RetryVerdict.Stop,
                    OnException = _ => RetryVerdict.Stop,
                    Target = _url,
                },
                ct => cli.RunAsync(args, ct), cancellationToken);

        private const string RefNotFoundKey = "Flowstore.Git.RefNotFound";

        /// <summary>
        /// What a refusal means. Over HTTP git, refused, falls back to asking for a user name, which it may not do here:
        /// "could not read Username ... terminal prompts disabled" is that fallback, not the cause, so it is not repeated.
        /// </summary>
        private string AccessDeniedMessage(string said, string verb, string described, bool fetching)
        {
            var prompt = said.Contains("could not read username", StringComparison.OrdinalIgnoreCase)
                || said.Contains("could not read password", StringComparison.OrdinalIgnoreCase)
                || said.Contains("terminal prompts disabled", StringComparison.OrdinalIgnoreCase);
            var gitSaid = prompt ? "" : $" git said: {said}";
            var http = Uri.TryCreate(git.Url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
            if (http && git.TokenSecret is not null)
            {
                return $"Git storage: {_url} refused the token in secret '{git.TokenSecret}' while {verb} {Where(described)}. " +
                    $"Check that the secret holds a valid, unexpired token that may {(fetching ? "read" : "write to")} the repository.{gitSaid}";
            }
            if (http)
            {
                return $"Git storage: {_url} asks for credentials while {verb} {Where(described)} and none were given; " +
                    $"the repository needs a token: name a secret that holds one.{gitSaid}";
            }
            return $"Git storage: {_url} refused access while {verb} {Where(described)}; check that this machine's credentials (its SSH key, for an SSH URL) " +
                $"may {(fetching ? "read" : "write to")} the repository. git said: {said}";
        }

        private FlowstoreException Failed(GitResult result, string described, bool fetching)
        {
            var said = Tail(result.Error);
            var verb = fetching ? "fetching" : "pushing to";
            var failure = Classify(result.Error);
            var exception = failure switch
            {
                Failure.AccessDenied => new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied, AccessDeniedMessage(said, verb, described, fetching))
                {
                    Hint = git.TokenSecret is null ? FlowHint.StorageSetting("Git", nameof(GitStorage.TokenSecret)) : FlowHint.SetSecret(git.TokenSecret),
                },
                Failure.RepositoryNotFound => new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"Git storage: repository {_url} was not found while {verb} {Where(described)}; check the storage's URL (or whether the token can see it). git said: {said}")
                {
                    Hint = FlowHint.StorageSetting("Git", nameof(GitStorage.Url)),
                },
                Failure.RefNotFound => new FlowstoreException(ErrorIds.StorageNotFound, FlowErrorKind.ObjectNotFound,
                    $"Git storage: {_url} has no {described} (looking for {GitStorage.NormalizePath(git.Path)}); check the storage's branch or tag, or push it first.")
                {
                    Hint = FlowHint.StorageSetting("Git", git.Tag is not null ? nameof(GitStorage.Tag) : nameof(GitStorage.Branch)),
                },
                Failure.Rejected => new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"Git storage: {_url} rejected the push to {Where(described)} (the branch kept moving, or it is protected). git said: {said}"),
                _ => new FlowstoreException(fetching ? ErrorIds.StorageFetchFailed : ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidOperation,
                    $"Git storage: {verb} {Where(described)} failed. git said: {said}"),
            };
            exception = new FlowstoreException(exception.ErrorId, exception.Kind, exception.Message) { Target = _url, Hint = exception.Hint };
            if (failure == Failure.RefNotFound)
            {
                exception.Data[RefNotFoundKey] = true;
            }
            return exception;
        }
    }
}
