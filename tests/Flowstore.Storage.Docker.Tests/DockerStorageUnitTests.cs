using System.Formats.Tar;
using System.Text;

namespace Flowstore.Storage.Docker.Tests;

/// <summary>
/// The parts of Docker storage that need no server: image references, the registration key rule, settings
/// completion, credentials, and reading a file out of layers with whiteouts.
/// </summary>
public sealed class DockerStorageUnitTests
{
    // Saved settings name their type; a FlowClient registers it, these tests have none.
    static DockerStorageUnitTests() => StorageTypes.Register<DockerStorage>("Docker");

    private static StorageRegistrationContext Context(string sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") =>
        new("/src/flows/etl.cs", "source", sha, "etl", "etl", new NoSecrets(), _ => { });

    private sealed class NoSecrets : ISecretResolver
    {
        public ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken) =>
            name == "GOOD" ? ValueTask.FromResult("user:p@ss:word")
            : name == "JSON" ? ValueTask.FromResult("""{"username":"u","password":"secret-value"}""")
            : ValueTask.FromResult("no-separator-secret-value");
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000/", "flows/etl", "127.0.0.1:5000", "flows/etl", "http://127.0.0.1:5000/")]
    [InlineData("127.0.0.1:5000", "flows/etl", "127.0.0.1:5000", "flows/etl", "http://127.0.0.1:5000/")]
    [InlineData("registry.example.com", "etl", "registry.example.com", "etl", "https://registry.example.com/")]
    [InlineData(null, "registry.example.com:8443/team/etl", "registry.example.com:8443", "team/etl", "https://registry.example.com:8443/")]
    [InlineData(null, "localhost:5000/etl", "localhost:5000", "etl", "http://localhost:5000/")]
    public void Image_references_split_registry_and_repository(string? registryUrl, string imageName, string registry, string repository, string baseUri)
    {
        var image = ImageReference.FromSettings(new DockerStorage(registryUrl: registryUrl, imageName: imageName, imageTag: "1.0"));
        Assert.Equal(registry, image.Registry);
        Assert.Equal(repository, image.Repository);
        Assert.Equal(new Uri(baseUri), image.RegistryBaseUri);
        Assert.Equal($"{registry}/{repository}:1.0", image.ToString());
        Assert.Equal($"{registry}/{repository}@sha256:abc", image.WithDigest("sha256:abc").ToString());
    }

    [Fact]
    public void An_image_without_a_registry_stays_local_and_bad_names_are_StorageInvalid()
    {
        var local = ImageReference.FromSettings(new DockerStorage(imageName: "flows/etl"));
        Assert.Null(local.Registry);
        Assert.Equal("flows/etl:latest", local.ToString());
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => ImageReference.FromSettings(new DockerStorage(imageName: "Flows/ETL"))).ErrorId);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() => ImageReference.FromSettings(new DockerStorage(imageName: "etl", imageTag: "-bad"))).ErrorId);
    }

    [Fact]
    public void Generated_names_and_tags_follow_the_flow_slug_and_the_UTC_time()
    {
        Assert.Equal("flowstore/my_flow", ImageReference.NameFromSlug("my_flow"));
        Assert.Equal("flowstore/a-b", ImageReference.NameFromSlug("A b"));
        Assert.Equal("20261128T174501Z", ImageReference.GeneratedTag(new DateTimeOffset(2026, 11, 28, 18, 45, 1, TimeSpan.FromHours(1))));
    }

    [Fact]
    public void Resolve_completes_the_settings_without_io_and_keys_a_build_on_the_script_not_on_a_generated_tag()
    {
        var provider = new DockerStorageProvider();
        var storage = new DockerStorage(path: "flows/etl.cs", files: new Dictionary<string, string> { ["etl.cs"] = "flows/etl.cs" },
            storedAsScript: true, registryUrl: "127.0.0.1:5000");
        var resolved = (DockerStorage)provider.Resolve(storage, Context());
        Assert.Equal("/flows/etl.cs", resolved.Path);
        Assert.Equal("/flows/etl.cs", resolved.Files!["/src/flows/etl.cs"]);
        Assert.Equal("flowstore/etl", resolved.ImageName);
        Assert.Null(resolved.ImageTag);
        Assert.Equal("docker:127.0.0.1:5000/flowstore/etl:/flows/etl.cs#0123456789ab", resolved.Locator);
        Assert.Null(storage.ImageName); // the caller's object is untouched

        // What registration records (a generated tag) keys the same; a changed script keys differently.
        var recorded = (DockerStorage)resolved with { ImageTag = "20261128T174501Z", TagGenerated = true };
        Assert.Equal(resolved.Locator, recorded.Locator);
        Assert.NotEqual(resolved.Locator, ((DockerStorage)provider.Resolve(storage, Context(new string('f', 64)))).Locator);

        // A tag the user chose is part of the key.
        var tagged = (DockerStorage)provider.Resolve(new DockerStorage(path: "/f.cs", storedAsScript: true, imageName: "flows/etl", imageTag: "1.0"), Context());
        Assert.Equal("docker:flows/etl:1.0:/f.cs", tagged.Locator);
        Assert.False(tagged.BuildsImage);
    }

    [Fact]
    public void Resolve_defaults_the_path_and_builds_the_registered_script_when_no_image_is_named()
    {
        var provider = new DockerStorageProvider();
        var script = (DockerStorage)provider.Resolve(new DockerStorage(storedAsScript: true), Context());
        Assert.Equal("/flows/etl.cs", script.Path);
        Assert.Equal("/flows/etl.cs", script.Files!["/src/flows/etl.cs"]);
        Assert.True(script.BuildsImage);

        var frozen = (DockerStorage)provider.Resolve(new DockerStorage(imageName: "flows/etl"), Context());
        Assert.Equal("/flowstore/etl.dll", frozen.Path);
        Assert.StartsWith("docker-frozen:", frozen.Locator, StringComparison.Ordinal);
        Assert.EndsWith("#0123456789ab", frozen.Locator, StringComparison.Ordinal);

        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() =>
            provider.Resolve(new DockerStorage(storedAsScript: true, imageName: "flows/etl"), Context())).ErrorId);
        Assert.Equal(ErrorIds.StorageInvalid, Assert.Throws<FlowstoreException>(() =>
            provider.Resolve(new DockerStorage(storedAsScript: true, dockerfile: "Dockerfile", baseImage: "debian"), Context())).ErrorId);
    }

    [Fact]
    public void Settings_round_trip_as_json_without_computed_members()
    {
        var storage = new DockerStorage(path: "/f.cs", storedAsScript: true, imageName: "flows/etl", registryCredentialsSecret: "REG")
        {
            ImageDigest = "sha256:abc",
        };
        var json = storage.ToJson();
        Assert.StartsWith("""{"type":"Docker",""", json, StringComparison.Ordinal);
        Assert.DoesNotContain("buildsImage", json, StringComparison.Ordinal);
        var back = (DockerStorage)StorageTypes.Deserialize(json);
        Assert.Equal(storage.Locator, back.Locator);
        Assert.Equal("sha256:abc", back.ImageDigest);
        Assert.Equal(new[] { "REG" }, back.SecretNames);
    }

    [Fact]
    public async Task Credentials_come_as_user_colon_password_or_json_and_a_bad_value_is_never_echoed()
    {
        var good = await RegistryCredentials.ResolveAsync(new DockerStorage(registryCredentialsSecret: "GOOD"), new NoSecrets(), default);
        Assert.Equal(("user", "p@ss:word"), (good!.Username, good.Password));
        Assert.DoesNotContain("p@ss", good.ToString(), StringComparison.Ordinal);
        var json = await RegistryCredentials.ResolveAsync(new DockerStorage(registryCredentialsSecret: "JSON"), new NoSecrets(), default);
        Assert.Equal(("u", "secret-value"), (json!.Username, json.Password));
        Assert.Null(await RegistryCredentials.ResolveAsync(new DockerStorage(), new NoSecrets(), default));
        var bad = await Assert.ThrowsAsync<FlowstoreException>(() => RegistryCredentials.ResolveAsync(new DockerStorage(registryCredentialsSecret: "BAD"), new NoSecrets(), default));
        Assert.Equal(ErrorIds.StorageInvalid, bad.ErrorId);
        Assert.Contains("'BAD'", bad.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("no-separator-secret-value", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bearer_challenges_are_parsed()
    {
        var parameters = RegistryClient.ParseChallenge("""realm="https://auth.example.com/token",service="registry.example.com",scope="repository:flows/etl:pull" """);
        Assert.Equal("https://auth.example.com/token", parameters["realm"]);
        Assert.Equal("registry.example.com", parameters["service"]);
        Assert.Equal("repository:flows/etl:pull", parameters["scope"]);
    }

    // ---------------------------------------------------------------- layers and whiteouts

    private static MemoryStream Layer(params (string Name, string? Text)[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text) in entries)
            {
                var entry = new PaxTarEntry(text is null && name.EndsWith('/') ? TarEntryType.Directory : TarEntryType.RegularFile, name);
                if (text is not null)
                {
                    entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text));
                }
                writer.WriteEntry(entry);
            }
        }
        stream.Position = 0;
        return stream;
    }

    private static async Task<(ImageFileReader.LayerVerdict, string?)> SearchAsync(MemoryStream layer, string path = "/flows/etl.cs")
    {
        var (verdict, content) = await ImageFileReader.SearchLayerAsync(layer, path, default);
        return (verdict, content is null ? null : Encoding.UTF8.GetString(content));
    }

    [Fact]
    public async Task A_layer_has_the_file_deletes_it_or_does_not_touch_it()
    {
        Assert.Equal((ImageFileReader.LayerVerdict.Found, "v1"), await SearchAsync(Layer(("flows/", null), ("flows/etl.cs", "v1"))));
        Assert.Equal((ImageFileReader.LayerVerdict.Found, "v1"), await SearchAsync(Layer(("./flows/etl.cs", "v1"))));
        Assert.Equal((ImageFileReader.LayerVerdict.NotHere, null), await SearchAsync(Layer(("flows/other.cs", "x"), ("etl.cs", "x"))));
        // Whiteouts: the file itself, a folder above it, an opaque folder above it.
        Assert.Equal(ImageFileReader.LayerVerdict.Deleted, (await SearchAsync(Layer(("flows/.wh.etl.cs", "")))).Item1);
        Assert.Equal(ImageFileReader.LayerVerdict.Deleted, (await SearchAsync(Layer((".wh.flows", "")))).Item1);
        Assert.Equal(ImageFileReader.LayerVerdict.Deleted, (await SearchAsync(Layer(("flows/.wh..wh..opq", "")))).Item1);
        // An opaque folder that still holds the file (recreated in this layer) has it.
        Assert.Equal((ImageFileReader.LayerVerdict.Found, "v2"), await SearchAsync(Layer(("flows/.wh..wh..opq", ""), ("flows/etl.cs", "v2"))));
        // Whiteouts of neighbours do not matter.
        Assert.Equal(ImageFileReader.LayerVerdict.NotHere, (await SearchAsync(Layer(("flows/.wh.other.cs", ""), ("other/.wh..wh..opq", "")))).Item1);
    }
}
