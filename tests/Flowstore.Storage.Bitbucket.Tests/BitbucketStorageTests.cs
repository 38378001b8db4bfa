using System.Globalization;
using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.Bitbucket.Tests;

/// <summary>
/// Bitbucket Server storage against the Bitbucket Server API stand-in (tests/Flowstore.StandIns) over real bare
/// repositories: what every Git host does (<see cref="GitHostStorageTests"/>) with Bitbucket's KEY/slug repositories,
/// its Authorization header and Retry-After dates, plus what only Bitbucket does (browse URLs, escaped paths, project
/// keys, no anonymous publishing, its wording).
/// </summary>
public sealed class BitbucketStorageTests() : GitHostStorageTests(new BitbucketStorageProvider(new GitHostHttpOptions
{
    Retry = FastRetry,
    MaxRateLimitWait = TimeSpan.FromSeconds(5),
}))
{
    private const string Key = "PROJ";

    protected override string StorageType => "Bitbucket";

    protected override string DefaultTokenSecret => "BITBUCKET_ACCESS_TOKEN";

    protected override string? TokenSecretOf(StorageSettings storage) => ((BitbucketStorage)storage).AccessTokenSecret;

    protected override string TokenHeader => "Authorization";

    protected override string NewRepositoryName() => $"{Key}/{Kit.Unique("flows")}";

    protected override StorageSettings NewStorage(TestRepo repo, string path, string host, string? @ref, string? secret)
        => new BitbucketStorage(Key, Slug(repo), path, host, @ref, secret);

    protected override (StorageSettings Storage, string Name) OnHost(string host) => (new BitbucketStorage("PROJ", "flows", FlowPath, host, null, TokenSecret), "PROJ/flows");

    protected override (string Path, string? Host, string? Ref) Where(StorageSettings storage)
        => storage is BitbucketStorage bitbucket ? (bitbucket.Path, bitbucket.Host, bitbucket.Ref) : throw new InvalidCastException(storage.GetType().Name);

    protected override string ApiPrefix(TestRepo repo) => $"/rest/api/1.0/projects/{Key}/repos/{Slug(repo)}";

    /// <summary>Bitbucket names the script by its browse URL at the commit.</summary>
    protected override string OriginPart(TestRepo repo, string sha) => $"/projects/{Key}/repos/{Slug(repo)}/browse/{FlowPath}?at={sha}";

    protected override Dictionary<string, string> LongRateLimitHeaders(DateTimeOffset reset) => new()
    {
        ["Retry-After"] = reset.ToString("R", CultureInfo.InvariantCulture),
        ["X-RateLimit-Limit"] = "60",
        ["X-RateLimit-Remaining"] = "0",
    };

    /// <summary>Bitbucket Server answers 401 for a private repository without a token: StorageAccessDenied.</summary>
    protected override void AssertPrivateWithoutToken(FlowstoreException e)
    {
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("401", e.Message);
    }

    private static string Slug(TestRepo repo) => repo.FullName.Split('/')[1];

    [Fact]
    public async Task A_path_with_spaces_and_non_ascii_letters_is_escaped_segment_by_segment()
    {
        var repo = NewRepo();
        const string odd = "flows/my flows/ünïcode flow.cs";
        var sha = repo.CommitAndPush(odd, Kit.Script("odd"));
        var fetched = await Provider.FetchAsync(Storage(repo, path: odd), null, Secrets, default);
        Assert.Equal((Kit.Script("odd"), sha), (fetched.ScriptText, fetched.StorageVersion));

        var published = await Provider.PublishAsync(Storage(repo, path: odd), Kit.PublishContext(Secrets, Kit.Script("odd 2")), default);
        Assert.Equal(Kit.Script("odd 2"), repo.Show(published.StorageVersion, odd));
    }

    [Fact]
    public async Task The_default_branch_answer_names_no_commit_so_its_head_comes_from_the_commits_list()
    {
        var repo = NewRepo("trunk");
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("default"));

        var fetched = await Provider.FetchAsync(Storage(repo), null, Secrets, default);
        var published = await Provider.PublishAsync(Storage(repo), Kit.PublishContext(Secrets, Kit.Script("published")), default);

        Assert.Equal((Kit.Script("default"), sha), (fetched.ScriptText, fetched.StorageVersion));
        Assert.Equal([sha], repo.BareParents(published.StorageVersion));
        Assert.Equal(published.StorageVersion, repo.BareCommit("refs/heads/trunk"));
        var requests = await StandIn.RequestsAsync();
        Assert.Contains($"GET {ApiPrefix(repo)}/commits?until=refs%2Fheads%2Ftrunk&limit=1 [Authorization]", requests);
    }

    [Fact]
    public void The_locator_names_host_project_repository_ref_and_path_and_not_the_content()
    {
        var a = new BitbucketStorage("PROJ", "flows", FlowPath, "https://bitbucket.example.com", "main", "S");
        var b = new BitbucketStorage("PROJ", "flows", FlowPath, "https://bitbucket.example.com/", "main", "OTHER");
        Assert.Equal(a.Locator, b.Locator);
        Assert.Contains("bitbucket.example.com/PROJ/flows", a.Locator);
        Assert.NotEqual(a.Locator, new BitbucketStorage("PROJ", "flows", FlowPath, "https://bitbucket.example.com", "dev").Locator);
        Assert.NotEqual(a.Locator, new BitbucketStorage("OTHER", "flows", FlowPath, "https://bitbucket.example.com", "main").Locator);
        Assert.Equal(["S"], a.SecretNames);
        StorageTypes.Register<BitbucketStorage>("Bitbucket"); // as the engine does
        var copy = Assert.IsType<BitbucketStorage>(StorageTypes.Deserialize(a.ToJson()));
        Assert.Equal((a.Project, a.Repo, a.Path, a.Host, a.Ref, a.AccessTokenSecret), (copy.Project, copy.Repo, copy.Path, copy.Host, copy.Ref, copy.AccessTokenSecret));
    }

    [Fact]
    public async Task Publishing_without_a_token_is_StorageAccessDenied()
    {
        var open = NewRepo(isPublic: true);
        open.CommitAndPush(FlowPath, Kit.Script("public"));
        var e = await FailsAsync(() => Provider.PublishAsync(Storage(open, secret: null), Kit.PublishContext(NoSecrets, Kit.Script("changed")), default));
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
    }

    [Fact]
    public async Task A_token_without_write_permission_runs_flows_and_publishing_says_it_has_no_write_permission()
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var secrets = new TestSecrets(new() { ["READ_ONLY"] = await StandIn.NewTokenAsync([], kind: "personal", write: false) });

        var fetched = await Provider.FetchAsync(Storage(repo, secret: "READ_ONLY"), null, secrets, default);
        var e = await FailsAsync(() => Provider.PublishAsync(Storage(repo, secret: "READ_ONLY"), Kit.PublishContext(secrets, Kit.Script("y")), default));

        Assert.Equal(sha, fetched.StorageVersion);
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("401", e.Message);
        Assert.Contains("'READ_ONLY' has no write permission for the repository", e.Message);
        Assert.Contains("Repository write permission", e.Message);
        Assert.DoesNotContain("expired", e.Message);
        Assert.Equal(FlowHint.SetSecret("READ_ONLY"), e.Hint);
        Assert.Equal(sha, repo.BareCommit("refs/heads/trunk"));
    }

    [Theory]
    [InlineData("project")]
    [InlineData("repository")]
    public async Task A_project_or_repository_access_token_runs_flows_but_cannot_publish_Bitbucket_wants_a_user_behind_a_file_edit(string kind)
    {
        var repo = NewRepo();
        var sha = repo.CommitAndPush(FlowPath, Kit.Script("x"));
        var secrets = new TestSecrets(new() { ["BOT_TOKEN"] = await StandIn.NewTokenAsync([], kind: kind, write: true) });

        var fetched = await Provider.FetchAsync(Storage(repo, secret: "BOT_TOKEN"), null, secrets, default);
        var e = await FailsAsync(() => Provider.PublishAsync(Storage(repo, secret: "BOT_TOKEN"), Kit.PublishContext(secrets, Kit.Script("y")), default));

        Assert.Equal(sha, fetched.StorageVersion);
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains("403", e.Message);
        Assert.Contains("is a project or repository access token", e.Message);
        Assert.Contains("personal HTTP access token with Repository write permission", e.Message);
        Assert.Equal(FlowHint.SetSecret("BOT_TOKEN"), e.Hint);
        Assert.Equal(sha, repo.BareCommit("refs/heads/trunk"));
    }

    [Fact]
    public async Task A_missing_repository_or_project_key_is_StorageNotFound_naming_it()
    {
        var repository = await FailsAsync(() => Provider.FetchAsync(new BitbucketStorage(Key, "none-" + Guid.NewGuid().ToString("N"), FlowPath, StandIn.Url, null, TokenSecret), null, Secrets, default));
        var projectKey = await FailsAsync(() => Provider.FetchAsync(new BitbucketStorage("NOPE", "flows", FlowPath, StandIn.Url, "main", TokenSecret), null, Secrets, default));

        Assert.All(new[] { repository, projectKey }, e => Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId));
        Assert.Contains("does not exist", repository.Message);
        Assert.Contains("Project NOPE does not exist", projectKey.Message);
    }

    [Fact]
    public void Settings_without_a_project_repository_path_or_host_are_StorageInvalid()
    {
        var context = Kit.RegistrationContext(Secrets, "", []);
        foreach (var bad in new[]
        {
            new BitbucketStorage("", "r", FlowPath, "https://b.example.com"),
            new BitbucketStorage("P", "", FlowPath, "https://b.example.com"),
            new BitbucketStorage("P", "r", " ", "https://b.example.com"),
            new BitbucketStorage("P", "r", FlowPath, null),
            new BitbucketStorage("P", "r", FlowPath, "ftp://b.example.com"),
        })
        {
            Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => Provider.Resolve(bad, context)).ErrorId);
        }
    }
}
