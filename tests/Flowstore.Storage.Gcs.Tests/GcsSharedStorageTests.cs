namespace Flowstore.Storage.Gcs.Tests;

/// <summary>Flows of one file that share one GCS storage instance are stored once: one object serves them all.</summary>
public sealed class GcsSharedStorageTests : GcsTestBase
{
    private string Pair(int factor) => $$"""
        using Flowstore;

        var storage = new GcsStorage(bucket: "{{Bucket}}", storedAsScript: true, endpointUrl: "{{Url}}");
        var first = new Flow("first");
        first.Task("one", () => 1 * {{factor}});
        first.Storage = storage;
        var second = new Flow("second");
        second.Task("two", () => 2 * {{factor}});
        second.Storage = storage;
        """;

    [Fact]
    public async Task Two_flows_sharing_a_script_storage_without_a_key_upload_one_object_and_an_edit_of_it_changes_both()
    {
        var path = Write("pair.cs", Pair(1));
        var options = Options(null);
        var plans = await Client.PlanAsync(path, options, Log.Add);
        Assert.Equal(2, plans.Count);
        foreach (var plan in plans)
        {
            Assert.Equal(RegistrationStatus.Registered, (await Client.ApplyAsync(plan, options, Log.Add)).Status);
        }

        // One upload, under a key named after the file, recorded by both flows.
        var stored = Assert.Single(await GcsTestEnvironment.ListAsync(Bucket));
        Assert.Equal("pair/20261128T174500Z", stored.Name);
        foreach (var name in new[] { "first", "second" })
        {
            var storage = Assert.IsType<GcsStorage>(StorageTypes.Deserialize((await Client.GetFlowAsync(name, Project)).StorageJson));
            Assert.Equal(stored.Name, storage.Key);
        }
        Assert.Contains(Log, l => l.Contains("Flow 'second': shares its storage with flow 'first'", StringComparison.Ordinal));

        // Editing "the" object changes both flows' next runs.
        await GcsTestEnvironment.PutAsync(Bucket, stored.Name, Pair(10));
        Assert.Equal(10L, Convert.ToInt64((await Client.RunAsync(await Client.GetFlowAsync("first", Project), null)).Results["one"]));
        Assert.Equal(20L, Convert.ToInt64((await Client.RunAsync(await Client.GetFlowAsync("second", Project), null)).Results["two"]));

        // Registering the unchanged file again uploads nothing.
        foreach (var plan in await Client.PlanAsync(path, options, Log.Add))
        {
            Assert.Equal(RegistrationStatus.Skipped, (await Client.ApplyAsync(plan, options, Log.Add)).Status);
        }
        Assert.Single(await GcsTestEnvironment.ListAsync(Bucket));
    }
}
