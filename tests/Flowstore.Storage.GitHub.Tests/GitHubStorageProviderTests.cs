using System.Globalization;
using System.Text;

namespace Flowstore.Storage.GitHub.Tests;

/// <summary>GitHub storage against the GitHub API stand-in, over real bare git repositories.</summary>
public sealed class GitHubStorageProviderTests : IDisposable
{
    private const string FlowPath = "flows/my_flow.cs";
    private const string SecretName = "GITHUB_ACCESS_TOKEN";

    private readonly List<TestRepo> _repos = new();
    private readonly List<string> _logs = new();

    public GitHubStorageProviderTests()
    {
        // As FlowClient does for its providers: saved settings (and Clone) find the type by its name.
        StorageTypes.Register<GitHubStorage>("GitHub");
    }

    public void Dispose()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
    }

    private TestRepo NewRepo(string defaultBranch = "trunk", bool isPublic = false)
    {
        var repo = GitHubRepos.Create(defaultBranch, isPublic);
        _repos.Add(repo);
        return repo;
    }

    private static GitHubStorage Storage(TestRepo repo, string? @ref = null, string? secret = SecretName, string path = FlowPath)
        => new(repo.FullName, path, @ref, secret, StandIn.Url);

    private static SecretResolver Secrets(string? token = null) => DictionarySecrets.With((SecretName, token ?? StandIn.Token));

    private static string Script(string message) => $"using Flowstore;\nvar flow = new Flow(\"example\");\nflow.Task(\"say\", () => Console.WriteLine(\"{message}\"));\n";

    private StoragePublishContext PublishContext(string text, SecretResolver secrets, string? branch = null, string? message = null)
        => new("/local/flows/my_flow.cs", text, FlowStructure.Sha256Hex(text), "example", "example", secrets, _logs.Add)
        {
            Branch = branch,
            Message = message,
        };

    // ---------------------------------------------------------------- refs

    [Fact]
    public async Task No_ref_reads_the_default_branch_not_master()
    {
        var repo = NewRepo(defaultBranch: "trunk");
        var trunk = repo.CommitAndPush(FlowPath, Script("on trunk"));
        repo.Checkout("master", create: true);
        repo.CommitAndPush(FlowPath, Script("on master"));

        var fetched = await GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal(Script("on trunk"), fetched.ScriptText);
        Assert.Equal(trunk, fetched.StorageVersion);
        Assert.Equal($"github:127.0.0.1:{new Uri(StandIn.Url).Port}/{repo.FullName}/{FlowPath}@{trunk}", fetched.Origin);
        Assert.Equal(FlowStructure.Sha256Hex(Encoding.UTF8.GetBytes(Script("on trunk"))), fetched.Sha256);
    }

    [Fact]
    public async Task A_branch_a_tag_and_a_commit_SHA_each_read_the_file_at_that_commit()
    {
        var repo = NewRepo();
        var first = repo.CommitAndPush(FlowPath, Script("first"));
        repo.TagAndPush("v1");
        repo.Checkout("feature/x", create: true);
        var feature = repo.CommitAndPush(FlowPath, Script("feature"));
        repo.Checkout("trunk");
        var latest = repo.CommitAndPush(FlowPath, Script("latest"));
        var provider = GitHubProvider.Fast();

        var byBranch = await provider.FetchAsync(Storage(repo, "feature/x"), null, Secrets(), CancellationToken.None);
        var byTag = await provider.FetchAsync(Storage(repo, "v1"), null, Secrets(), CancellationToken.None);
        var bySha = await provider.FetchAsync(Storage(repo, first), null, Secrets(), CancellationToken.None);
        var byDefault = await provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal((Script("feature"), feature), (byBranch.ScriptText, byBranch.StorageVersion));
        Assert.Equal((Script("first"), first), (byTag.ScriptText, byTag.StorageVersion));
        Assert.Equal((Script("first"), first), (bySha.ScriptText, bySha.StorageVersion));
        Assert.Equal((Script("latest"), latest), (byDefault.ScriptText, byDefault.StorageVersion));
    }

    [Fact]
    public async Task A_pinned_commit_that_is_gone_is_PinnedVersionUnavailable()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("code"));
        var gone = new string('a', 40);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo), gone, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.PinnedVersionUnavailable, e.ErrorId);
        Assert.Equal(FlowHint.RunUnpinned(), e.Hint);
        Assert.Contains(gone, e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task Paths_with_spaces_and_non_ASCII_letters_are_read()
    {
        var repo = NewRepo();
        const string path = "flows/mein flüss+1.cs";
        repo.CommitAndPush(path, Script("ü"));

        var fetched = await GitHubProvider.Fast().FetchAsync(Storage(repo, path: path), null, Secrets(), CancellationToken.None);

        Assert.Equal(Script("ü"), fetched.ScriptText);
    }

    [Fact]
    public async Task A_public_repository_is_read_without_a_token_and_the_token_is_sent_when_there_is_one()
    {
        var repo = NewRepo(isPublic: true);
        repo.CommitAndPush(FlowPath, Script("public"));

        var anonymous = await GitHubProvider.Fast().FetchAsync(Storage(repo, secret: null), null, new SecretResolver(), CancellationToken.None);
        var requestsAnonymous = (await StandIn.RequestsAsync()).Where(r => r.Contains(repo.ApiPrefix + "/", StringComparison.Ordinal)).ToArray();
        await GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);
        var requestsAll = (await StandIn.RequestsAsync()).Where(r => r.Contains(repo.ApiPrefix + "/", StringComparison.Ordinal)).ToArray();

        Assert.Equal(Script("public"), anonymous.ScriptText);
        Assert.NotEmpty(requestsAnonymous);
        Assert.All(requestsAnonymous, r => Assert.EndsWith("[]", r));
        Assert.All(requestsAll.Skip(requestsAnonymous.Length), r => Assert.EndsWith("[Authorization]", r));
    }

    // ---------------------------------------------------------------- registration

    [Fact]
    public async Task Registration_checks_the_committed_file_at_the_resolved_commit()
    {
        var repo = NewRepo();
        var commit = repo.CommitAndPush(FlowPath, Script("committed"));
        var context = new StorageRegistrationContext("/local/flows/my_flow.cs", Script("local"), FlowStructure.Sha256Hex(Script("local")), "example", "example",
            Secrets(), _logs.Add);
        var provider = GitHubProvider.Fast();

        var resolved = (GitHubStorage)provider.Resolve(new GitHubStorage(repo.FullName, "/" + FlowPath, null, SecretName, StandIn.Url), context);
        var prepared = await provider.PrepareRegistrationAsync(resolved, context, CancellationToken.None);
        var recorded = (GitHubStorage)prepared.Settings;

        Assert.Equal(FlowPath, recorded.Path);
        Assert.Null(recorded.Ref);
        var check = prepared.Stored!;
        Assert.Equal(Script("committed"), check.Text);
        Assert.EndsWith($"{repo.FullName}/{FlowPath}@{commit}", check.Origin);
    }

    [Fact]
    public async Task Registration_of_a_file_that_is_not_committed_is_StorageNotFound_naming_repo_path_and_ref()
    {
        var repo = NewRepo();
        repo.CommitAndPush("README.md", "# repo\n");
        var context = new StorageRegistrationContext("/local/flows/my_flow.cs", Script("local"), FlowStructure.Sha256Hex(Script("local")), "example", "example",
            Secrets(), _logs.Add);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().PrepareRegistrationAsync(Storage(repo, "trunk"), context, CancellationToken.None));

        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains(FlowPath, e.Message);
        Assert.Contains("'trunk'", e.Message);
    }

    [Fact]
    public void The_locator_names_server_repo_path_and_ref_and_not_the_code()
    {
        var storage = new GitHubStorage("org/repo", "flows/my_flow.cs", "main", SecretName);
        Assert.Equal("github:github.com/org/repo/flows/my_flow.cs@main", storage.Locator);
        Assert.Equal(new[] { SecretName }, storage.SecretNames);
        Assert.Equal("github:github.example.com/org/repo/flows/my_flow.cs@(default branch)",
            new GitHubStorage("org/repo", "flows/my_flow.cs", baseUrl: "https://github.example.com").Locator);
        var json = storage.ToJson();
        Assert.Contains("\"type\":\"GitHub\"", json);
        Assert.Contains($"\"accessTokenSecret\":\"{SecretName}\"", json);
    }

    [Theory]
    [InlineData(null, "https://api.github.com/")]
    [InlineData("https://github.com", "https://api.github.com/")]
    [InlineData("https://api.github.com/", "https://api.github.com/")]
    [InlineData("https://github.example.com", "https://github.example.com/api/v3/")]
    [InlineData("https://github.example.com/api/v3", "https://github.example.com/api/v3/")]
    [InlineData("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v3/")]
    public void The_API_address_is_api_github_com_or_the_Enterprise_server_s_api_v3(string? baseUrl, string expected)
        => Assert.Equal(new Uri(expected), GitHubStorageProvider.ApiAddress(baseUrl));

    [Theory]
    [InlineData("repo")]
    [InlineData("org/repo/extra")]
    [InlineData("/repo")]
    [InlineData("org/")]
    [InlineData("")]
    public void A_repo_that_is_not_owner_slash_name_is_StorageInvalid(string repo)
    {
        var e = Assert.Throws<FlowstoreException>(() => new GitHubStorage(repo, FlowPath));
        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("owner/name", e.Message);
    }

    [Fact]
    public void A_base_URL_with_credentials_is_StorageInvalid_and_not_repeated()
    {
        var e = Assert.Throws<FlowstoreException>(() => new GitHubStorage("org/repo", FlowPath, baseUrl: "https://user:hunter2@github.example.com"));
        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.DoesNotContain("hunter2", e.ToString());
    }

    // ---------------------------------------------------------------- publishing

    [Fact]
    public async Task Publish_commits_the_file_and_returns_the_commit_the_repository_has()
    {
        var repo = NewRepo();
        repo.CommitAndPush("README.md", "# repo\n");
        var provider = GitHubProvider.Fast();

        var created = await provider.PublishAsync(Storage(repo), PublishContext(Script("v1"), Secrets(), message: "Add my flow"), CancellationToken.None);
        Assert.Equal(repo.Head("trunk"), created.StorageVersion);
        Assert.Equal(Script("v1"), repo.Show(created.StorageVersion, FlowPath));
        Assert.Equal("Add my flow", ReadMessage(repo, created.StorageVersion));
        Assert.Equal($"{new Uri(StandIn.Url).GetLeftPart(UriPartial.Authority)}/{repo.FullName}/blob/{created.StorageVersion}/{FlowPath}", created.Location);

        var updated = await provider.PublishAsync(Storage(repo), PublishContext(Script("v2"), Secrets()), CancellationToken.None);
        Assert.NotEqual(created.StorageVersion, updated.StorageVersion);
        Assert.Equal(Script("v2"), repo.Show("trunk", FlowPath));
        Assert.Equal(created.StorageVersion, repo.Head(updated.StorageVersion + "^"));

        // What was published is what a run fetches.
        var fetched = await provider.FetchAsync(updated.Storage, null, Secrets(), CancellationToken.None);
        Assert.Equal((Script("v2"), updated.StorageVersion), (fetched.ScriptText, fetched.StorageVersion));
    }

    private static string ReadMessage(TestRepo repo, string commit)
    {
        var info = new System.Diagnostics.ProcessStartInfo("git", ["--git-dir=" + repo.Bare, "log", "-1", "--format=%s", commit]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(info)!;
        var text = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return text;
    }

    [Fact]
    public async Task Publishing_unchanged_content_makes_no_commit_and_reports_the_current_one()
    {
        var repo = NewRepo();
        var commit = repo.CommitAndPush(FlowPath, Script("same"));
        var count = repo.CommitCount("trunk");

        var published = await GitHubProvider.Fast().PublishAsync(Storage(repo), PublishContext(Script("same"), Secrets()), CancellationToken.None);

        Assert.Equal(commit, published.StorageVersion);
        Assert.Equal(count, repo.CommitCount("trunk"));
        Assert.Contains(_logs, l => l.Contains("nothing to commit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Publish_to_a_branch_commits_there_and_the_storage_follows_that_branch()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("trunk"));
        repo.Checkout("release", create: true);
        repo.CommitAndPush("README.md", "# release\n");

        var published = await GitHubProvider.Fast().PublishAsync(Storage(repo), PublishContext(Script("release"), Secrets(), branch: "release"), CancellationToken.None);

        Assert.Equal("release", ((GitHubStorage)published.Storage).Ref);
        Assert.Equal(repo.Head("release"), published.StorageVersion);
        Assert.Equal(Script("release"), repo.Show("release", FlowPath));
        Assert.Equal(Script("trunk"), repo.Show("trunk", FlowPath));
    }

    [Fact]
    public async Task Publish_to_a_branch_that_does_not_exist_is_StorageNotFound_naming_it()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("trunk"));

        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            GitHubProvider.Fast().PublishAsync(Storage(repo), PublishContext(Script("x"), Secrets(), branch: "nope"), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains("'nope'", e.Message);
    }

    [Fact]
    public async Task Publish_without_a_token_secret_says_one_is_needed()
    {
        var repo = NewRepo(isPublic: true);
        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            GitHubProvider.Fast().PublishAsync(Storage(repo, secret: null), PublishContext(Script("x"), new SecretResolver()), CancellationToken.None));
        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("access token secret", e.Message);
        Assert.Equal(FlowHint.StorageSetting("GitHub", "AccessTokenSecret"), e.Hint);
    }

    // ---------------------------------------------------------------- errors

    [Fact]
    public async Task A_missing_token_secret_is_SecretNotFound_naming_the_secret_and_the_storage()
    {
        var repo = NewRepo();
        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            GitHubProvider.Fast().FetchAsync(Storage(repo, secret: "NO_SUCH_SECRET"), null, new SecretResolver(new DictionarySecrets(new())), CancellationToken.None));
        Assert.Equal(ErrorIds.SecretNotFound, e.ErrorId);
        Assert.Equal(FlowHint.SetSecret("NO_SUCH_SECRET"), e.Hint);
        Assert.Contains("NO_SUCH_SECRET", e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task A_wrong_token_is_StorageAccessDenied_naming_repo_path_and_ref_but_not_the_token()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        var wrong = "ghp_canary" + Guid.NewGuid().ToString("N");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo, "trunk"), null, Secrets(wrong), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains(FlowPath, e.Message);
        Assert.Contains("'trunk'", e.Message);
        Assert.Contains("Bad credentials", e.Message);
        Assert.Contains(SecretName, e.Message);
        AssertNoSecret(e, wrong);
    }

    [Fact]
    public async Task A_403_is_StorageAccessDenied()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        await StandIn.InjectAsync(repo.ApiPrefix, status: 403, count: 1, body: "{\"message\":\"Resource not accessible by personal access token\"}");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("403", e.Message);
        AssertNoSecret(e, StandIn.Token);
    }

    [Fact]
    public async Task A_private_repository_without_a_token_is_StorageNotFound_suggesting_a_token()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo, secret: null), null, new SecretResolver(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains("access token secret", e.Message);
        Assert.Equal(FlowHint.StorageSetting("GitHub", "AccessTokenSecret"), e.Hint);
    }

    [Fact]
    public async Task A_missing_repository_path_or_ref_is_StorageNotFound_naming_which()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        var provider = GitHubProvider.Fast();

        var noRepo = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.FetchAsync(new GitHubStorage("nobody/nothing", FlowPath, "main", SecretName, StandIn.Url), null, Secrets(), CancellationToken.None));
        var noPath = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.FetchAsync(Storage(repo, path: "flows/other.cs"), null, Secrets(), CancellationToken.None));
        var noRef = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.FetchAsync(Storage(repo, "no-such-branch"), null, Secrets(), CancellationToken.None));

        Assert.All(new[] { noRepo, noPath, noRef }, e => Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId));
        Assert.Contains("nobody/nothing", noRepo.Message);
        Assert.Contains("repository was not found", noRepo.Message);
        Assert.Contains("'flows/other.cs' does not exist", noPath.Message);
        Assert.Contains("ref 'trunk'", noPath.Message);
        Assert.Contains("ref 'no-such-branch' was not found", noRef.Message);
    }

    [Fact]
    public async Task A_rate_limit_that_resets_later_than_the_bound_is_StorageRateLimited_with_the_reset_time()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        var reset = DateTimeOffset.UtcNow.AddMinutes(30);
        await StandIn.InjectAsync(repo.ApiPrefix, status: 403, count: 1, headers: new()
        {
            ["X-RateLimit-Limit"] = "5000",
            ["X-RateLimit-Remaining"] = "0",
            ["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        }, body: "{\"message\":\"API rate limit exceeded for user ID 1.\"}");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageRateLimited, e.ErrorId);
        Assert.Contains(reset.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), e.Message);
        Assert.Contains(repo.FullName, e.Message);
    }

    [Fact]
    public async Task A_rate_limit_that_resets_soon_is_waited_out()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("after the wait"));
        var reset = DateTimeOffset.UtcNow.AddSeconds(2);
        await StandIn.InjectAsync(repo.ApiPrefix, status: 403, count: 1, headers: new()
        {
            ["X-RateLimit-Remaining"] = "0",
            ["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        }, body: "{\"message\":\"API rate limit exceeded.\"}");
        await StandIn.InjectAsync(repo.ApiPrefix, status: 429, count: 1, headers: new() { ["Retry-After"] = "1" },
            body: "{\"message\":\"You have exceeded a secondary rate limit.\"}");

        var fetched = await GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal(Script("after the wait"), fetched.ScriptText);
        Assert.True(DateTimeOffset.UtcNow >= reset.AddSeconds(-1), "the fetch waited for the rate limit to reset");
    }

    [Fact]
    public async Task A_rate_limit_is_not_waited_out_when_the_bound_is_zero()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        await StandIn.InjectAsync(repo.ApiPrefix, status: 429, count: 1, headers: new() { ["Retry-After"] = "2" });

        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            GitHubProvider.Fast(maxRateLimitWait: TimeSpan.Zero).FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageRateLimited, e.ErrorId);
    }

    [Fact]
    public async Task A_transient_502_and_a_dropped_connection_are_retried_and_the_fetch_succeeds()
    {
        var repo = NewRepo();
        var commit = repo.CommitAndPush(FlowPath, Script("recovered"));
        await StandIn.InjectAsync(repo.ApiPrefix + "/contents", status: 502, count: 2);
        await StandIn.InjectAsync(repo.ApiPrefix + "/commits", drop: true, count: 1);

        var fetched = await GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal((Script("recovered"), commit), (fetched.ScriptText, fetched.StorageVersion));
        var contentRequests = (await StandIn.RequestsAsync()).Count(r => r.StartsWith("GET " + repo.ApiPrefix + "/contents/", StringComparison.Ordinal));
        Assert.Equal(3, contentRequests);
    }

    [Fact]
    public async Task A_5xx_that_persists_is_StorageUnavailable_after_the_retries()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        await StandIn.InjectAsync(repo.ApiPrefix, status: 503, count: 4);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo, "trunk"), null, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Contains("503", e.Message);
        Assert.Contains("4 attempts", e.Message);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Contains("'trunk'", e.Message);
    }

    [Fact]
    public async Task An_unreachable_server_is_StorageUnavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var storage = new GitHubStorage("org/repo", FlowPath, "main", SecretName, $"http://127.0.0.1:{port}");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(storage, null, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Contains("could not be reached", e.Message);
        AssertNoSecret(e, StandIn.Token);
    }

    [Fact]
    public async Task The_token_is_in_no_error_of_any_kind()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        var provider = GitHubProvider.Fast(maxRateLimitWait: TimeSpan.Zero);
        // The server echoes the token in its error message: it must still not reach the user.
        await StandIn.InjectAsync(repo.ApiPrefix, status: 422, count: 1, body: $"{{\"message\":\"token {StandIn.Token} is odd\"}}");
        var echoed = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));
        await StandIn.InjectAsync(repo.ApiPrefix, status: 500, count: 4, body: $"{{\"message\":\"{StandIn.Token}\"}}");
        var failing = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));
        await StandIn.InjectAsync(repo.ApiPrefix, status: 403, count: 1, headers: new() { ["Retry-After"] = "60" }, body: $"{{\"message\":\"{StandIn.Token}\"}}");
        var limited = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));
        await StandIn.InjectAsync(repo.ApiPrefix + "/contents", status: 409, count: 1, body: $"{{\"message\":\"{StandIn.Token} does not match\"}}");
        var published = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.PublishAsync(Storage(repo), PublishContext(Script("y"), Secrets()), CancellationToken.None));

        Assert.Contains("***", echoed.Message);
        foreach (var e in new[] { echoed, failing, limited })
        {
            AssertNoSecret(e, StandIn.Token);
        }
        Assert.Equal(ErrorIds.StoragePublishFailed, published.ErrorId);
        AssertNoSecret(published, StandIn.Token);
    }

    // ---------------------------------------------------------------- as the real API answers

    [Theory]
    [InlineData(403)]
    [InlineData(429)]
    public async Task A_secondary_rate_limit_without_retry_after_waits_at_least_a_minute_so_beyond_the_bound_it_is_StorageRateLimited(int status)
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("x"));
        // GitHub's answer: the secondary limit's message, no retry-after, x-ratelimit-remaining not 0.
        await GitHubStandIn.SecondaryRateLimitAsync(repo.ApiPrefix, status);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageRateLimited, e.ErrorId);
        Assert.Contains("secondary rate limit", e.Message);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Matches(@"in (59|60) s", e.Message);
        Assert.Contains(GitHubStorageOptions.MaxRateLimitWaitVariable, e.Message);
        Assert.DoesNotContain("needs read access", e.Message);
    }

    [Theory]
    [InlineData(403)]
    [InlineData(429)]
    public async Task A_secondary_rate_limit_without_retry_after_is_waited_out_when_its_wait_is_within_the_bound(int status)
    {
        var repo = NewRepo();
        var commit = repo.CommitAndPush(FlowPath, Script("after the wait"));
        await GitHubStandIn.SecondaryRateLimitAsync(repo.ApiPrefix, status);
        var started = DateTimeOffset.UtcNow;

        // The minute GitHub asks for, shortened for the test; the bound (5 s) is the one primary limits use.
        var fetched = await GitHubProvider.Fast(secondaryRateLimitWait: TimeSpan.FromSeconds(1)).FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal((Script("after the wait"), commit), (fetched.ScriptText, fetched.StorageVersion));
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(1), "the fetch waited before retrying");
    }

    [Fact]
    public async Task A_secondary_rate_limit_that_persists_waits_twice_as_long_each_time()
    {
        var repo = NewRepo();
        var commit = repo.CommitAndPush(FlowPath, Script("x"));
        await GitHubStandIn.SecondaryRateLimitAsync(repo.ApiPrefix, 403, count: 2);
        var started = DateTimeOffset.UtcNow;

        var fetched = await GitHubProvider.Fast(secondaryRateLimitWait: TimeSpan.FromSeconds(1)).FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal(commit, fetched.StorageVersion);
        // 1 s, then 2 s (GitHub: "wait for an exponentially increasing amount of time between retries").
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(3), "the second wait doubled the first");
    }

    [Fact]
    public async Task A_secondary_rate_limit_with_retry_after_is_waited_out_and_while_publishing_too()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("v1"));
        await GitHubStandIn.SecondaryRateLimitAsync(repo.ApiPrefix + "/contents", 403, retryAfter: 1);

        var published = await GitHubProvider.Fast().PublishAsync(Storage(repo), PublishContext(Script("v2"), Secrets()), CancellationToken.None);

        Assert.Equal(Script("v2"), repo.Show(published.StorageVersion, FlowPath));
    }

    [Fact]
    public async Task Fetching_from_an_empty_repository_says_the_repository_is_empty()
    {
        var repo = NewRepo();

        var fetch = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));
        var context = new StorageRegistrationContext("/local/flows/my_flow.cs", Script("local"), FlowStructure.Sha256Hex(Script("local")), "example", "example",
            Secrets(), _logs.Add);
        var register = await Assert.ThrowsAsync<FlowstoreException>(() => GitHubProvider.Fast().PrepareRegistrationAsync(Storage(repo, "trunk"), context, CancellationToken.None));

        foreach (var e in new[] { fetch, register })
        {
            Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
            Assert.Contains($"repository {repo.FullName} is empty", e.Message);
            Assert.DoesNotContain("Publish again", e.Message);
            Assert.Equal(FlowHint.PublishScript(), e.Hint);
        }
    }

    [Fact]
    public async Task The_first_publish_to_an_empty_repository_creates_the_file_and_a_run_then_reads_it()
    {
        var repo = NewRepo();
        var provider = GitHubProvider.Fast();

        var published = await provider.PublishAsync(Storage(repo), PublishContext(Script("first"), Secrets()), CancellationToken.None);
        var fetched = await provider.FetchAsync(published.Storage, null, Secrets(), CancellationToken.None);

        Assert.Equal(repo.Head("trunk"), published.StorageVersion);
        Assert.Equal(Script("first"), repo.Show("trunk", FlowPath));
        Assert.Equal((Script("first"), published.StorageVersion), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task A_script_over_1_MB_publishes_updates_and_stays_unchanged_through_the_contents_API()
    {
        var repo = NewRepo();
        repo.CommitAndPush("README.md", "# repo\n");
        var provider = GitHubProvider.Fast();
        // 1.5 MB: over the contents API's 1 MB JSON limit, within its 100 MB.
        string Big(string marker) => Script(marker) + "// " + new string('x', 1_500_000) + "\n";

        var created = await provider.PublishAsync(Storage(repo), PublishContext(Big("v1"), Secrets()), CancellationToken.None);
        var updated = await provider.PublishAsync(Storage(repo), PublishContext(Big("v2"), Secrets()), CancellationToken.None);
        var count = repo.CommitCount("trunk");
        var unchanged = await provider.PublishAsync(Storage(repo), PublishContext(Big("v2"), Secrets()), CancellationToken.None);
        var fetched = await provider.FetchAsync(updated.Storage, null, Secrets(), CancellationToken.None);

        Assert.Equal(Big("v1"), repo.Show(created.StorageVersion, FlowPath));
        Assert.Equal(Big("v2"), repo.Show("trunk", FlowPath));
        Assert.Equal(created.StorageVersion, repo.Head(updated.StorageVersion + "^"));
        Assert.Equal(updated.StorageVersion, unchanged.StorageVersion);
        Assert.Equal(count, repo.CommitCount("trunk"));
        Assert.Equal((Big("v2"), updated.StorageVersion), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task A_ref_whose_commit_has_a_diff_too_large_for_GitHub_resolves_by_asking_for_the_SHA_only()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Script("v1"));
        // One commit changing more files than GitHub's commit JSON lists: its diff is not generated in time.
        var many = Path.Combine(repo.Work, "data");
        Directory.CreateDirectory(many);
        for (var i = 0; i <= 3000; i++)
        {
            File.WriteAllText(Path.Combine(many, $"f{i.ToString(CultureInfo.InvariantCulture)}.txt"), i.ToString(CultureInfo.InvariantCulture));
        }
        repo.Git("add", "data");
        var big = repo.CommitAndPush(FlowPath, Script("v2"));
        repo.TagAndPush("big");
        var provider = GitHubProvider.Fast();

        var byDefault = await provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);
        var byTag = await provider.FetchAsync(Storage(repo, "big"), null, Secrets(), CancellationToken.None);
        var unchanged = await provider.PublishAsync(Storage(repo), PublishContext(Script("v2"), Secrets()), CancellationToken.None);

        Assert.Equal((Script("v2"), big), (byDefault.ScriptText, byDefault.StorageVersion));
        Assert.Equal(big, byTag.StorageVersion);
        Assert.Equal(big, unchanged.StorageVersion);
    }

    [Fact]
    public async Task A_server_that_ignores_the_SHA_media_type_and_answers_the_commit_s_JSON_still_resolves_the_ref()
    {
        var repo = NewRepo();
        var commit = repo.CommitAndPush(FlowPath, Script("x"));
        await StandIn.InjectAsync(repo.ApiPrefix + "/commits/", status: 200, count: 1, body: $"{{\"sha\":\"{commit}\",\"commit\":{{\"message\":\"m\"}}}}");

        var fetched = await GitHubProvider.Fast().FetchAsync(Storage(repo, "trunk"), null, Secrets(), CancellationToken.None);

        Assert.Equal(commit, fetched.StorageVersion);
    }

    private static void AssertNoSecret(Exception e, string secret)
    {
        for (var current = e; current is not null; current = current.InnerException)
        {
            Assert.DoesNotContain(secret, current.Message, StringComparison.Ordinal);
        }
        Assert.DoesNotContain(secret, e.ToString(), StringComparison.Ordinal);
    }
}
