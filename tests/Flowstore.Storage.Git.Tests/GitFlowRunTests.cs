using System.Text;
using Flowstore.Engine;

namespace Flowstore.Storage.Git.Tests;

/// <summary>Runs of a flow kept in Git storage, through the engine, against the real smart-HTTP test server.</summary>
public sealed class GitFlowRunTests : IDisposable
{
    private const string FlowPath = "flows/gitflow.cs";
    private const string TokenName = "GIT_RUN_TOKEN";
    private readonly TempFolder _temp = new();
    private readonly TestRepo _repo = TestRepo.Create("trunk");

    private static string Script(string greeting) => $$"""
        using Flowstore;

        var flow = new Flow("gitflow");
        flow.Task("greet", () => Console.WriteLine("{{greeting}}"));
        """;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _repo.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_run_log_starts_with_the_repository_path_requested_branch_resolved_commit_and_SHA256()
    {
        var first = _repo.Commit("trunk", "one", (FlowPath, Script("hello")));
        Directory.CreateDirectory(_temp.Path);
        var local = Path.Combine(_temp.Path, "gitflow.cs");
        File.WriteAllText(local, Script("hello"));
        using var client = new FlowClient(new FlowClientOptions { Home = Path.Combine(_temp.Path, "home") });
        await client.EnsureProjectAsync("P", create: true);
        await client.SetSecretAsync(TokenName, GitTestServer.Token);
        var storage = new GitStorage(_repo.Url, FlowPath, branch: "trunk", tokenSecret: TokenName);
        var options = new RegisterOptions { Project = "P", Storage = storage };
        await client.ApplyAsync(Assert.Single(await client.PlanAsync(local, options)), options);
        var second = _repo.Commit("trunk", "two", (FlowPath, Script("hello again")));

        var run = await client.RunNowAsync(await client.GetFlowAsync("gitflow", "P"), null, null);

        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(second, run.StorageVersion);
        Assert.NotEqual(first, second);
        var log = await client.GetRunLogAsync(run.Id);
        Assert.Equal($"Downloading flow 'gitflow' version 1 from Git storage - Git {_repo.Url} {FlowPath} (branch 'trunk'); requested: branch 'trunk'.", log[0].Message);
        Assert.StartsWith("Flow successfully downloaded from ", log[1].Message);
        Assert.Contains(_repo.Url, log[1].Message);
        Assert.EndsWith($". Using version: {second}; script SHA-256: {FlowStructure.Sha256Hex(Encoding.UTF8.GetBytes(Script("hello again")))}.", log[1].Message);
        Assert.DoesNotContain(log, l => l.Message.Contains(GitTestServer.Token));
    }
}
