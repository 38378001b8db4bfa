using System.Text.RegularExpressions;
using Flowstore.Engine;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.S3.Tests;

/// <summary>
/// Flows of one file that share one S3 storage instance (here the one storage given for the file, as
/// Register-Flow -Storage does) are stored once: one object serves them all.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3SharedStorageTests() : FlowHomeTests("flowstore-s3-tests")
{
    private string Bucket { get; set; } = "";

    protected override async Task ArrangeAsync() => Bucket = await S3TestServer.ConnectAsync(Client);

    private static string Pair(string message) => $$"""
        using Flowstore;

        var first = new Flow("first");
        first.Task("one", () => Console.WriteLine("{{message}} first"));
        var second = new Flow("second");
        second.Task("two", () => Console.WriteLine("{{message}} second"));
        """;

    private async Task<string[]> OutputAsync(string flow)
    {
        var run = await Client.RunNowAsync(await Client.GetFlowAsync(flow, Project), null, null);
        Assert.Equal(RunState.Success, run.State);
        return (await Client.GetRunLogAsync(run.Id)).Where(l => l.Level == "Output").Select(l => l.Message).ToArray();
    }

    [Fact]
    public async Task Two_flows_registered_with_one_script_storage_without_a_key_upload_one_object_and_an_edit_of_it_changes_both()
    {
        var path = Write("pair.cs", Pair("v1"));
        var options = new RegisterOptions { Project = Project, Storage = S3TestServer.Storage(Bucket) };
        var plans = await Client.PlanAsync(path, options, Log.Add);
        Assert.Equal(2, plans.Count);
        foreach (var plan in plans)
        {
            Assert.Equal(RegistrationStatus.Registered, (await Client.ApplyAsync(plan, options, Log.Add)).Status);
        }

        var stored = Assert.Single(await S3TestServer.ListAsync(Bucket));
        Assert.Matches(new Regex(@"^pair/\d{8}T\d{6}Z$"), stored.Key);
        foreach (var name in new[] { "first", "second" })
        {
            var storage = (S3Storage)StorageTypes.Deserialize((await Client.GetFlowAsync(name, Project)).StorageJson);
            Assert.Equal(stored.Key, storage.Key);
        }
        Assert.Equal(new[] { "v1 first" }, await OutputAsync("first"));

        // Editing "the" object changes both flows' next runs.
        await S3TestServer.PutAsync(Bucket, stored.Key, Pair("v2"));
        Assert.Equal(new[] { "v2 first" }, await OutputAsync("first"));
        Assert.Equal(new[] { "v2 second" }, await OutputAsync("second"));
    }
}
