using Docker.DotNet.Models;
using Flowstore.Engine;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.Docker.Tests;

/// <summary>
/// Registration with Docker storage against the real engine and registries: flows of one file that share one storage
/// get one image (one build, one push), and a push that fails (registry down, no or wrong credentials) leaves neither
/// a registration nor the image it built behind.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerRegistrationTests() : FlowHomeTests("flowstore-docker-tests")
{
    private const string WrongCredentials = "DOCKER_TEST_WRONG";

    protected override Task ArrangeAsync()
    {
        // Short backoff: a registry that is down is retried, then reported.
        Client.AddProvider(new DockerStorageProvider { Retry = new StorageRetry(new StorageRetryOptions { BaseDelay = TimeSpan.FromMilliseconds(20), UseJitter = false }) });
        return Client.SetSecretAsync(WrongCredentials, $"{DockerTestServer.User}:not-the-password");
    }

    private async Task<IReadOnlyList<FlowRegistration>> RegisterAllAsync(string path, StorageSettings? storage = null)
    {
        var options = new RegisterOptions { Project = Project, Storage = storage };
        var results = new List<FlowRegistration>();
        foreach (var plan in await Client.PlanAsync(path, options, Log.Add))
        {
            results.Add(await Client.ApplyAsync(plan, options, Log.Add));
        }
        return results;
    }

    /// <summary>The tags the test engine holds for a repository (registry host:port/name).</summary>
    private static async Task<string[]> EngineTagsAsync(string repository)
    {
        using var engine = DockerTestServer.Engine();
        var images = await engine.Images.ListImagesAsync(new ImagesListParameters { All = true });
        return images.SelectMany(i => i.RepoTags ?? []).Where(t => t.StartsWith(repository + ":", StringComparison.Ordinal)).ToArray();
    }

    private static async Task<string[]> RegistryTagsAsync(string registryUrl, string repository)
    {
        using var http = new HttpClient { BaseAddress = new Uri(registryUrl.TrimEnd('/') + "/") };
        using var response = await http.GetAsync($"v2/{repository}/tags/list");
        if (!response.IsSuccessStatusCode)
        {
            return [];
        }
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.TryGetProperty("tags", out var tags) && tags.ValueKind == System.Text.Json.JsonValueKind.Array
            ? tags.EnumerateArray().Select(t => t.GetString()!).ToArray()
            : [];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Two_flows_sharing_one_storage_get_one_image_built_and_pushed_once(bool storedAsScript)
    {
        var image = DockerTestServer.NewImageName("pair");
        var script = Write("pair.cs", $$"""
            using Flowstore;

            var storage = new DockerStorage({{(storedAsScript ? "path: \"/flows/pair.cs\", files: new System.Collections.Generic.Dictionary<string, string> { [\"pair.cs\"] = \"/flows/pair.cs\" }, " : "")}}
                storedAsScript: {{(storedAsScript ? "true" : "false")}}, registryUrl: "{{DockerTestServer.RegistryUrl}}", imageName: "{{image}}", dockerHost: "{{DockerTestServer.Host}}");
            var first = new Flow("first");
            first.Task("one", () => Console.WriteLine("first ran"));
            first.Storage = storage;
            var second = new Flow("second");
            second.Task("two", () => Console.WriteLine("second ran"));
            second.Storage = storage;
            """);

        var registered = await RegisterAllAsync(script);
        Assert.Equal(2, registered.Count);
        Assert.All(registered, r => Assert.Equal(RegistrationStatus.Registered, r.Status));

        // One build, one push: one tag in the registry, recorded by both flows.
        Assert.Single(Log, l => l.StartsWith("Building ", StringComparison.Ordinal));
        var tag = Assert.Single(await RegistryTagsAsync(DockerTestServer.RegistryUrl, image));
        var recorded = new List<DockerStorage>();
        foreach (var name in new[] { "first", "second" })
        {
            recorded.Add((DockerStorage)StorageTypes.Deserialize((await Client.GetFlowAsync(name, Project)).StorageJson));
        }
        Assert.All(recorded, r => Assert.Equal(tag, r.ImageTag));
        Assert.Equal(recorded[0].ImageDigest, recorded[1].ImageDigest);
        Assert.Equal(recorded[0].Path, recorded[1].Path);

        // The one image serves both flows.
        foreach (var (name, output) in new[] { ("first", "first ran"), ("second", "second ran") })
        {
            var run = await Client.RunNowAsync(await Client.GetFlowAsync(name, Project), null, null);
            Assert.Equal(RunState.Success, run.State);
            Assert.Contains(await Client.GetRunLogAsync(run.Id), l => l.Level == "Output" && l.Message == output);
            Assert.Equal(recorded[0].ImageDigest, run.StorageVersion);
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:{0}")]
    [InlineData("127.0.0.1:1")]
    public async Task A_registry_that_is_down_at_registration_is_StorageUnavailable_and_the_built_image_is_removed(string registry)
    {
        var port = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        port.Start();
        var down = string.Format(System.Globalization.CultureInfo.InvariantCulture, registry, ((System.Net.IPEndPoint)port.LocalEndpoint).Port);
        port.Stop();
        var image = DockerTestServer.NewImageName("down");
        var script = Write("etl.cs", Scripts.Etl("v1"));
        var storage = new DockerStorage("/flows/etl.cs", new Dictionary<string, string> { [script] = "/flows/etl.cs" }, storedAsScript: true, registryUrl: down, imageName: image, dockerHost: DockerTestServer.Host);

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAllAsync(script, storage));

        Assert.Equal(ErrorIds.StorageUnavailable, error.ErrorId);
        var authority = down.Contains("://", StringComparison.Ordinal) ? new Uri(down).Authority : down;
        Assert.Contains(authority, error.Message, StringComparison.Ordinal);
        Assert.Empty(await EngineTagsAsync($"{authority}/{image}"));
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
    }

    [Fact]
    public async Task A_registry_of_the_base_image_that_is_down_at_registration_is_StorageUnavailable_as_at_run_time()
    {
        var port = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        port.Start();
        var down = $"127.0.0.1:{((System.Net.IPEndPoint)port.LocalEndpoint).Port}";
        port.Stop();
        var image = DockerTestServer.NewImageName("base-down");
        var script = Write("etl.cs", Scripts.Etl("v1"));
        var storage = new DockerStorage("/flows/etl.cs", new Dictionary<string, string> { [script] = "/flows/etl.cs" }, storedAsScript: true,
            registryUrl: DockerTestServer.RegistryUrl, imageName: image, imageTag: "1.0", baseImage: $"{down}/flowstore-tests/base:1",
            dockerHost: DockerTestServer.Host);

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAllAsync(script, storage));

        Assert.Equal(ErrorIds.StorageUnavailable, error.ErrorId);
        Assert.Equal(FlowErrorKind.ConnectionError, error.Kind);
        Assert.Contains(down, error.Message, StringComparison.Ordinal);
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
    }

    [Theory]
    [InlineData(WrongCredentials)]
    [InlineData(null)]
    public async Task A_push_the_registry_refuses_is_StorageAccessDenied_and_the_built_image_is_removed(string? credentialsSecret)
    {
        var image = DockerTestServer.NewImageName("refused");
        var script = Write("etl.cs", Scripts.Etl("v1"));
        var storage = new DockerStorage("/flows/etl.cs", new Dictionary<string, string> { [script] = "/flows/etl.cs" }, storedAsScript: true,
            registryUrl: DockerTestServer.AuthRegistryUrl, imageName: image, imageTag: "1.0",
            dockerHost: DockerTestServer.Host, registryCredentialsSecret: credentialsSecret);

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAllAsync(script, storage));

        Assert.Equal(ErrorIds.StorageAccessDenied, error.ErrorId);
        Assert.Empty(await EngineTagsAsync($"{DockerTestServer.HostPort(DockerTestServer.AuthRegistryUrl)}/{image}"));
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
    }
}
