using System.Text.RegularExpressions;
using Flowstore.Engine;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.Docker.Tests;

/// <summary>
/// Docker storage through the engine against a real dockerd and docker-registry: build + push at registration, runs
/// that read the script out of the image (engine, or the registry alone), Prefect's two Docker cases, pinned runs by
/// digest, frozen flows and the errors a user meets, each leaving nothing registered.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed partial class DockerFlowTests() : FlowHomeTests("flowstore-docker-tests")
{
    protected override Task ArrangeAsync()
        => Client.SetSecretAsync(DockerTestServer.CredentialsSecret, $"{DockerTestServer.User}:{DockerTestServer.Password}");

    private static DockerStorage Storage(string? imageName = null, string? tag = null, string? path = "/flows/etl.cs",
        IDictionary<string, string>? files = null, bool storedAsScript = true, string? registry = "open", string? host = null,
        string? dockerfile = null) => new(
            path: path,
            files: files,
            storedAsScript: storedAsScript,
            registryUrl: registry switch
            {
                "open" => DockerTestServer.RegistryUrl,
                "auth" => DockerTestServer.AuthRegistryUrl,
                _ => registry,
            },
            imageName: imageName,
            imageTag: tag,
            dockerfile: dockerfile,
            dockerHost: host ?? DockerTestServer.Host,
            registryCredentialsSecret: registry == "auth" ? DockerTestServer.CredentialsSecret : null);

    private async Task<FlowRegistration> RegisterAsync(string path, StorageSettings? storage, IProgress<StorageProgress>? progress = null)
    {
        var options = new RegisterOptions
        {
            Project = Project,
            Storage = storage,
            OnWarning = w => Warnings.Add(w),
            Progress = progress,
        };
        var plan = Assert.Single(await Client.PlanAsync(path, options, Log.Add));
        return await Client.ApplyAsync(plan, options, Log.Add);
    }

    private async Task<FlowPublication> PublishAsync(string path, StorageSettings storage, IProgress<StorageProgress>? progress = null)
        => await Client.PublishAsync(path, new PublishOptions { Storage = storage, Progress = progress }, Log.Add);

    private async Task<FlowRunRecord> RunAsync(Guid? pinnedFrom = null)
        => await Client.RunNowAsync(await Client.GetFlowAsync("etl", Project), null, pinnedFrom);

    private async Task<string[]> OutputAsync(FlowRunRecord run)
        => (await Client.GetRunLogAsync(run.Id)).Where(l => l.Task == "print_data" && l.Level == "Output").Select(l => l.Message).ToArray();

    private async Task<DockerStorage> RecordedStorageAsync()
        => (DockerStorage)StorageTypes.Deserialize((await Client.GetFlowAsync("etl", Project)).StorageJson);

    private async Task AssertNothingRegisteredAsync()
        => Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project, Name = "etl", IncludeArchived = true }));

    private static Task<FetchedFlowSource> FetchAsync(StorageSettings storage, string? pinned = null, ISecretResolver? secrets = null)
        => new DockerStorageProvider().FetchAsync(storage, pinned, secrets ?? new FixedSecrets(), CancellationToken.None);

    private static Dictionary<string, string> Files => new() { ["etl.cs"] = "/flows/etl.cs" };

    [GeneratedRegex(@"^\d{8}T\d{6}Z$")]
    private static partial Regex TimestampTag();

    [GeneratedRegex(@"^sha256:[0-9a-f]{64}$")]
    private static partial Regex Digest();

    // ---------------------------------------------------------------- case (a): Path + Files + StoredAsScript

    [Fact]
    public async Task Registration_builds_and_pushes_the_image_and_runs_read_the_script_through_the_engine()
    {
        var local = Write("flows/etl.cs", Scripts.Etl("v1"));
        var image = DockerTestServer.NewImageName();
        var progress = new RecordingProgress();
        var storage = Storage(image, files: new Dictionary<string, string> { ["etl.cs"] = "/flows/etl.cs" });

        var registered = await RegisterAsync(local, storage, progress);
        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        var recorded = await RecordedStorageAsync();
        Assert.Matches(TimestampTag(), recorded.ImageTag);
        Assert.True(recorded.TagGenerated);
        Assert.Matches(Digest(), recorded.ImageDigest);
        // The registry has the tag, with the digest that was recorded.
        Assert.Equal(recorded.ImageDigest, await DockerTestServer.RegistryDigestAsync(DockerTestServer.RegistryUrl, image, recorded.ImageTag!));
        Assert.Contains(progress.Reports, p => p.Activity.StartsWith("Building image", StringComparison.Ordinal) && p.Status.StartsWith("Step 2/", StringComparison.Ordinal));
        Assert.Contains(progress.Reports, p => p.Activity.StartsWith("Building image", StringComparison.Ordinal) && p.PercentComplete == 100);
        Assert.Contains(progress.Reports, p => p.Activity.StartsWith("Pushing", StringComparison.Ordinal) && p.PercentComplete == 100);

        // The run pulls the image (gone from the engine here) and reads the script out of it.
        var reference = $"{DockerTestServer.HostPort(DockerTestServer.RegistryUrl)}/{image}:{recorded.ImageTag}";
        await DockerTestServer.RemoveFromEngineAsync(reference);
        var run = await RunAsync();
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(new[] { "v1 1,2,3" }, await OutputAsync(run));
        Assert.Equal(recorded.ImageDigest, run.StorageVersion);
        Assert.True(await DockerTestServer.EngineHasImageAsync(reference));

        // The generated tag does not make the same script a new registration.
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(local, storage)).Status);

        // A changed local script is a new version: registration builds a new image.
        Write("flows/etl.cs", Scripts.Etl("v2"));
        var second = await RegisterAsync(local, storage);
        Assert.Equal(RegistrationStatus.Registered, second.Status);
        Assert.Equal(2, second.Version);
        var rebuilt = await RecordedStorageAsync();
        Assert.NotEqual(recorded.ImageDigest, rebuilt.ImageDigest);
        Assert.Equal(new[] { "v2 1,2,3" }, await OutputAsync(await RunAsync()));
    }

    [Fact]
    public async Task Without_an_engine_the_script_is_read_from_the_registry_alone()
    {
        var local = Write("etl.cs", Scripts.Etl("from the registry"));
        var image = DockerTestServer.NewImageName();
        var published = await PublishAsync(local, Storage(image, tag: "stable"));
        var storage = (DockerStorage)published.Storage;
        Assert.Equal("stable", storage.ImageTag);
        Assert.Null(storage.Files);

        // The agent has no engine: registration checks the file and runs read it through the registry's HTTP API.
        storage = storage with { DockerHost = DockerTestServer.NoEngine };
        var direct = await FetchAsync(storage);
        Assert.Equal(Scripts.Etl("from the registry"), direct.ScriptText);
        Assert.Equal(published.StorageVersion, direct.StorageVersion);
        Assert.Equal(FlowStructure.Sha256Hex(Scripts.Etl("from the registry")), direct.Sha256);
        Assert.Contains("/flows/etl.cs", direct.Origin, StringComparison.Ordinal);

        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, storage)).Status);
        var run = await RunAsync();
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(new[] { "from the registry 1,2,3" }, await OutputAsync(run));
        Assert.Equal(published.StorageVersion, run.StorageVersion);
    }

    [Fact]
    public async Task A_new_image_under_the_same_tag_runs_its_new_code_and_a_pinned_run_reads_the_earlier_digest()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var image = DockerTestServer.NewImageName();
        var first = await PublishAsync(local, Storage(image, tag: "stable"));
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, first.Storage)).Status);
        var v1 = await RunAsync();
        Assert.Equal(new[] { "v1 1,2,3" }, await OutputAsync(v1));
        Assert.Equal(first.StorageVersion, v1.StorageVersion);

        // New task code, pushed under the same tag: no registration needed.
        Write("etl.cs", Scripts.Etl("v2"));
        var second = await PublishAsync(local, Storage(image, tag: "stable"));
        Assert.NotEqual(first.StorageVersion, second.StorageVersion);
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(local, second.Storage)).Status);
        var v2 = await RunAsync();
        Assert.Equal(new[] { "v2 1,2,3" }, await OutputAsync(v2));
        Assert.Equal(second.StorageVersion, v2.StorageVersion);

        // Pinned to the first run: the image by its digest, though the tag moved.
        var pinned = await RunAsync(pinnedFrom: v1.Id);
        Assert.Equal(RunState.Success, pinned.State);
        Assert.Equal(new[] { "v1 1,2,3" }, await OutputAsync(pinned));
        Assert.Equal(first.StorageVersion, pinned.StorageVersion);

        // The same without an engine, from the registry.
        var noEngine = (DockerStorage)second.Storage.Clone();
        noEngine = noEngine with { DockerHost = DockerTestServer.NoEngine };
        Assert.Equal(Scripts.Etl("v1"), (await FetchAsync(noEngine, first.StorageVersion)).ScriptText);
        Assert.Equal(Scripts.Etl("v2"), (await FetchAsync(noEngine)).ScriptText);

        // A digest the registry does not have.
        var gone = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(noEngine, "sha256:" + new string('0', 64)));
        Assert.Equal(ErrorIds.PinnedVersionUnavailable, gone.ErrorId);
    }

    [Fact]
    public async Task A_structure_change_in_a_pushed_image_fails_the_run_with_the_diff()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var image = DockerTestServer.NewImageName();
        var published = await PublishAsync(local, Storage(image, tag: "stable"));
        await RegisterAsync(local, published.Storage);

        var changed = Write("changed/etl.cs", Scripts.Etl("v1", extraTask: true));
        await PublishAsync(changed, Storage(image, tag: "stable"));
        var run = await RunAsync();
        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.StructureChanged, run.ErrorId);
        Assert.Contains("audit", run.Error, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- case (b): an image that already holds the file

    [Fact]
    public async Task An_image_that_holds_the_file_is_checked_at_registration_without_a_build()
    {
        var local = Write("etl.cs", Scripts.Etl("local"));
        var image = DockerTestServer.NewImageName();
        // The image was made elsewhere (another pipeline), with other task code.
        var other = Write("elsewhere/etl.cs", Scripts.Etl("in the image"));
        var made = await PublishAsync(other, Storage(image, tag: "1.0"));

        var storage = Storage(image, tag: "1.0", path: "/flows/etl.cs");
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, storage)).Status);
        Assert.Contains(Warnings, w => w.Contains($"{image}:1.0:/flows/etl.cs", StringComparison.Ordinal) && w.Contains("differs", StringComparison.Ordinal));
        var recorded = await RecordedStorageAsync();
        Assert.Equal(made.StorageVersion, recorded.ImageDigest);
        Assert.Null(recorded.ScriptSha256);
        Assert.Equal(new[] { "in the image 1,2,3" }, await OutputAsync(await RunAsync()));

        // A path the image does not have: StorageNotFound naming image and path, nothing registered.
        var missing = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, Storage(image, tag: "1.0", path: "/flows/missing.cs")));
        Assert.Equal(ErrorIds.StorageNotFound, missing.ErrorId);
        Assert.Contains("/flows/missing.cs", missing.Message, StringComparison.Ordinal);
        Assert.Contains(image, missing.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await Client.GetFlowAsync("etl", Project)).Version);

        // The same through the registry alone.
        var noEngine = Storage(image, tag: "1.0", path: "/flows/missing.cs", host: DockerTestServer.NoEngine);
        var viaRegistry = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(noEngine));
        Assert.Equal(ErrorIds.StorageNotFound, viaRegistry.ErrorId);
        Assert.Contains("/flows/missing.cs", viaRegistry.Message, StringComparison.Ordinal);

        // An image whose flow has another structure is refused with the diff.
        var changed = Write("changed/etl.cs", Scripts.Etl("x", extraTask: true));
        await PublishAsync(changed, Storage(image, tag: "2.0"));
        var mismatch = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, Storage(image, tag: "2.0")));
        Assert.Equal(ErrorIds.StoredScriptMismatch, mismatch.ErrorId);
        Assert.Contains("audit", mismatch.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- frozen

    [Fact]
    public async Task Frozen_the_compiled_flow_goes_into_the_image_and_runs_load_it()
    {
        var local = Write("etl.cs", Scripts.Etl("frozen"));
        var image = DockerTestServer.NewImageName();
        var storage = Storage(image, path: null, storedAsScript: false);

        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, storage)).Status);
        var recorded = await RecordedStorageAsync();
        Assert.False(recorded.StoredAsScript);
        Assert.Equal("/flowstore/etl.dll", recorded.Path);
        Assert.Matches(Digest(), recorded.ImageDigest);

        // The local file changes: frozen runs keep the registered flow.
        Write("etl.cs", Scripts.Etl("changed locally"));
        var run = await RunAsync();
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(new[] { "frozen 1,2,3" }, await OutputAsync(run));
        Assert.Equal(recorded.ImageDigest, run.StorageVersion);

        var fetched = await FetchAsync(recorded);
        Assert.Null(fetched.ScriptText);
        Assert.NotNull(fetched.AssemblyBytes);
        // Also without an engine.
        recorded = recorded with { DockerHost = DockerTestServer.NoEngine };
        Assert.Equal(fetched.AssemblyBytes, (await FetchAsync(recorded)).AssemblyBytes);

        // Frozen registration keys on the script: the changed file is a new version, built anew.
        var again = await RegisterAsync(local, storage);
        Assert.Equal(RegistrationStatus.Registered, again.Status);
        Assert.Equal(new[] { "changed locally 1,2,3" }, await OutputAsync(await RunAsync()));
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(local, storage)).Status);
    }

    // ---------------------------------------------------------------- credentials

    [Fact]
    public async Task A_protected_registry_takes_the_credentials_secret_and_denies_pushes_without_it()
    {
        var local = Write("etl.cs", Scripts.Etl("protected"));
        var image = DockerTestServer.NewImageName();

        // No credentials: the push is denied, nothing registered, the registry has no such tag.
        var anonymous = Storage(image, tag: "t1", registry: "auth", files: Files);
        anonymous = anonymous with { RegistryCredentialsSecret = null };
        var denied = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, anonymous));
        Assert.Equal(ErrorIds.StorageAccessDenied, denied.ErrorId);
        Assert.Contains(DockerTestServer.HostPort(DockerTestServer.AuthRegistryUrl), denied.Message, StringComparison.Ordinal);
        await AssertNothingRegisteredAsync();

        // A wrong password: denied, and the message never holds it.
        await Client.SetSecretAsync("WRONG_REGISTRY", $"{DockerTestServer.User}:not-the-password-4711");
        var wrong = Storage(image, tag: "t1", registry: "auth", files: Files);
        wrong = wrong with { RegistryCredentialsSecret = "WRONG_REGISTRY" };
        var refused = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, wrong));
        Assert.Equal(ErrorIds.StorageAccessDenied, refused.ErrorId);
        Assert.DoesNotContain("not-the-password-4711", refused.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(DockerTestServer.Password, refused.ToString(), StringComparison.Ordinal);
        await AssertNothingRegisteredAsync();
        Assert.Null(await DockerTestServer.RegistryDigestAsync(DockerTestServer.AuthRegistryUrl, image, "t1", authenticate: true));

        // The right secret: pushed; runs read it (engine and registry alone); the secret's value is not recorded.
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, Storage(image, tag: "t1", registry: "auth", files: Files))).Status);
        Assert.NotNull(await DockerTestServer.RegistryDigestAsync(DockerTestServer.AuthRegistryUrl, image, "t1", authenticate: true));
        Assert.DoesNotContain(DockerTestServer.Password, (await Client.GetFlowAsync("etl", Project)).StorageJson, StringComparison.Ordinal);
        Assert.Equal(new[] { "protected 1,2,3" }, await OutputAsync(await RunAsync()));
        var recorded = await RecordedStorageAsync();
        recorded = recorded with { DockerHost = DockerTestServer.NoEngine };
        var json = new FixedSecrets((DockerTestServer.CredentialsSecret, $$"""{"username":"{{DockerTestServer.User}}","password":"{{DockerTestServer.Password}}"}"""));
        Assert.Equal(Scripts.Etl("protected"), (await FetchAsync(recorded, secrets: json)).ScriptText);
        var noSecret = (DockerStorage)recorded.Clone();
        noSecret = noSecret with { RegistryCredentialsSecret = null };
        Assert.Equal(ErrorIds.StorageAccessDenied, (await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(noSecret))).ErrorId);
    }

    // ---------------------------------------------------------------- errors

    [Fact]
    public async Task No_engine_and_no_registry_is_StorageUnavailable_and_nothing_is_registered()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var build = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, Storage(registry: null, host: DockerTestServer.NoEngine)));
        Assert.Equal(ErrorIds.StorageUnavailable, build.ErrorId);
        Assert.Contains(DockerTestServer.NoEngine, build.Message, StringComparison.Ordinal);

        var read = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, Storage("flows/etl", tag: "1", registry: null, host: DockerTestServer.NoEngine)));
        Assert.Equal(ErrorIds.StorageUnavailable, read.ErrorId);
        Assert.Contains("no registry", read.Message, StringComparison.Ordinal);
        await AssertNothingRegisteredAsync();

        // A registry nobody listens on, and no engine: StorageUnavailable naming the registry.
        var port = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        port.Start();
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)port.LocalEndpoint).Port}";
        port.Stop();
        var unreachable = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(Storage("flows/etl", tag: "1", registry: url, host: DockerTestServer.NoEngine)));
        Assert.Equal(ErrorIds.StorageUnavailable, unreachable.ErrorId);
        Assert.Contains(new Uri(url).Authority, unreachable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_image_that_is_not_there_is_StorageNotFound_through_the_engine_and_the_registry()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var image = DockerTestServer.NewImageName("missing");
        var engine = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, Storage(image, tag: "1.0")));
        Assert.Equal(ErrorIds.StorageNotFound, engine.ErrorId);
        Assert.Contains($"{image}:1.0", engine.Message, StringComparison.Ordinal);
        Assert.Equal(FlowHint.PublishScript(), engine.Hint);
        Assert.DoesNotContain("Publish-FlowScript", engine.Message, StringComparison.Ordinal);
        await AssertNothingRegisteredAsync();

        var registry = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(Storage(image, tag: "1.0", host: DockerTestServer.NoEngine)));
        Assert.Equal(ErrorIds.StorageNotFound, registry.ErrorId);
        Assert.Contains($"{image}:1.0", registry.Message, StringComparison.Ordinal);

        // Without a registry, the engine's own images only.
        var local2 = await Assert.ThrowsAsync<FlowstoreException>(() => FetchAsync(Storage(image, tag: "1.0", registry: null)));
        Assert.Equal(ErrorIds.StorageNotFound, local2.ErrorId);
    }

    [Fact]
    public async Task A_failing_build_names_its_step_and_nothing_is_pushed_or_registered()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var dockerfile = Write("image/Dockerfile", "FROM scratch\nCOPY no-such-file /somewhere\n");
        var image = DockerTestServer.NewImageName("broken");
        var storage = Storage(image, tag: "1.0", dockerfile: dockerfile);

        var failed = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, storage));
        Assert.Equal(ErrorIds.StoragePublishFailed, failed.ErrorId);
        Assert.Contains("Step 2/", failed.Message, StringComparison.Ordinal);
        Assert.Contains("COPY no-such-file", failed.Message, StringComparison.Ordinal);
        await AssertNothingRegisteredAsync();
        Assert.Null(await DockerTestServer.RegistryDigestAsync(DockerTestServer.RegistryUrl, image, "1.0"));
    }

    [Fact]
    public async Task A_built_image_whose_script_has_another_structure_is_never_pushed_nor_registered()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var other = Write("other/etl.cs", Scripts.Etl("v1", extraTask: true));
        var image = DockerTestServer.NewImageName("mismatch");
        var storage = Storage(image, tag: "1.0", files: new Dictionary<string, string> { [other] = "/flows/etl.cs" });

        var mismatch = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, storage));
        Assert.Equal(ErrorIds.StoredScriptMismatch, mismatch.ErrorId);
        Assert.Contains($"{image}:1.0:/flows/etl.cs", mismatch.Message, StringComparison.Ordinal);
        await AssertNothingRegisteredAsync();
        Assert.Null(await DockerTestServer.RegistryDigestAsync(DockerTestServer.RegistryUrl, image, "1.0"));
        Assert.False(await DockerTestServer.EngineHasImageAsync($"{DockerTestServer.HostPort(DockerTestServer.RegistryUrl)}/{image}:1.0"));
    }

    [Fact]
    public async Task A_build_without_a_registry_stays_in_the_engine_with_the_image_id_as_version()
    {
        var local = Write("etl.cs", Scripts.Etl("local engine"));
        var image = DockerTestServer.NewImageName("local");
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, Storage(image, registry: null, files: new Dictionary<string, string> { ["etl.cs"] = "/flows/etl.cs" }))).Status);
        var recorded = await RecordedStorageAsync();
        Assert.Matches(Digest(), recorded.ImageDigest);
        var run = await RunAsync();
        Assert.Equal(new[] { "local engine 1,2,3" }, await OutputAsync(run));
        Assert.Equal(recorded.ImageDigest, run.StorageVersion);
        Assert.True(await DockerTestServer.EngineHasImageAsync($"{image}:{recorded.ImageTag}"));
    }
}
