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
}
