using System.Text.RegularExpressions;
using Flowstore.Engine;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.S3.Tests;

/// <summary>
/// Flows of one file that share one S3 storage instance (here the one storage given for the file, as
/// Register-Flow -Storage does) are stored once: one object serves them all.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3SharedStorageTests : IAsyncLifetime
{
    private const string Project = "P";
    private readonly FlowHome _home = new("flowstore-s3-tests");
    private readonly List<string> _log = new();
    private FlowClient _client = null!;
    private string _bucket = "";

    public async Task InitializeAsync()
    {
        _client = _home.Client;
        await _client.EnsureProjectAsync(Project, create: true);
        await _client.SetSecretAsync(S3TestServer.CredentialsSecret, S3TestServer.CredentialsJson);
        _bucket = await S3TestServer.NewBucketAsync();
    }

    public Task DisposeAsync()
    {
        _home.Dispose();
        return Task.CompletedTask;
    }

    private static string Pair(string message) => $$"""
        using Flowstore;

        var first = new Flow("first");
        first.Task("one", () => Console.WriteLine("{{message}} first"));
        var second = new Flow("second");
        second.Task("two", () => Console.WriteLine("{{message}} second"));
        """;

    private async Task<string[]> OutputAsync(string flow)
    {
        var run = await _client.RunNowAsync(await _client.GetFlowAsync(flow, Project), null, null);
        Assert.Equal(RunState.Success, run.State);
        return (await _client.GetRunLogAsync(run.Id)).Where(l => l.Level == "Output").Select(l => l.Message).ToArray();
    }

    [Fact]
    public async Task Two_flows_registered_with_one_script_storage_without_a_key_upload_one_object_and_an_edit_of_it_changes_both()
    {
        var path = Path.Combine(_home.Folder, "pair.cs");
        File.WriteAllText(path, Pair("v1"));
        var options = new RegisterOptions { Project = Project, Storage = S3TestServer.Storage(_bucket) };
        var plans = await _client.PlanAsync(path, options, _log.Add);
        Assert.Equal(2, plans.Count);
        foreach (var plan in plans)
        {
            Assert.Equal(RegistrationStatus.Registered, (await _client.ApplyAsync(plan, options, _log.Add)).Status);
        }

        var stored = Assert.Single(await S3TestServer.ListAsync(_bucket));
        Assert.Matches(new Regex(@"^pair/\d{8}T\d{6}Z$"), stored.Key);
        foreach (var name in new[] { "first", "second" })
        {
            var storage = (S3Storage)StorageTypes.Deserialize((await _client.GetFlowAsync(name, Project)).StorageJson);
            Assert.Equal(stored.Key, storage.Key);
        }
        Assert.Equal(new[] { "v1 first" }, await OutputAsync("first"));

        // Editing "the" object changes both flows' next runs.
        await S3TestServer.PutAsync(_bucket, stored.Key, Pair("v2"));
        Assert.Equal(new[] { "v2 first" }, await OutputAsync("first"));
        Assert.Equal(new[] { "v2 second" }, await OutputAsync("second"));
    }
}
