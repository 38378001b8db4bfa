using System.Text;

namespace Flowstore.Storage.Git.Tests;

/// <summary>The Git storage provider against a real smart-HTTP server (git http-backend) with Basic authentication.</summary>
public sealed class GitStorageProviderTests : IDisposable
{
    private const string FlowPath = "flows/my_flow.cs";
    private const string TokenName = "GIT_TOKEN";
    private readonly TempFolder _temp = new();
    private readonly List<TestRepo> _repos = [];

    private GitStorageProvider NewProvider(string? cache = null) => new(cache ?? Path.Combine(_temp.Path, "cache-" + Guid.NewGuid().ToString("N")))
    {
        Retry = new StorageRetry(new StorageRetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.FromMilliseconds(10), UseJitter = false }),
    };

    private static SecretResolver Secrets() => DictionarySecretSource.Resolver((TokenName, GitTestServer.Token));

    private TestRepo NewRepo(string defaultBranch = "trunk")
    {
        var repo = TestRepo.Create(defaultBranch);
        _repos.Add(repo);
        return repo;
    }

    private static GitStorage Storage(TestRepo repo, string? branch = null, string? tag = null, string? commit = null, string path = FlowPath)
        => new(repo.Url, path, branch: branch, tag: tag, commit: commit, tokenSecret: TokenName);

    public void Dispose()
    {
        foreach (var repo in _repos)
        {
            repo.Dispose();
        }
        _temp.Dispose();
    }

    [Fact]
    public async Task Without_a_ref_it_reads_the_remote_default_branch_and_records_its_commit()
    {
        var repo = NewRepo("trunk");
        var sha = repo.Commit("trunk", "one", (FlowPath, "// trunk v1\n"));

        var fetched = await NewProvider().FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal("// trunk v1\n", fetched.ScriptText);
        Assert.Equal(sha, fetched.StorageVersion);
        Assert.Equal(repo.RemoteHead("trunk"), fetched.StorageVersion);
        Assert.Equal(FlowStructure.Sha256Hex(Encoding.UTF8.GetBytes("// trunk v1\n")), fetched.Sha256);
        Assert.Contains(repo.Url, fetched.Origin);
        Assert.Contains(FlowPath, fetched.Origin);
    }

    [Fact]
    public async Task Branch_tag_and_commit_each_read_the_file_at_that_ref()
    {
        var repo = NewRepo();
        var first = repo.Commit("trunk", "one", (FlowPath, "// first\n"));
        repo.Tag("v1", first);
        var second = repo.Commit("trunk", "two", (FlowPath, "// second\n"));
        var dev = repo.Commit("dev", "dev", (FlowPath, "// dev\n"));
        var provider = NewProvider();

        var onBranch = await provider.FetchAsync(Storage(repo, branch: "dev"), null, Secrets(), CancellationToken.None);
        var onTag = await provider.FetchAsync(Storage(repo, tag: "v1"), null, Secrets(), CancellationToken.None);
        var onCommit = await NewProvider().FetchAsync(Storage(repo, commit: first), null, Secrets(), CancellationToken.None);
        var onShortCommit = await NewProvider().FetchAsync(Storage(repo, commit: first[..10]), null, Secrets(), CancellationToken.None);
        var onDefault = await provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        Assert.Equal(("// dev\n", dev), (onBranch.ScriptText, onBranch.StorageVersion));
        Assert.Equal(("// first\n", first), (onTag.ScriptText, onTag.StorageVersion));
        Assert.Equal(("// first\n", first), (onCommit.ScriptText, onCommit.StorageVersion));
        Assert.Equal(("// first\n", first), (onShortCommit.ScriptText, onShortCommit.StorageVersion));
        Assert.Equal(("// second\n", second), (onDefault.ScriptText, onDefault.StorageVersion));
    }

    [Fact]
    public async Task Every_fetch_follows_the_branch_and_a_pinned_fetch_reads_the_old_commit()
    {
        var repo = NewRepo();
        var old = repo.Commit("trunk", "one", (FlowPath, "// old\n"));
        var cache = Path.Combine(_temp.Path, "shared-cache");
        var provider = NewProvider(cache);
        var before = await provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);

        var newer = repo.Commit("trunk", "two", (FlowPath, "// new\n"));
        var after = await provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);
        var pinned = await provider.FetchAsync(Storage(repo), old, Secrets(), CancellationToken.None);
        // A cache that never saw the old commit fetches it by SHA from the server.
        var pinnedFresh = await NewProvider().FetchAsync(Storage(repo), old, Secrets(), CancellationToken.None);

        Assert.Equal(("// old\n", old), (before.ScriptText, before.StorageVersion));
        Assert.Equal(("// new\n", newer), (after.ScriptText, after.StorageVersion));
        Assert.Equal(("// old\n", old), (pinned.ScriptText, pinned.StorageVersion));
        Assert.Equal(("// old\n", old), (pinnedFresh.ScriptText, pinnedFresh.StorageVersion));
    }

    [Fact]
    public async Task A_pinned_fetch_falls_back_to_a_full_fetch_when_the_server_refuses_commits_by_sha()
    {
        var repo = NewRepo();
        repo.ServeProtocolV0Only();
        repo.Configure("uploadpack.allowReachableSHA1InWant", "false");
        var old = repo.Commit("trunk", "one", (FlowPath, "// old\n"));
        repo.Commit("trunk", "two", (FlowPath, "// new\n"));
        repo.Commit("trunk", "three", (FlowPath, "// newest\n"));
        var cache = Path.Combine(_temp.Path, "v0-cache");
        var provider = NewProvider(cache);
        // The cache is shallow at the newest commit first.
        await provider.FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None);
        var cacheRepo = Assert.Single(Directory.GetDirectories(cache, "*.git"));
        Assert.Equal("true", TestRepo.Git(cacheRepo, "rev-parse", "--is-shallow-repository"));

        var pinned = await provider.FetchAsync(Storage(repo), old, Secrets(), CancellationToken.None);

        Assert.Equal(("// old\n", old), (pinned.ScriptText, pinned.StorageVersion));
        // The commit came with the whole history, since the server would not send it by SHA.
        Assert.Equal("false", TestRepo.Git(cacheRepo, "rev-parse", "--is-shallow-repository"));
    }

    [Fact]
    public async Task A_pinned_commit_that_is_not_in_the_repository_is_PinnedVersionUnavailable()
    {
        var repo = NewRepo();
        repo.Commit("trunk", "one", (FlowPath, "// one\n"));
        var missing = new string('a', 40);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => NewProvider().FetchAsync(Storage(repo), missing, Secrets(), CancellationToken.None));

        Assert.Equal(ErrorIds.PinnedVersionUnavailable, e.ErrorId);
        Assert.Contains(missing, e.Message);
        Assert.Contains(repo.Url, e.Message);
    }

    [Fact]
    public async Task Publish_commits_the_local_script_and_pushes_it_and_reports_the_remote_commit()
    {
        var repo = NewRepo();
        var start = repo.Commit("trunk", "one", (FlowPath, "// one\n"), ("README.md", "readme\n"));
        var script = _temp.Write("local/my_flow.cs", "// published\n");
        var provider = NewProvider();

        var published = await provider.PublishAsync(Storage(repo), PublishContext(script), CancellationToken.None);

        var head = repo.RemoteHead("trunk");
        Assert.Equal(head, published.StorageVersion);
        Assert.NotEqual(start, head);
        Assert.Equal("// published\n", repo.RemoteFile(head, FlowPath));
        Assert.Equal("readme\n", repo.RemoteFile(head, "README.md"));
        Assert.Equal(start, repo.RemoteLog(head, "%P"));
        Assert.Equal($"Publish {FlowPath} with Flowstore", repo.RemoteLog(head, "%s"));
        var configuredName = TestRepo.Git(_temp.Path, "config", "--default", "", "user.name");
        var configuredEmail = TestRepo.Git(_temp.Path, "config", "--default", "", "user.email");
        Assert.Equal(configuredName.Length > 0 && configuredEmail.Length > 0 ? $"{configuredName} <{configuredEmail}>" : "Flowstore <flowstore@localhost>",
            repo.RemoteLog(head, "%an <%ae>"));
        var storage = Assert.IsType<GitStorage>(published.Storage);
        Assert.Equal(repo.Url, storage.Url);
        Assert.Null(storage.Branch);

        // The published commit is what the next fetch reads.
        var fetched = await provider.FetchAsync(storage, null, Secrets(), CancellationToken.None);
        Assert.Equal(("// published\n", head), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Fact]
    public async Task Publishing_an_unchanged_script_makes_no_commit_and_reports_the_current_one()
    {
        var repo = NewRepo();
        var head = repo.Commit("trunk", "one", (FlowPath, "// same\n"));
        var script = _temp.Write("local/my_flow.cs", "// same\n");

        var published = await NewProvider().PublishAsync(Storage(repo), PublishContext(script), CancellationToken.None);

        Assert.Equal(head, published.StorageVersion);
        Assert.Equal(head, repo.RemoteHead("trunk"));
    }

    [Fact]
    public async Task Publish_to_a_new_branch_with_a_message_creates_it_from_the_default_branch()
    {
        var repo = NewRepo();
        var start = repo.Commit("trunk", "one", (FlowPath, "// one\n"));
        var script = _temp.Write("local/my_flow.cs", "// feature\n");

        var published = await NewProvider().PublishAsync(Storage(repo), PublishContext(script) with { Branch = "feature/x", Message = "Try the feature" },
            CancellationToken.None);

        var head = repo.RemoteHead("feature/x");
        Assert.Equal(head, published.StorageVersion);
        Assert.Equal(start, repo.RemoteHead("trunk"));
        Assert.Equal(start, repo.RemoteLog(head, "%P"));
        Assert.Equal("Try the feature", repo.RemoteLog(head, "%s"));
        Assert.Equal("feature/x", Assert.IsType<GitStorage>(published.Storage).Branch);
    }

    [Fact]
    public async Task Publishing_content_the_default_branch_already_has_to_a_new_branch_creates_the_branch_there()
    {
        var repo = NewRepo();
        var head = repo.Commit("trunk", "one", (FlowPath, "// same\n"));
        var script = _temp.Write("local/my_flow.cs", "// same\n");

        var published = await NewProvider().PublishAsync(Storage(repo), PublishContext(script) with { Branch = "release" }, CancellationToken.None);

        Assert.Equal(head, published.StorageVersion);
        Assert.Equal(head, repo.RemoteHead("release"));
    }

    [Fact]
    public async Task Publish_into_an_empty_repository_needs_a_branch_and_creates_the_first_commit()
    {
        var repo = NewRepo();
        var script = _temp.Write("local/my_flow.cs", "// first\n");

        var published = await NewProvider().PublishAsync(Storage(repo, branch: "trunk"), PublishContext(script), CancellationToken.None);

        Assert.Equal(repo.RemoteHead("trunk"), published.StorageVersion);
        Assert.Equal("// first\n", repo.RemoteFile(published.StorageVersion, FlowPath));
    }

    [Fact]
    public async Task Publishing_to_a_tag_or_to_an_empty_repository_without_a_branch_suggests_a_branch()
    {
        var repo = NewRepo();
        var empty = NewRepo();
        repo.Tag("v1", repo.Commit("trunk", "one", (FlowPath, "// one\n")));
        var script = _temp.Write("local/my_flow.cs", "// two\n");

        var tag = await Assert.ThrowsAsync<FlowstoreException>(() => NewProvider().PublishAsync(Storage(repo, tag: "v1"), PublishContext(script), CancellationToken.None));
        var noBranch = await Assert.ThrowsAsync<FlowstoreException>(() => NewProvider().PublishAsync(Storage(empty), PublishContext(script), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageInvalid, tag.ErrorId);
        Assert.Contains("tag 'v1'", tag.Message);
        Assert.Equal(ErrorIds.StoragePublishFailed, noBranch.ErrorId);
        Assert.Contains("no default branch", noBranch.Message);
        Assert.All(new[] { tag, noBranch }, e =>
        {
            Assert.Equal(FlowHint.PublishToBranch(), e.Hint);
            Assert.DoesNotContain("-Branch", e.Message);
        });
    }

    [Fact]
    public async Task A_wrong_token_is_StorageAccessDenied_naming_url_path_and_ref_but_never_the_token()
    {
        var repo = NewRepo();
        repo.Commit("trunk", "one", (FlowPath, "// one\n"));
        var canary = "canary-" + Guid.NewGuid().ToString("N");
        var secrets = DictionarySecretSource.Resolver((TokenName, canary));
        var script = _temp.Write("local/my_flow.cs", "// x\n");

        var fetch = await Assert.ThrowsAsync<FlowstoreException>(() => NewProvider().FetchAsync(Storage(repo, branch: "trunk"), null, secrets, CancellationToken.None));
        var publish = await Assert.ThrowsAsync<FlowstoreException>(() => NewProvider().PublishAsync(Storage(repo), PublishContext(script, secrets), CancellationToken.None));

        foreach (var e in new[] { fetch, publish })
        {
            Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
            Assert.Contains(repo.Url, e.Message);
            Assert.Contains(TokenName, e.Message);
            AssertNoSecret(e, canary);
        }
        Assert.Contains(FlowPath, fetch.Message);
        Assert.Contains("branch 'trunk'", fetch.Message);
        Assert.Equal(FlowHint.SetSecret(TokenName), fetch.Hint);
    }

    [Fact]
    public async Task A_refused_token_says_the_token_was_refused_and_not_that_git_could_not_read_a_user_name()
    {
        var repo = NewRepo();
        repo.Commit("trunk", "one", (FlowPath, "// one\n"));
        var secrets = DictionarySecretSource.Resolver((TokenName, "wrong-" + Guid.NewGuid().ToString("N")));
        var script = _temp.Write("local/my_flow.cs", "// x\n");

        var fetch = await Assert.ThrowsAsync<FlowstoreException>(() => NewProvider().FetchAsync(Storage(repo, branch: "trunk"), null, secrets, CancellationToken.None));
        var publish = await Assert.ThrowsAsync<FlowstoreException>(() => NewProvider().PublishAsync(Storage(repo), PublishContext(script, secrets), CancellationToken.None));
        var anonymous = await Assert.ThrowsAsync<FlowstoreException>(() =>
            NewProvider().FetchAsync(new GitStorage(repo.Url, FlowPath), null, new SecretResolver(), CancellationToken.None));

        Assert.Contains($"refused the token in secret '{TokenName}'", fetch.Message, StringComparison.Ordinal);
        Assert.Contains("may read the repository", fetch.Message, StringComparison.Ordinal);
        Assert.Contains($"refused the token in secret '{TokenName}'", publish.Message, StringComparison.Ordinal);
        Assert.Contains("may write to the repository", publish.Message, StringComparison.Ordinal);
        Assert.Contains("asks for credentials", anonymous.Message, StringComparison.Ordinal);
        foreach (var e in new[] { fetch, publish, anonymous })
        {
            Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
            Assert.DoesNotContain("Username", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("terminal prompts", e.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("ssh://git@example.com/org/repo.git")]
    [InlineData("git@github.com:org/repo.git")]
    [InlineData("git+ssh://example.com/org/repo.git")]
    public void An_ssh_url_with_a_token_secret_says_the_token_is_not_used_there(string url)
    {
        var e = Assert.Throws<FlowstoreException>(() => new GitStorage(url, FlowPath, tokenSecret: TokenName).Validate());

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("SSH URL", e.Message, StringComparison.Ordinal);
        Assert.Contains($"does not use the token in secret '{TokenName}'", e.Message, StringComparison.Ordinal);
        Assert.Equal(FlowHint.StorageSettingsExclusive("Git", "Url", "TokenSecret"), e.Hint);
        // Without the token secret, or over https with it, the settings are fine.
        new GitStorage(url, FlowPath).Validate();
        new GitStorage("https://example.com/org/repo.git", FlowPath, tokenSecret: TokenName).Validate();
        new GitStorage("C:/repos/flows", FlowPath, tokenSecret: TokenName).Validate();
    }

    [Fact]
    public async Task No_token_for_a_repository_that_needs_one_is_StorageAccessDenied_that_says_to_pass_a_token_secret()
    {
        var repo = NewRepo();
        repo.Commit("trunk", "one", (FlowPath, "// one\n"));

        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            NewProvider().FetchAsync(new GitStorage(repo.Url, FlowPath), null, new SecretResolver(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("name a secret that holds one", e.Message);
        Assert.Equal(FlowHint.StorageSetting("Git", "TokenSecret"), e.Hint);
    }

    [Fact]
    public async Task A_missing_token_secret_is_SecretNotFound_naming_the_storage()
    {
        var repo = NewRepo();

        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            NewProvider().FetchAsync(Storage(repo), null, new SecretResolver(), CancellationToken.None));

        Assert.Equal(ErrorIds.SecretNotFound, e.ErrorId);
        Assert.Contains(TokenName, e.Message);
        Assert.Contains(repo.Url, e.Message);
    }

    [Fact]
    public async Task A_missing_repository_branch_tag_or_path_is_StorageNotFound_naming_it()
    {
        var repo = NewRepo();
        var sha = repo.Commit("trunk", "one", (FlowPath, "// one\n"));
        var provider = NewProvider();
        var missingRepo = new GitStorage($"{GitTestServer.Url}/no-such-repo-{Guid.NewGuid():N}.git", FlowPath, tokenSecret: TokenName);

        var noRepo = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(missingRepo, null, Secrets(), CancellationToken.None));
        var noBranch = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(Storage(repo, branch: "nope"), null, Secrets(), CancellationToken.None));
        var noTag = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(Storage(repo, tag: "v9"), null, Secrets(), CancellationToken.None));
        var noPath = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(Storage(repo, path: "flows/other.cs"), null, Secrets(), CancellationToken.None));
        var noCommit = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(Storage(repo, commit: new string('b', 40)), null, Secrets(), CancellationToken.None));

        Assert.All(new[] { noRepo, noBranch, noTag, noPath, noCommit }, e => Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId));
        Assert.Contains(missingRepo.Url, noRepo.Message);
        Assert.Contains("branch 'nope'", noBranch.Message);
        Assert.Contains("tag 'v9'", noTag.Message);
        Assert.Contains("flows/other.cs", noPath.Message);
        Assert.Contains(sha[..12], noPath.Message);
        Assert.Contains(new string('b', 40), noCommit.Message);
        Assert.Equal(FlowHint.StorageSetting("Git", "Url"), noRepo.Hint);
        Assert.Equal(FlowHint.StorageSetting("Git", "Branch"), noBranch.Hint);
        Assert.Equal(FlowHint.StorageSetting("Git", "Tag"), noTag.Hint);
        Assert.Equal(FlowHint.PublishScript(), noPath.Hint);
        Assert.Equal(FlowHint.StorageSetting("Git", "Commit"), noCommit.Hint);
    }

    [Fact]
    public async Task An_unreachable_server_is_StorageUnavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            NewProvider().FetchAsync(new GitStorage($"http://127.0.0.1:{port}/r.git", FlowPath), null, new SecretResolver(), CancellationToken.None));

        Assert.Equal(ErrorIds.StorageUnavailable, e.ErrorId);
        Assert.Contains($"127.0.0.1:{port}/r.git", e.Message);
    }

    [Fact]
    public async Task Concurrent_fetches_through_one_cache_all_succeed()
    {
        var repo = NewRepo();
        var sha = repo.Commit("trunk", "one", (FlowPath, "// one\n"));
        var cache = Path.Combine(_temp.Path, "shared");
        // Separate provider instances (as separate clients would be) on the same cache folder.
        var fetches = Enumerable.Range(0, 6).Select(_ => NewProvider(cache).FetchAsync(Storage(repo), null, Secrets(), CancellationToken.None));

        var results = await Task.WhenAll(fetches);

        Assert.All(results, r => Assert.Equal(sha, r.StorageVersion));
    }

    [Fact]
    public async Task Registration_checks_the_file_exists_at_the_ref_and_hands_the_committed_text_to_the_stored_script_check()
    {
        var repo = NewRepo();
        repo.Commit("trunk", "one", (FlowPath, "// committed\n"));
        var context = RegistrationContext(_temp.Write("local/my_flow.cs", "// local\n"));
        var provider = NewProvider();

        var resolved = provider.Resolve(new GitStorage(repo.Url, "./" + FlowPath, tokenSecret: TokenName), context);
        var prepared = await provider.PrepareRegistrationAsync(resolved, context, CancellationToken.None);
        var stored = prepared.Settings;
        var missing = await Assert.ThrowsAsync<FlowstoreException>(() =>
            provider.PrepareRegistrationAsync(provider.Resolve(Storage(repo, path: "flows/missing.cs"), context), context, CancellationToken.None));

        Assert.Equal(FlowPath, ((GitStorage)stored).Path);
        var (text, origin) = prepared.Stored!;
        Assert.Equal("// committed\n", text);
        Assert.Contains(repo.Url, origin);
        Assert.Equal(ErrorIds.StorageNotFound, missing.ErrorId);
        Assert.Contains("flows/missing.cs", missing.Message);
        Assert.Contains(repo.Url, missing.Message);
        Assert.Contains("the default branch", missing.Message);
    }

    [Fact]
    public void The_locator_names_url_ref_and_path_and_changes_with_the_ref_but_not_with_the_token()
    {
        var a = new GitStorage("https://dev.azure.com/org/project/_git/repo", "flows/my_flow.cs", branch: "main", tokenSecret: "A");
        var b = new GitStorage("https://dev.azure.com/org/project/_git/repo", "flows/my_flow.cs", branch: "main", tokenSecret: "B");
        var c = new GitStorage("https://dev.azure.com/org/project/_git/repo", "flows/my_flow.cs", tag: "main");

        Assert.Equal(a.Locator, b.Locator);
        Assert.NotEqual(a.Locator, c.Locator);
        Assert.Contains("dev.azure.com/org/project/_git/repo", a.Locator);
        Assert.Contains("flows/my_flow.cs", a.Locator);
        Assert.Equal(["A"], a.SecretNames);
        StorageTypes.Register<GitStorage>("Git");
        var roundTrip = Assert.IsType<GitStorage>(StorageTypes.Deserialize(a.ToJson()));
        Assert.Equal((a.Url, a.Path, a.Branch, a.TokenSecret), (roundTrip.Url, roundTrip.Path, roundTrip.Branch, roundTrip.TokenSecret));
    }

    [Theory]
    [InlineData("main", "v1", null)]
    [InlineData("main", null, "0123456789abcdef0123456789abcdef01234567")]
    [InlineData(null, "v1", "0123456789abcdef0123456789abcdef01234567")]
    public void Branch_tag_and_commit_are_mutually_exclusive(string? branch, string? tag, string? commit)
    {
        var e = Assert.Throws<FlowstoreException>(() => new GitStorage("https://example.com/r.git", FlowPath, branch: branch, tag: tag, commit: commit));

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("at most one", e.Message);
    }

    [Fact]
    public void A_url_with_a_password_is_refused_without_echoing_the_password()
    {
        var canary = "pw" + Guid.NewGuid().ToString("N");

        var e = Assert.Throws<FlowstoreException>(() => new GitStorage($"https://user:{canary}@example.com/r.git", FlowPath));

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("https://example.com/r.git", e.Message);
        AssertNoSecret(e, canary);
    }

    [Theory]
    [InlineData("--upload-pack=evil", FlowPath, null)]
    [InlineData("https://example.com/r.git", "", null)]
    [InlineData("https://example.com/r.git", "../outside.cs", null)]
    [InlineData("https://example.com/r.git", FlowPath, "-evil")]
    public void Settings_git_could_misread_are_StorageInvalid(string url, string path, string? branch)
    {
        var e = Assert.Throws<FlowstoreException>(() => new GitStorage(url, path, branch: branch));

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
    }

    [Fact]
    public void Credentials_in_urls_are_removed_from_messages()
    {
        Assert.Equal("fatal: unable to access 'https://example.com/r.git/': 401",
            GitUrl.Redact("fatal: unable to access 'https://user:secret@example.com/r.git/': 401"));
        Assert.Equal("see https://example.com/r.git", GitUrl.Redact("see https://tokenonly@example.com/r.git"));
        Assert.Equal("ssh://git@example.com/r.git", GitUrl.Redact("ssh://git@example.com/r.git"));
    }

    private static void AssertNoSecret(Exception e, string secret)
    {
        var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes("flowstore:" + secret));
        for (var x = e; x is not null; x = x.InnerException)
        {
            Assert.DoesNotContain(secret, x.Message);
            Assert.DoesNotContain(base64, x.Message);
            Assert.DoesNotContain(secret, x.ToString());
        }
    }

    private static StoragePublishContext PublishContext(string script, ISecretResolver? secrets = null) => new(
        script, File.ReadAllText(script), FlowStructure.Sha256Hex(File.ReadAllBytes(script)), "example", "example",
        secrets ?? Secrets(), _ => { });

    private static StorageRegistrationContext RegistrationContext(string script) => new(
        script, File.ReadAllText(script), FlowStructure.Sha256Hex(File.ReadAllBytes(script)), "example", "example",
        Secrets(), _ => { });
}
