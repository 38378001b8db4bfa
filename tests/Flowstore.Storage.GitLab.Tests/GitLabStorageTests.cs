using System.Globalization;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.GitLab.Tests;

/// <summary>
/// GitLab storage against the GitLab API stand-in (tests/Flowstore.StandIns) over real bare repositories: what every
/// Git host does (<see cref="GitHostStorageTests"/>) with GitLab's projects in nested groups, its PRIVATE-TOKEN header and
/// RateLimit-* headers, plus what only GitLab does (numeric project ids, its default host, its wording).
/// </summary>
public sealed class GitLabStorageTests() : GitHostStorageTests(new GitLabStorageProvider(new GitHostHttpOptions
{
    Retry = FastRetry,
    MaxRateLimitWait = TimeSpan.FromSeconds(5),
}))
{
    protected override string StorageType => "GitLab";

    protected override string DefaultTokenSecret => "GITLAB_ACCESS_TOKEN";

    protected override string? TokenSecretOf(StorageSettings storage) => ((GitLabStorage)storage).AccessTokenSecret;

    protected override string TokenHeader => "PRIVATE-TOKEN";

    protected override string NewRepositoryName() => $"group/sub/{Kit.Unique("project")}";

    protected override StorageSettings NewStorage(TestRepo repo, string path, string host, string? @ref, string? secret)
        => new GitLabStorage(repo.FullName, path, host, @ref, secret);

    protected override (StorageSettings Storage, string Name) OnHost(string host) => (new GitLabStorage("g/p", FlowPath, host, null, TokenSecret), "g/p");

    protected override (string Path, string? Host, string? Ref) Where(StorageSettings storage)
        => storage is GitLabStorage gitlab ? (gitlab.Path, gitlab.Host, gitlab.Ref) : throw new InvalidCastException(storage.GetType().Name);

    protected override string ApiPrefix(TestRepo repo) => "/api/v4/projects/" + Uri.EscapeDataString(repo.FullName);

    protected override string OriginPart(TestRepo repo, string sha) => repo.FullName;

    protected override Dictionary<string, string> LongRateLimitHeaders(DateTimeOffset reset) => new()
    {
        ["RateLimit-Limit"] = "600",
        ["RateLimit-Remaining"] = "0",
        ["RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>GitLab answers 404 for a private project without a token: StorageNotFound.</summary>
    protected override void AssertPrivateWithoutToken(FlowstoreException e) => Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);

    [Fact]
    public async Task A_numeric_project_id_works_like_the_path()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("by id"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{StandIn.Url}{ApiPrefix(repo)}");
        request.Headers.Add("PRIVATE-TOKEN", StandIn.Token);
        using var response = await StandIn.Http.SendAsync(request);
        var project = Kit.Json(await response.Content.ReadAsStringAsync());
        var id = project.GetProperty("id").GetInt32();

        var fetched = await Provider.FetchAsync(new GitLabStorage(id.ToString(CultureInfo.InvariantCulture), FlowPath, StandIn.Url,
            accessTokenSecret: TokenSecret), null, Secrets, default);

        Assert.Equal(repo.FullName, project.GetProperty("path_with_namespace").GetString());
        Assert.Equal("trunk", project.GetProperty("default_branch").GetString());
        Assert.Equal((Kit.Script("by id"), sha), (fetched.ScriptText, fetched.StorageVersion));
    }

    [Theory]
    [InlineData("read_repository")]
    [InlineData("read_api")]
    public async Task A_read_only_scope_runs_flows_by_default_branch_ref_and_pin_and_publishing_says_it_needs_the_api_scope(string scope)
    {
        var repo = NewRepo();
        var first = repo.CommitAndPush(FlowPath, Kit.Script("tagged"));
        repo.TagAndPush("v1");
        var head = repo.CommitAndPush(FlowPath, Kit.Script("head"));
        var secrets = new TestSecrets(new() { ["SCOPED"] = await StandIn.NewTokenAsync([scope]) });
        var context = Kit.RegistrationContext(secrets, Kit.Script("head"), []);

        var byDefault = await Provider.FetchAsync(Storage(repo, secret: "SCOPED"), null, secrets, default);
        var byTag = await Provider.FetchAsync(Storage(repo, "v1", "SCOPED"), null, secrets, default);
        var pinned = await Provider.FetchAsync(Storage(repo, secret: "SCOPED"), first, secrets, default);
        var registered = await Provider.PrepareRegistrationAsync(Storage(repo, secret: "SCOPED"), context, default);
        var e = await FailsAsync(() => Provider.PublishAsync(Storage(repo, secret: "SCOPED"), Kit.PublishContext(secrets, Kit.Script("new")), default));

        Assert.Equal((Kit.Script("head"), head), (byDefault.ScriptText, byDefault.StorageVersion));
        Assert.Equal((Kit.Script("tagged"), first), (byTag.ScriptText, byTag.StorageVersion));
        Assert.Equal((Kit.Script("tagged"), first), (pinned.ScriptText, pinned.StorageVersion));
        Assert.Equal(Kit.Script("head"), registered.Stored!.Text);
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("403", e.Message);
        Assert.Contains("insufficient_scope", e.Message);
        Assert.Contains("'SCOPED' lacks the scope this call needs", e.Message);
        Assert.Contains("publishing needs the api scope", e.Message);
        Assert.Equal(FlowHint.SetSecret("SCOPED"), e.Hint);
        Assert.Equal(head, repo.BareCommit("refs/heads/trunk"));
    }

    [Fact]
    public async Task A_token_without_a_repository_or_api_scope_is_StorageAccessDenied_naming_read_repository()
    {
        var repo = NewRepo();
        repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var secrets = new TestSecrets(new() { ["USER_ONLY"] = await StandIn.NewTokenAsync(["read_user", "write_repository"]) });

        var e = await FailsAsync(() => Provider.FetchAsync(Storage(repo, secret: "USER_ONLY"), null, secrets, default));

        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("403", e.Message);
        Assert.Contains("running flows needs a token with the read_repository scope", e.Message);
        Assert.Contains(repo.FullName, e.Message);
        Assert.Equal(FlowHint.SetSecret("USER_ONLY"), e.Hint);
    }

    [Fact]
    public async Task A_run_reads_the_file_and_its_commit_in_one_call_to_the_repository_files_endpoint()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var prefix = ApiPrefix(repo);

        var fetched = await Provider.FetchAsync(Storage(repo), null, Secrets, default);

        Assert.Equal(sha, fetched.StorageVersion);
        var calls = (await StandIn.RequestsAsync()).Where(r => r.StartsWith("GET " + prefix + "/", StringComparison.Ordinal) || r.StartsWith("GET " + prefix + " ", StringComparison.Ordinal)).ToArray();
        Assert.Equal([$"GET {prefix}/repository/files/{Uri.EscapeDataString(FlowPath)}/raw [PRIVATE-TOKEN]"], calls);
    }

    [Fact]
    public void The_locator_names_host_project_ref_and_path_and_not_the_content()
    {
        var a = new GitLabStorage("g/p", FlowPath, null, "main", "S");
        var b = new GitLabStorage("g/p", FlowPath, "https://gitlab.com/", "main", "OTHER");
        Assert.Equal(a.Locator, b.Locator);
        Assert.Contains("gitlab.com/g/p", a.Locator);
        Assert.NotEqual(a.Locator, new GitLabStorage("g/p", FlowPath, null, "dev").Locator);
        Assert.NotEqual(a.Locator, new GitLabStorage("g/p", "flows/other.cs", null, "main").Locator);
        Assert.Equal(["S"], a.SecretNames);
        StorageTypes.Register<GitLabStorage>("GitLab"); // as the engine does
        var copy = Assert.IsType<GitLabStorage>(StorageTypes.Deserialize(a.ToJson()));
        Assert.Equal((a.Repo, a.Path, a.Ref, a.AccessTokenSecret), (copy.Repo, copy.Path, copy.Ref, copy.AccessTokenSecret));
    }

    [Fact]
    public async Task A_missing_project_is_StorageNotFound_naming_it()
    {
        var e = await FailsAsync(() => Provider.FetchAsync(new GitLabStorage("group/none-" + Guid.NewGuid().ToString("N"), FlowPath, StandIn.Url, null, TokenSecret), null, Secrets, default));

        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains("project was not found", e.Message);
    }

    [Fact]
    public void Settings_without_a_project_or_path_are_StorageInvalid()
    {
        var context = Kit.RegistrationContext(Secrets, "", []);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => Provider.Resolve(new GitLabStorage("", FlowPath), context)).ErrorId);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => Provider.Resolve(new GitLabStorage("g/p", " "), context)).ErrorId);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => Provider.Resolve(new GitLabStorage("g/p", FlowPath, "ftp://x"), context)).ErrorId);
        Assert.Equal(GitLabStorage.DefaultHost, ((GitLabStorage)Provider.Resolve(new GitLabStorage("g/p", FlowPath), context)).Host);
    }
}
