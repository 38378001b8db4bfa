using System.Net.Http.Headers;
using System.Text;

namespace Flowstore.Storage.GitHosts;

/// <summary>
/// A script storage in a Git host reached over its REST API. Every fetch resolves the storage's ref (the default
/// branch when none) to a commit and reads the file at that commit, which is the run's storage version, so a run
/// can be repeated on exactly that script; a pinned fetch reads the recorded commit. Publishing commits the file to
/// a branch (the storage's ref or the default branch; a named new branch starts there), and an unchanged file
/// makes no commit. The host's REST calls are an <see cref="IGitHostApi"/>.
/// </summary>
/// <typeparam name="TSettings">The storage's settings type.</typeparam>
public abstract class GitHostStorageProvider<TSettings> : IStorageProvider
    where TSettings : GitHostStorageSettings
{
    /// <param name="type">The storage type served (<see cref="StorageSettings.Type"/>).</param>
    /// <param name="service">What messages call the host: "GitLab", "Bitbucket Server".</param>
    /// <param name="options">How the host's client retries and waits.</param>
    protected GitHostStorageProvider(string type, string service, GitHostHttpOptions options)
    {
        Type = type;
        Service = service;
        Client = new GitHostClient(options);
    }

    /// <summary>The HTTP client (retries, rate limits, error mapping), built once per provider.</summary>
    protected GitHostClient Client { get; }

    public string Type { get; }

    /// <summary>What messages call the host: "GitLab", "Bitbucket Server".</summary>
    protected string Service { get; }

    public Type SettingsType => typeof(TSettings);

    /// <summary>The host when the settings name none (gitlab.com); null where the host is a mandatory setting.</summary>
    protected virtual string? DefaultHost => null;

    /// <summary>The header that carries the token as it is (GitLab's PRIVATE-TOKEN); null: Authorization: Bearer.</summary>
    protected virtual string? TokenHeader => null;

    /// <summary>Headers a request with a body needs besides the token (Bitbucket's XSRF opt-out).</summary>
    protected virtual IReadOnlyDictionary<string, string> ContentHeaders { get; } = new Dictionary<string, string>();

    /// <summary>What a not-found message asks the user to check.</summary>
    protected abstract GitHostAdvice Advice { get; }

    /// <summary>The host's own completion of checked settings (names trimmed); no I/O.</summary>
    protected virtual TSettings CompleteNames(TSettings settings) => settings;

    /// <summary>What an operation on these settings is about; <paramref name="reference"/> is the ref for messages.</summary>
    protected abstract GitHostTarget Target(TSettings settings, string reference);

    /// <summary>The secret the storage uses when its settings name none (e.g. GITLAB_ACCESS_TOKEN), if it resolves.</summary>
    protected abstract string DefaultTokenSecret { get; }

    /// <summary>The host's REST calls for one operation on these settings.</summary>
    protected abstract IGitHostApi CreateApi(TSettings settings, GitHostSession session);

    /// <summary>Checks the settings and fills in the defaults (path, host URL, blank ref and secret); no I/O.</summary>
    private TSettings Complete(TSettings settings)
    {
        settings.Validate();
        GitHostStorageSettings named = CompleteNames(settings);
        return (TSettings)(named with
        {
            Path = GitHostUrls.NormalizePath(named.Path),
            Host = GitHostUrls.NormalizeHost(string.IsNullOrWhiteSpace(named.Host) ? DefaultHost! : named.Host, Service, Type),
            Ref = GitHostUrls.OrNull(named.Ref),
            AccessTokenSecret = GitHostUrls.OrNull(named.AccessTokenSecret),
        });
    }

    /// <summary>The token as the host wants it, and the headers a request with a body needs.</summary>
    private void AddHeaders(HttpRequestMessage request, string? token, bool hasContent)
    {
        if (token is not null)
        {
            if (TokenHeader is { } header)
            {
                request.Headers.TryAddWithoutValidation(header, token);
            }
            else
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
        }
        if (hasContent)
        {
            foreach (var (name, value) in ContentHeaders)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }
    }

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => Complete((TSettings)settings);

    public async Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var storage = Complete((TSettings)settings);
        var activity = $"Checking {Describe(storage)}";
        context.Progress?.Report(new StorageProgress(activity, "Reading the committed file", 0));
        var (fetched, api) = await FetchCoreAsync(storage, null, context.Secrets, cancellationToken, context.Log).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': {api.Session.Target.Path} exists in {api.Label} at {fetched.StorageVersion} ({fetched.Origin}).");
        context.Progress?.Report(new StorageProgress(activity, "Done", 100));
        return new PreparedStorage(storage, new StoredScript(fetched.ScriptText!, fetched.Origin));
    }

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        => (await FetchCoreAsync(Complete((TSettings)settings), pinnedVersion, secrets, cancellationToken).ConfigureAwait(false)).Fetched;

    public async Task<PublishedFlowSource> PublishAsync(StorageSettings settings, StoragePublishContext context, CancellationToken cancellationToken)
    {
        var storage = Complete((TSettings)settings);
        var configured = storage.Ref;
        var activity = $"Publishing {context.ScriptPath} to {Describe(storage)}";
        context.Progress?.Report(new StorageProgress(activity, "Reading the repository", 0));
        var api = await OpenAsync(storage, context.Secrets, context.Branch ?? configured, cancellationToken, context.Log).ConfigureAwait(false);
        var session = api.Session;
        var path = session.Target.Path;

        GitHostBranch? defaultBranch = null;
        if (context.Branch is null || configured is null)
        {
            defaultBranch = await api.DefaultBranchAsync(required: false, cancellationToken).ConfigureAwait(false);
        }
        var branch = context.Branch ?? configured ?? defaultBranch?.Name
            ?? throw session.NotFound($"the {session.Target.Noun} has no default branch (it is empty); publishing to a named branch creates one", GitHostPart.Repository,
                FlowHint.PublishToBranch());
        session.AtRef(branch);
        // The configured default branch of an empty repository: it has no commit to start from; the first commit makes it.
        var unborn = defaultBranch is { Exists: false } ? defaultBranch.Name : null;

        // The branch's head, or (a new branch) where it starts: the storage's ref, else the default branch.
        var head = await api.BranchHeadAsync(branch, cancellationToken).ConfigureAwait(false);
        string? startBranch = null;
        string? startCommit = null;
        if (head is null && branch != unborn)
        {
            if (context.Branch is null)
            {
                throw new FlowstoreException(ErrorIds.StoragePublishFailed, FlowErrorKind.InvalidArgument,
                    $"Cannot publish to ref '{branch}' of {api.Label} on {session.Target.Host}: it is not a branch. " +
                    "Publish to a named branch instead (a new one starts from this ref).") { Target = session.Target.Repo, Hint = FlowHint.PublishToBranch() };
            }
            startBranch = configured ?? defaultBranch?.Name;
            if (startBranch == unborn)
            {
                startBranch = null; // an empty repository: the new branch starts with the first commit
            }
            if (startBranch is not null)
            {
                session.AtRef(startBranch);
                startCommit = await api.ResolveCommitAsync(startBranch, pinned: false, cancellationToken).ConfigureAwait(false);
                session.AtRef(branch);
            }
        }
        var baseCommit = head ?? startCommit;

        context.Progress?.Report(new StorageProgress(activity, $"Comparing with {path} on branch {branch}", 30));
        var existing = baseCommit is null ? null : await api.ReadExistingFileAsync(baseCommit, cancellationToken).ConfigureAwait(false);
        var content = Encoding.UTF8.GetBytes(context.ScriptSource);
        var published = context.Branch is null ? storage : (TSettings)((GitHostStorageSettings)storage with { Ref = context.Branch });
        if (existing is not null && existing.Content.AsSpan().SequenceEqual(content))
        {
            if (head is not null)
            {
                context.Log($"{path} on branch '{branch}' of {api.Label} already has this content (commit {head}); nothing to commit.");
                context.Progress?.Report(new StorageProgress(activity, "Unchanged", 100));
                return new PublishedFlowSource(published, head, api.WebUrl(head));
            }
            // A new branch whose start already has this content: the branch is made at that commit, no commit is needed.
            if (baseCommit is not null && await api.CreateBranchAsync(branch, baseCommit, cancellationToken).ConfigureAwait(false))
            {
                context.Log($"{path} on '{startBranch}' of {api.Label} already has this content (commit {baseCommit}); created branch '{branch}' there, nothing to commit.");
                context.Progress?.Report(new StorageProgress(activity, "Unchanged; branch created", 100));
                return new PublishedFlowSource(published, baseCommit, api.WebUrl(baseCommit));
            }
        }

        context.Progress?.Report(new StorageProgress(activity, $"Committing to branch {branch}", 60));
        var message = context.Message ?? $"Publish {path} (flow '{context.Flow}')";
        var sha = await api.CommitFileAsync(new GitHostCommit(branch, content, message, existing, head, baseCommit, startBranch), cancellationToken).ConfigureAwait(false);
        context.Log($"Committed {path} to branch '{branch}' of {api.Label}: {sha}.");
        context.Progress?.Report(new StorageProgress(activity, $"Committed {sha[..Math.Min(12, sha.Length)]}", 100));
        return new PublishedFlowSource(published, sha, api.WebUrl(sha));
    }

    private async Task<(FetchedFlowSource Fetched, IGitHostApi Api)> FetchCoreAsync(TSettings storage, string? pinnedVersion, ISecretResolver secrets,
        CancellationToken cancellationToken, Action<string>? log = null)
    {
        var reference = storage.Ref;
        var api = await OpenAsync(storage, secrets, pinnedVersion ?? reference, cancellationToken, log).ConfigureAwait(false);
        if (await api.ReadAtRefAsync(pinnedVersion ?? reference, pinnedVersion is not null, cancellationToken).ConfigureAwait(false) is { } read)
        {
            return (new FetchedFlowSource(Encoding.UTF8.GetString(read.Content), null, FlowStructure.Sha256Hex(read.Content), read.Commit, api.WebUrl(read.Commit)), api);
        }
        string commit;
        if (pinnedVersion is not null)
        {
            commit = await api.ResolveCommitAsync(pinnedVersion, pinned: true, cancellationToken).ConfigureAwait(false);
        }
        else if (reference is not null)
        {
            commit = await api.ResolveCommitAsync(reference, pinned: false, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var branch = (await api.DefaultBranchAsync(required: true, cancellationToken).ConfigureAwait(false))!;
            api.Session.AtRef(branch.Name + " (the default branch)");
            if (!branch.Exists)
            {
                throw api.Session.Empty(branch.Name);
            }
            commit = branch.Commit ?? await api.ResolveCommitAsync(branch.Name, pinned: false, cancellationToken).ConfigureAwait(false);
        }
        var bytes = await api.ReadFileAsync(commit, cancellationToken).ConfigureAwait(false);
        return (new FetchedFlowSource(Encoding.UTF8.GetString(bytes), null, FlowStructure.Sha256Hex(bytes), commit, api.WebUrl(commit)), api);
    }

    private async Task<IGitHostApi> OpenAsync(TSettings storage, ISecretResolver secrets, string? reference, CancellationToken cancellationToken,
        Action<string>? log = null)
    {
        var target = Target(storage, reference ?? "the default branch") with { StorageType = Type };
        var token = await GitHostTokens.ResolveAsync(secrets, target.TokenSecret, DefaultTokenSecret, $"{Type} storage ({target.Describe()})", log,
            cancellationToken).ConfigureAwait(false);
        // Messages name the secret the token came from, also when it is the default name.
        return CreateApi(storage, new GitHostSession(Client, target with { TokenSecret = token.SecretName }, token.Value, AddHeaders, Advice));
    }

    private string Describe(TSettings storage)
    {
        var target = Target(storage, "");
        return $"{Type} {target.Host} {target.Repo}:{target.Path}";
    }
}
