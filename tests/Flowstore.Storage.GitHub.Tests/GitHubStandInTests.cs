using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Flowstore.Storage.GitHub.Tests;

/// <summary>The stand-in answers as GitHub documents it, where the provider's tests do not reach on their own.</summary>
public sealed class GitHubStandInTests : IDisposable
{
    private readonly TestRepo _repo = GitHubRepos.Create();
    private readonly HttpClient _http = new();

    public void Dispose()
    {
        _repo.Dispose();
        _http.Dispose();
    }

    private HttpRequestMessage Request(HttpMethod method, string path, string? token, string accept = "application/vnd.github.v3+json")
    {
        var request = new HttpRequestMessage(method, $"{StandIn.Url}/api/v3/repos/{_repo.FullName}/{path}");
        request.Headers.Accept.ParseAdd(accept);
        request.Headers.UserAgent.ParseAdd("Flowstore-Tests");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return request;
    }

    private static object Put(string content, string? sha, string branch = "trunk")
        => new { message = "Change", content = Convert.ToBase64String(Encoding.UTF8.GetBytes(content)), branch, sha };

    [Fact]
    public async Task Contents_updates_need_the_current_blob_sha_409_when_stale_422_when_missing()
    {
        _repo.CommitAndPush("flows/a.cs", "one");
        using var get = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/a.cs?ref=trunk", StandIn.Token));
        var current = (await get.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("one", Encoding.UTF8.GetString(Convert.FromBase64String(current["content"]!.GetValue<string>().Replace("\n", ""))));
        var sha = current["sha"]!.GetValue<string>();

        var missing = Request(HttpMethod.Put, "contents/flows/a.cs", StandIn.Token);
        missing.Content = JsonContent.Create(Put("two", null));
        using var noSha = await _http.SendAsync(missing);
        var update = Request(HttpMethod.Put, "contents/flows/a.cs", StandIn.Token);
        update.Content = JsonContent.Create(Put("two", sha));
        using var updated = await _http.SendAsync(update);
        var stale = Request(HttpMethod.Put, "contents/flows/a.cs", StandIn.Token);
        stale.Content = JsonContent.Create(Put("three", sha));
        using var conflict = await _http.SendAsync(stale);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, noSha.StatusCode);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var commit = (await updated.Content.ReadFromJsonAsync<JsonObject>())!["commit"]!["sha"]!.GetValue<string>();
        Assert.Equal(_repo.Head("trunk"), commit);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("two", _repo.Show("trunk", "flows/a.cs"));
    }

    [Fact]
    public async Task Auth_a_wrong_token_is_401_Bad_credentials_and_a_private_repository_without_one_is_404()
    {
        _repo.CommitAndPush("flows/a.cs", "one");

        using var wrong = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/a.cs", "not-the-token"));
        using var anonymous = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/a.cs", null));
        using var raw = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/a.cs", StandIn.Token, "application/vnd.github.v3.raw"));

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("Bad credentials", (await wrong.Content.ReadFromJsonAsync<JsonObject>())!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("application/vnd.github.v3.raw", raw.Content.Headers.ContentType!.MediaType);
        Assert.Equal("one", await raw.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unknown_ref_is_422_on_commits_and_404_on_contents()
    {
        _repo.CommitAndPush("flows/a.cs", "one");

        using var commits = await _http.SendAsync(Request(HttpMethod.Get, "commits/nope", StandIn.Token));
        using var contents = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/a.cs?ref=nope", StandIn.Token));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, commits.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, contents.StatusCode);
    }

    [Fact]
    public async Task An_empty_repository_is_409_on_commits_and_404_on_contents_and_takes_a_first_file()
    {
        using var commits = await _http.SendAsync(Request(HttpMethod.Get, "commits/trunk", StandIn.Token));
        using var contents = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/a.cs?ref=trunk", StandIn.Token));
        var put = Request(HttpMethod.Put, "contents/flows/a.cs", StandIn.Token);
        put.Content = JsonContent.Create(Put("one", null));
        using var created = await _http.SendAsync(put);

        Assert.Equal(HttpStatusCode.Conflict, commits.StatusCode);
        Assert.Equal("Git Repository is empty.", (await commits.Content.ReadFromJsonAsync<JsonObject>())!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, contents.StatusCode);
        Assert.Equal("This repository is empty.", (await contents.Content.ReadFromJsonAsync<JsonObject>())!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("one", _repo.Show("trunk", "flows/a.cs"));
    }

    [Fact]
    public async Task A_file_over_1_MB_is_403_too_large_as_JSON_and_served_as_raw_or_as_an_object_without_content()
    {
        var text = new string('x', 1024 * 1024 + 1);
        _repo.CommitAndPush("flows/big.cs", text);

        using var json = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/big.cs?ref=trunk", StandIn.Token));
        using var raw = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/big.cs?ref=trunk", StandIn.Token, "application/vnd.github.raw"));
        using var objectForm = await _http.SendAsync(Request(HttpMethod.Get, "contents/flows/big.cs?ref=trunk", StandIn.Token, "application/vnd.github.object"));

        Assert.Equal(HttpStatusCode.Forbidden, json.StatusCode);
        Assert.Equal("too_large", (await json.Content.ReadFromJsonAsync<JsonObject>())!["errors"]![0]!["code"]!.GetValue<string>());
        Assert.Equal(text, await raw.Content.ReadAsStringAsync());
        var file = (await objectForm.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(("file", "", "none"), (file["type"]!.GetValue<string>(), file["content"]!.GetValue<string>(), file["encoding"]!.GetValue<string>()));
        Assert.Equal(_repo.Git("rev-parse", "HEAD:flows/big.cs").Trim(), file["sha"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_commit_with_a_diff_over_3000_files_is_500_as_JSON_and_its_SHA_is_served_as_text()
    {
        Directory.CreateDirectory(Path.Combine(_repo.Work, "data"));
        for (var i = 0; i <= 3000; i++)
        {
            File.WriteAllText(Path.Combine(_repo.Work, "data", $"f{i}.txt"), $"{i}");
        }
        _repo.Git("add", "data");
        var commit = _repo.CommitAndPush("flows/a.cs", "one");

        using var json = await _http.SendAsync(Request(HttpMethod.Get, "commits/trunk", StandIn.Token));
        using var sha = await _http.SendAsync(Request(HttpMethod.Get, "commits/trunk", StandIn.Token, "application/vnd.github.sha"));

        Assert.Equal(HttpStatusCode.InternalServerError, json.StatusCode);
        Assert.Equal(HttpStatusCode.OK, sha.StatusCode);
        Assert.Equal(commit, await sha.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(403, null)]
    [InlineData(429, 7)]
    public async Task A_secondary_rate_limit_answers_403_or_429_with_GitHub_s_message_and_retry_after_only_when_set(int status, int? retryAfter)
    {
        _repo.CommitAndPush("flows/a.cs", "one");
        await GitHubStandIn.SecondaryRateLimitAsync($"/api/v3/repos/{_repo.FullName}/", status, retryAfter: retryAfter);

        using var limited = await _http.SendAsync(Request(HttpMethod.Get, "commits/trunk", StandIn.Token));
        using var next = await _http.SendAsync(Request(HttpMethod.Get, "commits/trunk", StandIn.Token));

        Assert.Equal(status, (int)limited.StatusCode);
        Assert.Contains("secondary rate limit", (await limited.Content.ReadFromJsonAsync<JsonObject>())!["message"]!.GetValue<string>());
        Assert.NotEqual("0", limited.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal(retryAfter?.ToString(System.Globalization.CultureInfo.InvariantCulture), limited.Headers.TryGetValues("Retry-After", out var values) ? values.Single() : null);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }
}
