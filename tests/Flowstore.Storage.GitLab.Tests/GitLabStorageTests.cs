using System.Net.Http.Json;
using Flowstore.Storage.GitHosts;
using Flowstore.Storage.GitHosts.Tests;

namespace Flowstore.Storage.GitLab.Tests;

/// <summary>GitLab storage against the GitLab API stand-in (tests/Flowstore.StandIns) over real bare repositories.</summary>
public sealed class GitLabStorageTests : IDisposable
{
    private const string Path = "flows/my_flow.cs";
    private static readonly GitHostHttpOptions Fast = new()
    {
        Retry = new() { BaseDelay = TimeSpan.FromMilliseconds(20), MaxRetries = 3 },
        MaxRateLimitWait = TimeSpan.FromSeconds(5),
    };

    private readonly StandIn _standIn = StandIn.Instance;
    private readonly GitLabStorageProvider _provider = new(Fast);
    private readonly TestSecrets _secrets;
    private readonly List<TestRepo> _repos = [];

    /// <summary>No secrets at all: without a named secret and without GITLAB_ACCESS_TOKEN, access is anonymous.</summary>
    private static readonly TestSecrets NoSecrets = new(new Dictionary<string, string>());

    public GitLabStorageTests()
    {
        _secrets = new TestSecrets(new Dictionary<string, string>
        {
            ["GITLAB_ACCESS_TOKEN"] = _standIn.Token,
            ["WRONG_TOKEN"] = Canary,
        });
    }

    /// <summary>A token value that must never appear in any message.</summary>
    private static readonly string Canary = "canary-" + Guid.NewGuid().ToString("N");

    public void Dispose()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
    }

    private TestRepo NewRepo(string defaultBranch = "trunk", bool isPublic = false)
    {
        var repo = TestRepo.Create($"group/sub/{Kit.Unique("project")}", defaultBranch, isPublic);
        _repos.Add(repo);
        return repo;
    }

    private GitLabStorage Storage(TestRepo repo, string? @ref = null, string? secret = "GITLAB_ACCESS_TOKEN", string path = Path)
        => new(repo.FullName, path, _standIn.Url, @ref, secret);

    private string ProjectPrefix(TestRepo repo) => "/api/v4/projects/" + Uri.EscapeDataString(repo.FullName);

    private async Task<FlowstoreException> FailsAsync(Func<Task> action)
    {
        var e = await Assert.ThrowsAnyAsync<FlowstoreException>(action);
        var text = Kit.AllText(e);
        Assert.DoesNotContain(_standIn.Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary, text, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public async Task Fetches_the_default_branch_not_master_and_records_its_commit()
    {
        var repo = NewRepo("trunk");
        var sha = repo.CommitAndPush(Path, Kit.Script("one"));

        var fetched = await _provider.FetchAsync(Storage(repo), null, _secrets, default);

        Assert.Equal(Kit.Script("one"), fetched.ScriptText);
        Assert.Equal(sha, fetched.StorageVersion);
        Assert.Equal(FlowStructure.Sha256Hex(Kit.Script("one")), fetched.Sha256);
        Assert.Contains(repo.FullName, fetched.Origin);
        Assert.Contains(sha, fetched.Origin);
        Assert.Null(fetched.AssemblyBytes);
    }

    [Fact]
    public async Task Resolves_a_branch_with_a_slash_a_tag_and_a_commit_sha()
    {
        var repo = NewRepo();
        var first = repo.CommitAndPush(Path, Kit.Script("tagged"));
        repo.TagAndPush("v1.0");
        var second = repo.CommitAndPush(Path, Kit.Script("default"));
        repo.SwitchToNewBranch("feature/next");
        var feature = repo.CommitAndPush(Path, Kit.Script("feature"));

        var byTag = await _provider.FetchAsync(Storage(repo, "v1.0"), null, _secrets, default);
        var byBranch = await _provider.FetchAsync(Storage(repo, "feature/next"), null, _secrets, default);
        var bySha = await _provider.FetchAsync(Storage(repo, first), null, _secrets, default);
        var byShortSha = await _provider.FetchAsync(Storage(repo, second[..10]), null, _secrets, default);
        var byDefault = await _provider.FetchAsync(Storage(repo), null, _secrets, default);

        Assert.Equal((Kit.Script("tagged"), first), (byTag.ScriptText, byTag.StorageVersion));
        Assert.Equal((Kit.Script("feature"), feature), (byBranch.ScriptText, byBranch.StorageVersion));
        Assert.Equal((Kit.Script("tagged"), first), (bySha.ScriptText, bySha.StorageVersion));
        Assert.Equal((Kit.Script("default"), second), (byShortSha.ScriptText, byShortSha.StorageVersion));
        Assert.Equal((Kit.Script("default"), second), (byDefault.ScriptText, byDefault.StorageVersion));
    }

    [Fact]
    public async Task A_numeric_project_id_works_like_the_path()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(Path, Kit.Script("by id"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_standIn.Url}{ProjectPrefix(repo)}");
        request.Headers.Add("PRIVATE-TOKEN", _standIn.Token);
        using var response = await _standIn.Http.SendAsync(request);
        var project = Kit.Json(await response.Content.ReadAsStringAsync());
        var id = project.GetProperty("id").GetInt32();

        var fetched = await _provider.FetchAsync(new GitLabStorage(id.ToString(System.Globalization.CultureInfo.InvariantCulture), Path, _standIn.Url,
            accessTokenSecret: "GITLAB_ACCESS_TOKEN"), null, _secrets, default);

        Assert.Equal(repo.FullName, project.GetProperty("path_with_namespace").GetString());
        Assert.Equal("trunk", project.GetProperty("default_branch").GetString());
        Assert.Equal((Kit.Script("by id"), sha), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task A_pinned_commit_that_is_gone_is_PinnedVersionUnavailable()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        var e = await FailsAsync(() => _provider.FetchAsync(Storage(repo), new string('a', 40), _secrets, default));
        Assert.Equal(ErrorIds.PinnedVersionUnavailable, e.ErrorId);
        Assert.Equal(FlowHint.RunUnpinned(), e.Hint);
        Assert.Contains(new string('a', 40), e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task Registration_checks_the_committed_file_and_hands_it_to_the_stored_script_check()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(Path, Kit.Script("committed"));
        var log = new List<string>();
        var context = Kit.RegistrationContext(_secrets, Kit.Script("local"), log);

        var resolved = _provider.Resolve(new GitLabStorage(repo.FullName, "./" + Path, _standIn.Url + "/", accessTokenSecret: "GITLAB_ACCESS_TOKEN"), context);
        var prepared = await _provider.PrepareRegistrationAsync(resolved, context, default);
        var stored = prepared.Settings;

        var gitlab = Assert.IsType<GitLabStorage>(stored);
        Assert.Equal(Path, gitlab.Path);
        Assert.Equal(_standIn.Url, gitlab.Host);
        Assert.Null(gitlab.Ref);
        var check = prepared.Stored!;
        Assert.Equal(Kit.Script("committed"), check.Text);
        Assert.Contains(sha, check.Origin);
    }

    [Fact]
    public async Task Registration_of_a_file_missing_at_the_ref_is_StorageNotFound_naming_repo_path_and_ref()
    {
        var repo = NewRepo();
        repo.CommitAndPush("README.md", "readme");
        var context = Kit.RegistrationContext(_secrets, Kit.Script("local"), []);

        var e = await FailsAsync(() => _provider.PrepareRegistrationAsync(Storage(repo, "trunk"), context, default));

        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains(Path, e.Message);
        Assert.Contains("'trunk'", e.Message);
    }

    [Fact]
    public void The_locator_names_host_project_ref_and_path_and_not_the_content()
    {
        var a = new GitLabStorage("g/p", Path, null, "main", "S");
        var b = new GitLabStorage("g/p", Path, "https://gitlab.com/", "main", "OTHER");
        Assert.Equal(a.Locator, b.Locator);
        Assert.Contains("gitlab.com/g/p", a.Locator);
        Assert.NotEqual(a.Locator, new GitLabStorage("g/p", Path, null, "dev").Locator);
        Assert.NotEqual(a.Locator, new GitLabStorage("g/p", "flows/other.cs", null, "main").Locator);
        Assert.Equal(["S"], a.SecretNames);
        StorageTypes.Register<GitLabStorage>("GitLab"); // as the engine does
        var copy = Assert.IsType<GitLabStorage>(StorageTypes.Deserialize(a.ToJson()));
        Assert.Equal((a.Repo, a.Path, a.Ref, a.AccessTokenSecret), (copy.Repo, copy.Path, copy.Ref, copy.AccessTokenSecret));
    }

    [Fact]
    public async Task Publish_creates_a_commit_the_repository_really_has_then_updates_it_and_skips_unchanged_content()
    {
        var repo = NewRepo();
        var readme = repo.CommitAndPush("README.md", "readme");

        var created = await _provider.PublishAsync(Storage(repo), Kit.PublishContext(_secrets, Kit.Script("v1"), message: "Add my flow"), default);
        Assert.Equal(created.StorageVersion, repo.BareCommit("refs/heads/trunk"));
        Assert.Equal(Kit.Script("v1"), repo.BareShow(created.StorageVersion, Path));
        Assert.Equal([readme], repo.BareParents(created.StorageVersion));
        Assert.Contains(created.StorageVersion, created.Location);

        var unchanged = await _provider.PublishAsync(Storage(repo), Kit.PublishContext(_secrets, Kit.Script("v1")), default);
        Assert.Equal(created.StorageVersion, unchanged.StorageVersion);
        Assert.Equal(created.StorageVersion, repo.BareCommit("refs/heads/trunk"));

        var updated = await _provider.PublishAsync(Storage(repo), Kit.PublishContext(_secrets, Kit.Script("v2")), default);
        Assert.Equal(updated.StorageVersion, repo.BareCommit("refs/heads/trunk"));
        Assert.Equal([created.StorageVersion], repo.BareParents(updated.StorageVersion));
        Assert.Equal(Kit.Script("v2"), repo.BareShow(updated.StorageVersion, Path));

        var fetched = await _provider.FetchAsync(updated.Storage, null, _secrets, default);
        Assert.Equal((Kit.Script("v2"), updated.StorageVersion), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task Publish_to_a_new_branch_starts_it_from_the_default_branch_and_points_the_storage_at_it()
    {
        var repo = NewRepo();
        var head = repo.CommitAndPush(Path, Kit.Script("main line"));

        var published = await _provider.PublishAsync(Storage(repo), Kit.PublishContext(_secrets, Kit.Script("on release"), branch: "release/1"), default);

        Assert.Equal(published.StorageVersion, repo.BareCommit("refs/heads/release/1"));
        Assert.Equal([head], repo.BareParents(published.StorageVersion));
        Assert.Equal(head, repo.BareCommit("refs/heads/trunk"));
        Assert.Equal("release/1", Assert.IsType<GitLabStorage>(published.Storage).Ref);
    }

    [Fact]
    public async Task Publish_to_a_tag_is_refused()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        repo.TagAndPush("v1");
        var e = await FailsAsync(() => _provider.PublishAsync(Storage(repo, "v1"), Kit.PublishContext(_secrets, Kit.Script("y")), default));
        Assert.Equal(ErrorIds.StoragePublishFailed, e.ErrorId);
        Assert.Equal(FlowHint.PublishToBranch(), e.Hint);
    }

    [Fact]
    public async Task A_missing_token_secret_is_SecretNotFound_naming_the_secret_and_the_project()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        var e = await FailsAsync(() => _provider.FetchAsync(Storage(repo, secret: "NO_SUCH_SECRET"), null, _secrets, default));
        Assert.Equal(ErrorIds.SecretNotFound, e.ErrorId);
        Assert.Equal(FlowHint.SetSecret("NO_SUCH_SECRET"), e.Hint);
        Assert.Contains("NO_SUCH_SECRET", e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task A_wrong_token_is_StorageAccessDenied_without_the_token()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        var e = await FailsAsync(() => _provider.FetchAsync(Storage(repo, secret: "WRONG_TOKEN"), null, _secrets, default));
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("401", e.Message);
        Assert.Contains("WRONG_TOKEN", e.Message);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains(Path, e.Message);
        Assert.Contains(_standIn.Url, e.Message);
    }

    [Fact]
    public async Task A_403_is_StorageAccessDenied_and_a_host_message_echoing_the_token_is_redacted()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        await _standIn.InjectAsync(ProjectPrefix(repo), 403, body: $"{{\"message\":\"403 Forbidden for token {_standIn.Token}\"}}");
        var e = await FailsAsync(() => _provider.FetchAsync(Storage(repo), null, _secrets, default));
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("403 Forbidden for token ***", e.Message);
    }

    [Fact]
    public async Task A_private_project_without_a_token_is_StorageNotFound_with_a_hint_and_a_public_one_is_read()
    {
        var hidden = NewRepo();
        hidden.CommitAndPush(Path, Kit.Script("private"));
        var open = NewRepo(isPublic: true);
        open.CommitAndPush(Path, Kit.Script("public"));

        var e = await FailsAsync(() => _provider.FetchAsync(Storage(hidden, secret: null), null, NoSecrets, default));
        var fetched = await _provider.FetchAsync(Storage(open, secret: null), null, NoSecrets, default);

        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains("access token secret", e.Message);
        Assert.Equal(FlowHint.StorageSetting("GitLab", "AccessTokenSecret"), e.Hint);
        Assert.Equal(Kit.Script("public"), fetched.ScriptText);
        Assert.Contains((await _standIn.RequestsAsync()), r => r.StartsWith("GET " + ProjectPrefix(open), StringComparison.Ordinal) && r.EndsWith("[]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_project_path_or_ref_is_StorageNotFound_naming_it()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));

        var project = await FailsAsync(() => _provider.FetchAsync(new GitLabStorage("group/none-" + Guid.NewGuid().ToString("N"), Path, _standIn.Url, null, "GITLAB_ACCESS_TOKEN"), null, _secrets, default));
        var path = await FailsAsync(() => _provider.FetchAsync(Storage(repo, path: "flows/missing.cs"), null, _secrets, default));
        var reference = await FailsAsync(() => _provider.FetchAsync(Storage(repo, "no-such-branch"), null, _secrets, default));

        Assert.All(new[] { project, path, reference }, e => Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId));
        Assert.Contains("project was not found", project.Message);
        Assert.Contains("flows/missing.cs", path.Message);
        Assert.Contains("trunk", path.Message);
        Assert.Contains("'no-such-branch'", reference.Message);
        Assert.Contains(repo.FullName, reference.Message);
    }

    [Fact]
    public async Task A_transient_502_is_retried_and_the_fetch_succeeds()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(Path, Kit.Script("x"));
        await _standIn.InjectAsync(ProjectPrefix(repo), 502, count: 2);
        var fetched = await _provider.FetchAsync(Storage(repo), null, _secrets, default);
        Assert.Equal(sha, fetched.StorageVersion);
    }

    [Fact]
    public async Task Persistent_5xx_and_dropped_connections_are_StorageUnavailable_after_retries()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        await _standIn.InjectAsync(ProjectPrefix(repo), 503, count: 4);
        var unavailable = await FailsAsync(() => _provider.FetchAsync(Storage(repo), null, _secrets, default));
        await _standIn.InjectAsync(ProjectPrefix(repo), 0, count: 4, drop: true);
        var dropped = await FailsAsync(() => _provider.FetchAsync(Storage(repo), null, _secrets, default));

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
        var e = await FailsAsync(() => _provider.FetchAsync(new GitLabStorage("g/p", Path, $"http://127.0.0.1:{port}", null, "GITLAB_ACCESS_TOKEN"), null, _secrets, default));
        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains("g/p", e.Message);
    }

    [Fact]
    public async Task A_short_rate_limit_is_waited_out()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(Path, Kit.Script("x"));
        await _standIn.InjectAsync(ProjectPrefix(repo), 429, headers: new() { ["Retry-After"] = "1" }, body: "Retry later");
        var fetched = await _provider.FetchAsync(Storage(repo), null, _secrets, default);
        Assert.Equal(sha, fetched.StorageVersion);
    }

    [Fact]
    public async Task A_long_rate_limit_is_StorageRateLimited_with_the_reset_time()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        var reset = DateTimeOffset.UtcNow.AddHours(1);
        await _standIn.InjectAsync(ProjectPrefix(repo), 429, headers: new()
        {
            ["RateLimit-Limit"] = "600",
            ["RateLimit-Remaining"] = "0",
            ["RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, body: "Retry later");

        var e = await FailsAsync(() => _provider.FetchAsync(Storage(repo), null, _secrets, default));

        Assert.Equal(ErrorIds.StorageRateLimited, e.ErrorId);
        Assert.Contains(reset.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task The_token_goes_in_PRIVATE_TOKEN_and_never_in_a_url()
    {
        var repo = NewRepo();
        repo.CommitAndPush(Path, Kit.Script("x"));
        await _provider.FetchAsync(Storage(repo), null, _secrets, default);
        var requests = (await _standIn.RequestsAsync()).Where(r => r.Contains(ProjectPrefix(repo), StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.EndsWith("[PRIVATE-TOKEN]", r));
        Assert.All(requests, r => Assert.DoesNotContain(_standIn.Token, r));
    }

    [Fact]
    public void Settings_without_a_project_or_path_are_StorageInvalid()
    {
        var context = Kit.RegistrationContext(_secrets, "", []);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => _provider.Resolve(new GitLabStorage("", Path), context)).ErrorId);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => _provider.Resolve(new GitLabStorage("g/p", " "), context)).ErrorId);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => _provider.Resolve(new GitLabStorage("g/p", Path, "ftp://x"), context)).ErrorId);
        Assert.Equal(GitLabStorage.DefaultHost, ((GitLabStorage)_provider.Resolve(new GitLabStorage("g/p", Path), context)).Host);
    }
}
