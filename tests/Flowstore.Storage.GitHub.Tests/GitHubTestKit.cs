using Flowstore.Storage.Contract.GitHosts;
using Flowstore.Storage.GitHub;

namespace Flowstore.Storage.GitHub.Tests;

/// <summary>GitHub repositories on the API stand-in (<see cref="StandIn"/>): owner/repo names and API paths.</summary>
internal static class GitHubRepos
{
    /// <summary>A new owner/repo name (a new owner each time).</summary>
    public static string NewName() => $"org{Guid.NewGuid().ToString("N")[..8]}/repo-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A new repository with a unique name; private unless <paramref name="isPublic"/>.</summary>
    public static TestRepo Create(string defaultBranch = "trunk", bool isPublic = false) => TestRepo.Create(NewName(), defaultBranch, isPublic);

    /// <summary>The API path of a repository, for fault injection and request checks.</summary>
    public static string ApiPrefix(string fullName) => $"/api/v3/repos/{fullName}";

    extension(TestRepo repo)
    {
        /// <summary>The API path of this repository.</summary>
        public string ApiPrefix => ApiPrefix(repo.FullName);
    }
}

/// <summary>The provider as the tests use it.</summary>
internal static class GitHubProvider
{
    /// <summary>
    /// Fast retries for tests; waits for a rate limit that resets within 5 s. A secondary rate limit that gives no
    /// time waits <paramref name="secondaryRateLimitWait"/> (GitHub's minute by default).
    /// </summary>
    public static GitHubStorageProvider Fast(TimeSpan? maxRateLimitWait = null, TimeSpan? secondaryRateLimitWait = null) => new(new GitHubStorageOptions
    {
        MaxRetries = 3,
        RetryDelay = TimeSpan.FromMilliseconds(50),
        MaxRateLimitWait = maxRateLimitWait ?? TimeSpan.FromSeconds(5),
        RequestTimeout = TimeSpan.FromSeconds(20),
        SecondaryRateLimitWait = secondaryRateLimitWait ?? TimeSpan.FromMinutes(1),
    });
}

/// <summary>GitHub-only controls of the stand-in.</summary>
internal static class GitHubStandIn
{
    /// <summary>
    /// Makes the next <paramref name="count"/> requests under <paramref name="pathPrefix"/> hit a secondary rate limit,
    /// answered as GitHub does (<paramref name="status"/> 403 or 429, GitHub's message, retry-after only when given).
    /// </summary>
    public static async Task SecondaryRateLimitAsync(string pathPrefix, int status = 403, int count = 1, int? retryAfter = null)
    {
        using var response = await StandIn.Http.PostAsync($"{StandIn.Url}/_standin/github/secondary-rate-limit",
            System.Net.Http.Json.JsonContent.Create(new { pathPrefix, status, count, retryAfter }));
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>Secrets from a dictionary, through the engine's resolver (so messages are the real ones).</summary>
internal sealed class DictionarySecrets : ISecretSource
{
    private readonly Dictionary<string, string> _values;

    public DictionarySecrets(Dictionary<string, string> values) => _values = values;

    public string Description => "test secrets";

    public ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
        => ValueTask.FromResult(_values.TryGetValue(name, out var v) ? v : null);

    public static SecretResolver With(params (string Name, string Value)[] secrets)
        => new(new DictionarySecrets(secrets.ToDictionary(s => s.Name, s => s.Value)));
}
