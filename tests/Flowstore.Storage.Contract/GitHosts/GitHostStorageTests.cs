using System.Globalization;
using Xunit;

namespace Flowstore.Storage.Contract.GitHosts;

/// <summary>
/// What GitLab and Bitbucket Server storage do alike over the shared Git host HTTP base (refs, registration,
/// publishing, tokens, host errors, retries and rate limits), against the API stand-in over real bare repositories.
/// A host's test class derives from this with its settings, API paths and wording; it adds what only that host does.
/// </summary>
public abstract class GitHostStorageTests : IDisposable
{
    protected const string FlowPath = "flows/my_flow.cs";

    /// <summary>The secret the settings name for the stand-in's token.</summary>
    protected const string TokenSecret = "HOST_ACCESS_TOKEN";

    /// <summary>A token value that must never appear in any message (the secret WRONG_TOKEN).</summary>
    protected static readonly string Canary = "canary-" + Guid.NewGuid().ToString("N");

    private readonly List<TestRepo> _repos = [];

    protected GitHostStorageTests(IStorageProvider provider)
    {
        Provider = provider;
        Secrets = new TestSecrets(new Dictionary<string, string>
        {
            [TokenSecret] = StandIn.Token,
            ["WRONG_TOKEN"] = Canary,
        });
    }

    /// <summary>Retries fast (4 attempts) and waits out rate limits of up to 5 s: host tests give their providers this.</summary>
    protected static StorageRetryOptions FastRetry { get; } = new() { BaseDelay = TimeSpan.FromMilliseconds(20), MaxRetries = 3 };

    protected IStorageProvider Provider { get; }

    protected ISecretResolver Secrets { get; }

    /// <summary>No secrets at all: without a named secret and without the host's default token secret, access is anonymous.</summary>
    protected static ISecretResolver NoSecrets { get; } = new TestSecrets([]);

    /// <summary>The storage type's name, as hints name it (GitLab, Bitbucket).</summary>
    protected abstract string StorageType { get; }

    /// <summary>The secret a storage that names none uses when it resolves (GITLAB_ACCESS_TOKEN, BITBUCKET_ACCESS_TOKEN).</summary>
    protected abstract string DefaultTokenSecret { get; }

    /// <summary>The token secret the settings name, or null.</summary>
    protected abstract string? TokenSecretOf(StorageSettings storage);

    /// <summary>The header the token goes in.</summary>
    protected abstract string TokenHeader { get; }

    /// <summary>The full name of a new repository under the stand-in's root.</summary>
    protected abstract string NewRepositoryName();

    /// <summary>Settings for <paramref name="path"/> in <paramref name="repo"/> on <paramref name="host"/>.</summary>
    protected abstract StorageSettings NewStorage(TestRepo repo, string path, string host, string? @ref, string? secret);

    /// <summary>Settings of a repository on <paramref name="host"/> (which does not answer), and how messages name it.</summary>
    protected abstract (StorageSettings Storage, string Name) OnHost(string host);

    /// <summary>The path, host and ref that settings hold.</summary>
    protected abstract (string Path, string? Host, string? Ref) Where(StorageSettings storage);

    /// <summary>The stand-in's API path of <paramref name="repo"/>.</summary>
    protected abstract string ApiPrefix(TestRepo repo);

    /// <summary>What the origin of a fetched script names besides the commit (the repository, or its browse URL).</summary>
    protected abstract string OriginPart(TestRepo repo, string sha);

    /// <summary>The headers of a 429 whose limit resets at <paramref name="reset"/>, as the host sends them.</summary>
    protected abstract Dictionary<string, string> LongRateLimitHeaders(DateTimeOffset reset);

    /// <summary>Asserts the error of a fetch without a token from a private repository (hosts differ: not found, or 401).</summary>
    protected abstract void AssertPrivateWithoutToken(FlowstoreException e);

    protected TestRepo NewRepo(string defaultBranch = "trunk", bool isPublic = false)
    {
        var repo = TestRepo.Create(NewRepositoryName(), defaultBranch, isPublic);
        _repos.Add(repo);
        return repo;
    }

    /// <summary>Settings for the flow file (or <paramref name="path"/>) in <paramref name="repo"/> on the stand-in.</summary>
    protected StorageSettings Storage(TestRepo repo, string? @ref = null, string? secret = TokenSecret, string path = FlowPath)
        => NewStorage(repo, path, StandIn.Url, @ref, secret);

    /// <summary>Runs <paramref name="action"/>, which must fail; neither the token nor the canary may be in its text.</summary>
    protected static async Task<FlowstoreException> FailsAsync(Func<Task> action)
    {
        var e = await Assert.ThrowsAnyAsync<FlowstoreException>(action);
        var text = Kit.AllText(e);
        Assert.DoesNotContain(StandIn.Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary, text, StringComparison.Ordinal);
        return e;
    }

    public void Dispose()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Fetches_the_default_branch_not_master_and_records_its_commit()
    {
        var repo = NewRepo("trunk");
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("one"));

        var fetched = await Provider.FetchAsync(Storage(repo), null, Secrets, default);

        Assert.Equal(Kit.Script("one"), fetched.ScriptText);
        Assert.Equal(sha, fetched.StorageVersion);
        Assert.Equal(FlowStructure.Sha256Hex(Kit.Script("one")), fetched.Sha256);
        Assert.Contains(OriginPart(repo, sha), fetched.Origin);
        Assert.Contains(sha, fetched.Origin);
        Assert.Null(fetched.AssemblyBytes);
    }

    [Fact]
    public async Task Resolves_a_branch_with_a_slash_a_tag_and_a_commit_sha()
    {
        var repo = NewRepo();
        var first = repo.CommitAndPush(FlowPath, Kit.Script("tagged"));
        repo.TagAndPush("v1.0");
        var second = repo.CommitAndPush(FlowPath, Kit.Script("default"));
        repo.Checkout("feature/next", create: true);
        var feature = repo.CommitAndPush(FlowPath, Kit.Script("feature"));

        var byTag = await Provider.FetchAsync(Storage(repo, "v1.0"), null, Secrets, default);
        var byBranch = await Provider.FetchAsync(Storage(repo, "feature/next"), null, Secrets, default);
        var bySha = await Provider.FetchAsync(Storage(repo, first), null, Secrets, default);
        var byShortSha = await Provider.FetchAsync(Storage(repo, second[..10]), null, Secrets, default);
        var byDefault = await Provider.FetchAsync(Storage(repo), null, Secrets, default);

        Assert.Equal((Kit.Script("tagged"), first), (byTag.ScriptText, byTag.StorageVersion));
        Assert.Equal((Kit.Script("feature"), feature), (byBranch.ScriptText, byBranch.StorageVersion));
        Assert.Equal((Kit.Script("tagged"), first), (bySha.ScriptText, bySha.StorageVersion));
        Assert.Equal((Kit.Script("default"), second), (byShortSha.ScriptText, byShortSha.StorageVersion));
        Assert.Equal((Kit.Script("default"), second), (byDefault.ScriptText, byDefault.StorageVersion));
    }

    [Fact]
    public async Task A_pinned_commit_that_is_gone_is_PinnedVersionUnavailable()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var e = await FailsAsync(() => Provider.FetchAsync(Storage(repo), new string('a', 40), Secrets, default));
        Assert.Equal(ErrorIds.PinnedVersionUnavailable, e.ErrorId);
        Assert.Equal(FlowHint.RunUnpinned(), e.Hint);
        Assert.Contains(new string('a', 40), e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task Registration_checks_the_committed_file_and_hands_it_to_the_stored_script_check()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("committed"));
        var context = Kit.RegistrationContext(Secrets, Kit.Script("local"), []);

        var resolved = Provider.Resolve(NewStorage(repo, "./" + FlowPath, StandIn.Url + "/", null, TokenSecret), context);
        var prepared = await Provider.PrepareRegistrationAsync(resolved, context, default);

        Assert.Equal(Storage(repo).GetType(), prepared.Settings.GetType());
        Assert.Equal((FlowPath, StandIn.Url, (string?)null), Where(prepared.Settings));
        var check = prepared.Stored!;
        Assert.Equal(Kit.Script("committed"), check.Text);
        Assert.Contains(sha, check.Origin);
    }

    [Fact]
    public async Task Registration_of_a_file_missing_at_the_ref_is_StorageNotFound_naming_repo_path_and_ref()
    {
        var repo = NewRepo();
        repo.CommitAndPush("README.md", "readme");
        var context = Kit.RegistrationContext(Secrets, Kit.Script("local"), []);

        var e = await FailsAsync(() => Provider.PrepareRegistrationAsync(Storage(repo, "trunk"), context, default));

        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains(FlowPath, e.Message);
        Assert.Contains("'trunk'", e.Message);
    }

    [Fact]
    public async Task Publish_creates_a_commit_the_repository_really_has_then_updates_it_and_skips_unchanged_content()
    {
        var repo = NewRepo();
        var readme = repo.CommitAndPush("README.md", "readme");

        var created = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("v1"), message: "Add my flow"), default);
        Assert.Equal(created.StorageVersion, repo.BareCommit("refs/heads/trunk"));
        Assert.Equal(Kit.Script("v1"), repo.Show(created.StorageVersion, FlowPath));
        Assert.Equal([readme], repo.BareParents(created.StorageVersion));
        Assert.Contains(created.StorageVersion, created.Location);

        var unchanged = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("v1")), default);
        Assert.Equal(created.StorageVersion, unchanged.StorageVersion);
        Assert.Equal(created.StorageVersion, repo.BareCommit("refs/heads/trunk"));

        var updated = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("v2")), default);
        Assert.Equal(updated.StorageVersion, repo.BareCommit("refs/heads/trunk"));
        Assert.Equal([created.StorageVersion], repo.BareParents(updated.StorageVersion));
        Assert.Equal(Kit.Script("v2"), repo.Show(updated.StorageVersion, FlowPath));

        var fetched = await Provider.FetchAsync(updated.Storage, null, Secrets, default);
        Assert.Equal((Kit.Script("v2"), updated.StorageVersion), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task Publish_to_a_new_branch_starts_it_from_the_default_branch_and_points_the_storage_at_it()
    {
        var repo = NewRepo();
        var head = repo.CommitAndPush(FlowPath, Kit.Script("main line"));

        var published = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("on release"), branch: "release/1"), default);

        Assert.Equal(published.StorageVersion, repo.BareCommit("refs/heads/release/1"));
        Assert.Equal([head], repo.BareParents(published.StorageVersion));
        Assert.Equal(head, repo.BareCommit("refs/heads/trunk"));
        Assert.Equal(Storage(repo).GetType(), published.Storage.GetType());
        Assert.Equal("release/1", Where(published.Storage).Ref);
    }

    [Fact]
    public async Task An_empty_repository_names_its_configured_default_branch_a_fetch_is_StorageNotFound_and_the_first_publish_creates_the_branch()
    {
        var repo = NewRepo("trunk");

        var e = await FailsAsync(() => Provider.FetchAsync(Storage(repo), null, Secrets, default));
        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains("empty", e.Message);
        Assert.Contains("'trunk'", e.Message);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Equal(FlowHint.PublishScript(), e.Hint);

        var first = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("first")), default);

        Assert.Equal(first.StorageVersion, repo.BareCommit("refs/heads/trunk"));
        Assert.Empty(repo.BareParents(first.StorageVersion));
        Assert.Equal(Kit.Script("first"), repo.Show(first.StorageVersion, FlowPath));
        var fetched = await Provider.FetchAsync(Storage(repo), null, Secrets, default);
        Assert.Equal((Kit.Script("first"), first.StorageVersion), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task The_first_publish_to_an_empty_repository_on_a_named_branch_creates_that_branch()
    {
        var repo = NewRepo("trunk");

        var published = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("first"), branch: "release/1"), default);

        Assert.Equal(published.StorageVersion, repo.BareCommit("refs/heads/release/1"));
        Assert.Empty(repo.BareParents(published.StorageVersion));
        Assert.Equal(Kit.Script("first"), repo.Show(published.StorageVersion, FlowPath));
        Assert.Equal("release/1", Where(published.Storage).Ref);
    }

    [Fact]
    public async Task Publishing_unchanged_content_to_a_new_branch_creates_the_branch_at_its_start_without_a_commit()
    {
        var repo = NewRepo();
        var head = repo.CommitAndPush(FlowPath, Kit.Script("same"));

        var published = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("same"), branch: "release/2"), default);

        Assert.Equal(head, published.StorageVersion);
        Assert.Equal(head, repo.BareCommit("refs/heads/release/2"));
        Assert.Equal(head, repo.BareCommit("refs/heads/trunk"));
        Assert.Equal("release/2", Where(published.Storage).Ref);
        var fetched = await Provider.FetchAsync(published.Storage, null, Secrets, default);
        Assert.Equal((Kit.Script("same"), head), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task Publish_to_a_tag_is_refused()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        repo.TagAndPush("v1");
        var e = await FailsAsync(() => Provider.PublishAsync(Storage(repo, "v1"), Kit.PublishContext(Secrets, Kit.Script("y")), default));
        Assert.Equal(ErrorIds.StoragePublishFailed, e.ErrorId);
        Assert.Equal(FlowHint.PublishToBranch(), e.Hint);
    }

    [Fact]
    public async Task A_missing_token_secret_is_SecretNotFound_naming_the_secret_and_the_project()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var e = await FailsAsync(() => Provider.FetchAsync(Storage(repo, secret: "NO_SUCH_SECRET"), null, Secrets, default));
        Assert.Equal(ErrorIds.SecretNotFound, e.ErrorId);
        Assert.Equal(FlowHint.SetSecret("NO_SUCH_SECRET"), e.Hint);
        Assert.Contains("NO_SUCH_SECRET", e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task A_wrong_token_is_StorageAccessDenied_without_the_token()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var e = await FailsAsync(() => Provider.FetchAsync(Storage(repo, secret: "WRONG_TOKEN"), null, Secrets, default));
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("401", e.Message);
        Assert.Contains("WRONG_TOKEN", e.Message);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains(FlowPath, e.Message);
        Assert.Contains(StandIn.Url, e.Message);
    }

    [Fact]
    public async Task A_403_is_StorageAccessDenied_and_a_host_message_echoing_the_token_is_redacted()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        await StandIn.InjectAsync(ApiPrefix(repo), 403, body: $"{{\"message\":\"403 Forbidden for token {StandIn.Token}\"}}");
        var e = await FailsAsync(() => Provider.FetchAsync(Storage(repo), null, Secrets, default));
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("403 Forbidden for token ***", e.Message);
    }

    [Fact]
    public async Task A_private_repository_without_a_token_fails_with_a_hint_and_a_public_one_is_read()
    {
        var hidden = NewRepo();
        hidden.CommitAndPush(FlowPath, Kit.Script("private"));
        var open = NewRepo(isPublic: true);
        open.CommitAndPush(FlowPath, Kit.Script("public"));

        var e = await FailsAsync(() => Provider.FetchAsync(Storage(hidden, secret: null), null, NoSecrets, default));
        var fetched = await Provider.FetchAsync(Storage(open, secret: null), null, NoSecrets, default);

        AssertPrivateWithoutToken(e);
        Assert.Contains("access token secret", e.Message);
        Assert.Equal(FlowHint.StorageSetting(StorageType, "AccessTokenSecret"), e.Hint);
        Assert.Equal(Kit.Script("public"), fetched.ScriptText);
        Assert.Contains(await StandIn.RequestsAsync(), r => r.StartsWith("GET " + ApiPrefix(open), StringComparison.Ordinal) && r.EndsWith("[]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_named_secret_the_default_token_secret_reads_a_private_repository_and_anonymous_access_is_used_when_it_does_not_resolve()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("private"));
        var storage = Storage(repo, secret: null);
        var secrets = new TestSecrets(new Dictionary<string, string> { [DefaultTokenSecret] = StandIn.Token });

        var log = new List<string>();
        var context = Kit.RegistrationContext(secrets, Kit.Script("private"), log);
        var prepared = await Provider.PrepareRegistrationAsync(Provider.Resolve(storage, context), context, default);
        var fetched = await Provider.FetchAsync(prepared.Settings, null, secrets, default);

        Assert.Equal(Kit.Script("private"), prepared.Stored!.Text);
        Assert.Equal(Kit.Script("private"), fetched.ScriptText);
        Assert.Contains(log, l => l.Contains($"secret '{DefaultTokenSecret}' (the default name)", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.Contains(StandIn.Token, StringComparison.Ordinal));
        // Nothing about the default is saved with the flow: it is looked up at each use.
        Assert.Null(TokenSecretOf(prepared.Settings));

        var anonymousLog = new List<string>();
        var anonymous = Kit.RegistrationContext(NoSecrets, Kit.Script("private"), anonymousLog);
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Provider.PrepareRegistrationAsync(Provider.Resolve(storage, anonymous), anonymous, default));
        AssertPrivateWithoutToken(e);
        Assert.Contains(anonymousLog, l => l.Contains($"secret '{DefaultTokenSecret}' was not found; using anonymous access", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_path_or_ref_is_StorageNotFound_naming_it()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));

        var path = await FailsAsync(() => Provider.FetchAsync(Storage(repo, path: "flows/missing.cs"), null, Secrets, default));
        var reference = await FailsAsync(() => Provider.FetchAsync(Storage(repo, "no-such-branch"), null, Secrets, default));

        Assert.All(new[] { path, reference }, e => Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId));
        Assert.Contains("flows/missing.cs", path.Message);
        Assert.Contains("trunk", path.Message);
        Assert.Contains("'no-such-branch'", reference.Message);
        Assert.Contains(repo.FullName, reference.Message);
    }

    [Fact]
    public async Task A_transient_502_is_retried_and_the_fetch_succeeds()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("x"));
        await StandIn.InjectAsync(ApiPrefix(repo), 502, count: 2);
        var fetched = await Provider.FetchAsync(Storage(repo), null, Secrets, default);
        Assert.Equal(sha, fetched.StorageVersion);
    }

    [Fact]
    public async Task Persistent_5xx_and_dropped_connections_are_StorageUnavailable_after_retries()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        await StandIn.InjectAsync(ApiPrefix(repo), 503, count: 4);
        var unavailable = await FailsAsync(() => Provider.FetchAsync(Storage(repo), null, Secrets, default));
        await StandIn.InjectAsync(ApiPrefix(repo), 0, count: 4, drop: true);
        var dropped = await FailsAsync(() => Provider.FetchAsync(Storage(repo), null, Secrets, default));

        Assert.Equal(ErrorIds.StorageUnavailable, unavailable.ErrorId);
        Assert.Contains("503", unavailable.Message);
        Assert.Contains("4 attempt", unavailable.Message);
        Assert.Contains(repo.FullName, unavailable.Message);
        Assert.Equal(ErrorIds.StorageUnavailable, dropped.ErrorId);
        Assert.Contains(repo.FullName, dropped.Message);
    }

    [Fact]
    public async Task An_unreachable_host_is_StorageUnavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var (storage, name) = OnHost($"http://127.0.0.1:{port}");
        var e = await FailsAsync(() => Provider.FetchAsync(storage, null, Secrets, default));
        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public async Task A_short_rate_limit_is_waited_out()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("x"));
        await StandIn.InjectAsync(ApiPrefix(repo), 429, headers: new() { ["Retry-After"] = "1" }, body: "Retry later");
        var fetched = await Provider.FetchAsync(Storage(repo), null, Secrets, default);
        Assert.Equal(sha, fetched.StorageVersion);
    }

    [Fact]
    public async Task A_long_rate_limit_is_StorageRateLimited_with_the_reset_time()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var reset = DateTimeOffset.UtcNow.AddHours(1);
        await StandIn.InjectAsync(ApiPrefix(repo), 429, headers: LongRateLimitHeaders(reset), body: "Retry later");

        var e = await FailsAsync(() => Provider.FetchAsync(Storage(repo), null, Secrets, default));

        Assert.Equal(ErrorIds.StorageRateLimited, e.ErrorId);
        Assert.Contains(reset.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task The_token_goes_in_its_header_and_never_in_a_url()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        await Provider.FetchAsync(Storage(repo), null, Secrets, default);
        var requests = (await StandIn.RequestsAsync()).Where(r => r.Contains(ApiPrefix(repo), StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.EndsWith($"[{TokenHeader}]", r));
        Assert.All(requests, r => Assert.DoesNotContain(StandIn.Token, r));
    }
}
