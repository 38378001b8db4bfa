using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>Publishing a script on its own, and the check registration makes of a stored script.</summary>
public sealed class PublishTests : EngineTestBase
{
    private static string Etl(int factor = 1, bool extraTask = false) => $$"""
        using Flowstore;

        var flow = new Flow("etl");
        var data = flow.Task("extract", () => new[] { 1, 2, 3 });
        var load = flow.Task("load", (int[] rows) => rows.Sum() * {{factor}}, data);
        {{(extraTask ? "flow.Task(\"notify\", () => Console.WriteLine(\"done\")).After(load);" : "")}}
        """;

    [Fact]
    public async Task Publishing_to_local_script_storage_copies_the_script_and_the_publication_registers_and_runs()
    {
        var path = WriteScript("src/etl.cs", Etl(factor: 2));
        var shared = Temp.File("share/flows/etl.cs");

        var published = await Client.PublishAsync(path, new PublishOptions { Storage = new LocalStorage(path: shared, storedAsScript: true) });

        Assert.Equal("etl", published.Flow);
        Assert.Equal(path, published.Path);
        Assert.Equal(shared, published.Location);
        Assert.Equal(File.ReadAllText(path), File.ReadAllText(shared));
        Assert.Equal(shared, Assert.IsType<LocalStorage>(published.Storage).Path);
        Assert.Matches("/" + new FileInfo(shared).Length + "$", published.StorageVersion);

        var registered = await RegisterOneAsync(path, new RegisterOptions { Project = Project, Storage = published.Storage });
        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        var run = await Client.RunAsync(await Client.GetFlowAsync("etl", Project), null);
        Assert.Equal(12L, Convert.ToInt64(run.Results["load"]));
    }

    [Fact]
    public async Task Publishing_an_unchanged_script_again_leaves_the_stored_copy_alone()
    {
        var path = WriteScript("src/etl.cs", Etl());
        var shared = Temp.File("share/etl.cs");
        var storage = new LocalStorage(path: shared, storedAsScript: true);
        var first = await Client.PublishAsync(path, new PublishOptions { Storage = storage });
        var writeTime = File.GetLastWriteTimeUtc(shared);

        var second = await Client.PublishAsync(path, new PublishOptions { Storage = storage });

        Assert.Equal(writeTime, File.GetLastWriteTimeUtc(shared));
        Assert.Equal(first.StorageVersion, second.StorageVersion);
    }

    [Fact]
    public async Task Publishing_with_no_storage_anywhere_names_the_flow_and_file()
    {
        var path = WriteScript("etl.cs", Etl());

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.PublishAsync(path, new PublishOptions()));

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("'etl'", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task Publishing_to_local_script_storage_without_a_path_says_what_is_missing()
    {
        var path = WriteScript("etl.cs", Etl());

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.PublishAsync(path, new PublishOptions { Storage = new LocalStorage(storedAsScript: true) }));

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("needs a path", e.Message);
        Assert.Equal(FlowHint.StorageSetting("Local", "Path"), e.Hint);
    }

    [Fact]
    public async Task Registration_refuses_a_stored_script_whose_structure_differs_and_records_nothing()
    {
        var path = WriteScript("src/etl.cs", Etl(extraTask: true));
        var stored = WriteScript("share/etl.cs", Etl());

        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            RegisterAsync(path, new RegisterOptions { Project = Project, Storage = new LocalStorage(path: stored, storedAsScript: true) }));

        Assert.Equal(ErrorIds.StoredScriptMismatch, e.ErrorId);
        Assert.Contains("tasks added: notify", e.Message);
        Assert.Contains(stored, e.Message);
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
    }

    [Fact]
    public async Task Registration_warns_when_the_stored_script_differs_in_code_only_and_runs_use_the_stored_one()
    {
        var path = WriteScript("src/etl.cs", Etl(factor: 1));
        var stored = WriteScript("share/etl.cs", Etl(factor: 10));
        var warnings = new List<string>();

        var result = Assert.Single(await RegisterAsync(path, new RegisterOptions
        {
            Project = Project,
            Storage = new LocalStorage(path: stored, storedAsScript: true),
            OnWarning = warnings.Add,
        }));

        Assert.Equal(RegistrationStatus.Registered, result.Status);
        var warning = Assert.Single(warnings);
        Assert.Contains("differs from", warning);
        Assert.Contains("runs will use the stored script", warning);
        var run = await Client.RunAsync(await Client.GetFlowAsync("etl", Project), null);
        Assert.Equal(60L, Convert.ToInt64(run.Results["load"]));
    }

    [Fact]
    public async Task Registration_refuses_a_stored_script_that_does_not_declare_the_flow()
    {
        var path = WriteScript("src/etl.cs", Etl());
        var stored = WriteScript("share/other.cs", "using Flowstore;\nvar flow = new Flow(\"other\");\nflow.Task(\"a\", () => 1);\n");

        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            RegisterAsync(path, new RegisterOptions { Project = Project, Storage = new LocalStorage(path: stored, storedAsScript: true) }));

        Assert.Equal(ErrorIds.StoredScriptMismatch, e.ErrorId);
        Assert.Contains("does not declare flow 'etl'", e.Message);
    }

    [Fact]
    public async Task Flow_scripts_can_use_every_built_in_storage_type()
    {
        var path = WriteScript("types.cs", """
            using Flowstore;

            foreach (var type in new[] { typeof(GitHubStorage), typeof(GitLabStorage), typeof(BitbucketStorage), typeof(GitStorage), typeof(S3Storage), typeof(GcsStorage), typeof(DockerStorage) })
            {
                var flow = new Flow("f-" + type.Name.ToLowerInvariant());
                flow.Task("a", () => 1);
            }
            """);

        var flows = await Client.TestScriptAsync(path, null);

        Assert.Equal(7, flows.Count);
        Assert.Subset(StorageTypes.Names.ToHashSet(), new HashSet<string> { "Bitbucket", "Docker", "Gcs", "Git", "GitHub", "GitLab", "Local", "S3" });
    }
}
