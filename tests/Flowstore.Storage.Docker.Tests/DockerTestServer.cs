using System.Net.Http.Headers;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Flowstore.Storage.Docker.Tests;

/// <summary>
/// The Docker engine and registries that tests/servers/Start-Docker.ps1 started, read from its environment
/// variables. A missing variable fails the test with a message saying how to start them (tests never skip).
/// </summary>
internal static class DockerTestServer
{
    /// <summary>The secret holding the protected registry's credentials ("user:password").</summary>
    public const string CredentialsSecret = "DOCKER_TEST_REGISTRY";

    /// <summary>An engine address where nothing answers (its folder does not exist).</summary>
    public const string NoEngine = "unix:///nonexistent-flowstore-test/docker.sock";

    public static string Host => Required("FLOWSTORE_TEST_DOCKER_HOST");
    public static string RegistryUrl => Required("FLOWSTORE_TEST_REGISTRY_URL");
    public static string AuthRegistryUrl => Required("FLOWSTORE_TEST_REGISTRY_AUTH_URL");
    public static string User => Required("FLOWSTORE_TEST_REGISTRY_USER");
    public static string Password => Required("FLOWSTORE_TEST_REGISTRY_PASSWORD");

    /// <summary>host:port of a registry URL, as the engine names it in image references.</summary>
    public static string HostPort(string url) => new Uri(url).Authority;

    private static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{name} is not set: start the Docker test servers first (pwsh tests/servers/Start-Docker.ps1 -WorkDirectory out/servers/Docker sets it; build.ps1 -Task Test does this).");

    /// <summary>A repository name no other test uses.</summary>
    public static string NewImageName(string prefix = "test") => $"flowstore-tests/{prefix}-{Guid.NewGuid().ToString("N")[..12]}";

    /// <summary>A Docker.DotNet client on the test engine, for setting up and inspecting images.</summary>
    public static DockerClient Engine() => new DockerClientConfiguration(new Uri(Host)).CreateClient();

    /// <summary>The digest a registry gives name:tag now, or null when it has no such tag.</summary>
    public static async Task<string?> RegistryDigestAsync(string registryUrl, string repository, string tag, bool authenticate = false)
    {
        using var http = new HttpClient { BaseAddress = new Uri(registryUrl.TrimEnd('/') + "/") };
        using var request = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/manifests/{tag}");
        request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        if (authenticate)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
        }
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode ? response.Headers.GetValues("Docker-Content-Digest").Single() : null;
    }

    /// <summary>Whether the test engine has an image (by reference or ID).</summary>
    public static async Task<bool> EngineHasImageAsync(string reference)
    {
        using var engine = Engine();
        try
        {
            await engine.Images.InspectImageAsync(reference);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Deletes an image from the test engine (so a later read must pull it); ignores a missing one.</summary>
    public static async Task RemoveFromEngineAsync(string reference)
    {
        using var engine = Engine();
        try
        {
            await engine.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = true });
        }
        catch (DockerImageNotFoundException)
        {
        }
    }
}

/// <summary>Flow scripts of the tests.</summary>
internal static class Scripts
{
    /// <summary>A flow of two tasks; the second prints <paramref name="message"/>.</summary>
    public static string Etl(string message, bool extraTask = false) => $$"""
        using Flowstore;

        var flow = new Flow("etl");
        var data = flow.Task("get_data", () => new[] { 1, 2, 3 });
        flow.Task("print_data", (int[] values) => Console.WriteLine("{{message}} " + string.Join(",", values)), data);
        {{(extraTask ? "flow.Task(\"audit\", () => Console.WriteLine(\"audit\"));" : "")}}
        """;
}

