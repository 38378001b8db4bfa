using System.Net.Http.Json;

namespace Flowstore.Storage.Contract.GitHosts;

/// <summary>
/// The GitHub / GitLab / Bitbucket Server API stand-in (tests/Flowstore.StandIns) started by
/// tests/servers/Start-GitHosts.ps1, which sets FLOWSTORE_TEST_GITHOSTS_URL, _ROOT and _TOKEN. Tests fail (never
/// skip) when they are missing.
/// </summary>
public static class StandIn
{
    /// <summary>The stand-in's address, without a trailing slash (GitHub under /api/v3, GitLab /api/v4, Bitbucket /rest/api/1.0).</summary>
    public static string Url => Required("FLOWSTORE_TEST_GITHOSTS_URL").TrimEnd('/');

    /// <summary>The folder of its bare repositories (&lt;full name&gt;.git).</summary>
    public static string Root => Required("FLOWSTORE_TEST_GITHOSTS_ROOT");

    /// <summary>The one token it accepts.</summary>
    public static string Token => Required("FLOWSTORE_TEST_GITHOSTS_TOKEN");

    public static HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Makes the next <paramref name="count"/> requests under <paramref name="pathPrefix"/> fail (or drops them).</summary>
    public static async Task InjectAsync(string pathPrefix, int status = 502, int count = 1, Dictionary<string, string>? headers = null,
        string? body = null, bool drop = false)
    {
        using var response = await Http.PostAsJsonAsync($"{Url}/_standin/faults",
            new { status, count, pathPrefix, headers = headers ?? new Dictionary<string, string>(), body, drop });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// A new token the stand-in accepts with a narrower grant: GitLab <paramref name="scopes"/>; Bitbucket token
    /// <paramref name="kind"/> (personal, project, repository) and whether it may write.
    /// </summary>
    public static async Task<string> NewTokenAsync(string[] scopes, string kind = "personal", bool write = true)
    {
        using var response = await Http.PostAsJsonAsync($"{Url}/_standin/tokens", new { scopes, kind, write });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return body.GetProperty("token").GetString()!;
    }

    /// <summary>The requests the stand-in saw ("METHOD /path?query [auth header names]").</summary>
    public static async Task<string[]> RequestsAsync()
        => await Http.GetFromJsonAsync<string[]>($"{Url}/_standin/requests") ?? [];

    private static string Required(string name)
        => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: start the Git host API stand-ins first with tests/servers/Start-GitHosts.ps1 -WorkDirectory <folder> " +
                "(in the same PowerShell session that runs dotnet test), or run build.ps1 -Task Test.");
}
