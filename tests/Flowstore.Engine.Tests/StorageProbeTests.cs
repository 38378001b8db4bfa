using Flowstore.Storage.Probe;

namespace Flowstore.Engine.Tests;

/// <summary>
/// A storage type that only a test project defines (tests/Flowstore.Storage.Probe: one record, one provider, one
/// registration line), loaded through FLOWSTORE_STORAGE_PROVIDERS: the engine serves it, flow scripts can name it,
/// its settings describe themselves and validate in one place.
/// </summary>
public sealed class StorageProbeTests : EngineTestBase
{
    public StorageProbeTests()
    {
        // Before the client exists: the engine reads the variable when it lists its providers.
        Environment.SetEnvironmentVariable(BuiltInStorage.ExtraProvidersVariable, typeof(ProbeStorage).Assembly.Location);
    }

    private static string Script(string message, string? storage = null) => $$"""
        using Flowstore;
        using Flowstore.Storage.Probe;

        var flow = new Flow("probed");
        flow.Task("say", () => { Console.WriteLine("{{message}}"); return "{{message}}"; });
        {{storage}}
        """;

    [Fact]
    public void The_engine_lists_the_extra_type_next_to_the_built_in_ones()
    {
        var names = BuiltInStorage.Types.Select(t => t.Name).ToArray();
        Assert.Contains("Probe", names);
        Assert.Subset(names.ToHashSet(), new HashSet<string> { "Bitbucket", "Docker", "Gcs", "Git", "GitHub", "GitLab", "Local", "S3", "Probe" });
        Assert.Contains(typeof(ProbeStorage).Assembly, BuiltInStorage.SettingsAssemblies);
    }

    [Fact]
    public void Its_settings_describe_themselves()
    {
        var type = Assert.Single(BuiltInStorage.Types, t => t.Name == "Probe");
        Assert.Equal(["Shelf", "Name", "Color", "TokenSecret"], type.Settings.Select(s => s.Name));
        var shelf = type.Settings[0];
        Assert.True(shelf.Mandatory);
        Assert.Equal(StorageSettingPath.File, shelf.LocalPath);
        Assert.Equal("The folder the probe keeps its script copies in.", shelf.HelpMessage);
        Assert.Equal(["Blue", "Green"], type.Settings[2].ValidValues);
        Assert.True(type.Settings[3].Secret);
        Assert.Equal(["PROBE_TOKEN"], new ProbeStorage("shelf", tokenSecret: "PROBE_TOKEN").SecretNames);
    }

    [Fact]
    public void Create_completes_local_paths_and_validates_with_a_hint_naming_the_setting()
    {
        var created = Assert.IsType<ProbeStorage>(StorageSettings.Create("probe",
            new Dictionary<string, object?> { ["shelf"] = "copies", ["Color"] = "Green" }, path => "/base/" + path));
        Assert.Equal(new ProbeStorage("/base/copies", color: "Green"), created);

        var badName = Assert.Throws<FlowstoreException>(() => StorageSettings.Create("Probe",
            new Dictionary<string, object?> { ["Shelf"] = "s", ["Name"] = "flow.txt" }));
        Assert.Equal(ErrorIds.StorageInvalid, badName.ErrorId);
        Assert.Contains("'flow.txt' must end in .cs", badName.Message);
        Assert.Equal(FlowHint.StorageSetting("Probe", "Name"), badName.Hint);

        var badColor = Assert.Throws<FlowstoreException>(() => new ProbeStorage("s", color: "Red").Validate());
        Assert.Equal(FlowHint.StorageSetting("Probe", "Color"), badColor.Hint);
        Assert.Contains("Blue, Green", badColor.Message);

        var noShelf = Assert.Throws<FlowstoreException>(() => new ProbeStorage().Validate());
        Assert.Equal(FlowHint.StorageSetting("Probe", "Shelf"), noShelf.Hint);

        var unknown = Assert.Throws<FlowstoreException>(() => StorageSettings.Create("Probe", new Dictionary<string, object?> { ["Bucket"] = "b" }));
        Assert.Contains("Shelf, Name, Color, TokenSecret", unknown.Message);
    }

    [Fact]
    public void Saved_settings_read_back_equal()
    {
        var probe = new ProbeStorage("/shelf", "a.cs", "Blue", "T");
        Assert.Equal(probe, StorageTypes.Deserialize(probe.ToJson()));
        Assert.Equal(probe with { Color = "Green" }, StorageTypes.Deserialize((probe with { Color = "Green" }).ToJson()));
    }

    [Fact]
    public async Task A_flow_script_names_the_type_registration_copies_and_runs_read_the_copy()
    {
        var shelf = Path.Combine(Home, "..", "shelf");
        var path = WriteScript("probed.cs", Script("from the file", $"flow.Storage = new ProbeStorage(shelf: @\"{shelf}\", color: \"Green\");"));
        var registration = await RegisterOneAsync(path);
        Assert.StartsWith("Probe Green ", registration.Storage!.ToString());
        var copy = Path.Combine(Path.GetFullPath(shelf), "probed.cs");
        Assert.True(File.Exists(copy));

        var record = await Client.GetFlowAsync("probed", Project);
        File.WriteAllText(copy, Script("from the shelf", $"flow.Storage = new ProbeStorage(shelf: @\"{shelf}\", color: \"Green\");"));
        var run = await Client.RunAsync(record, null);
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal("from the shelf", run.Results["say"]);
    }

    [Fact]
    public async Task Settings_given_at_registration_are_used_too()
    {
        var path = WriteScript("probed.cs", Script("given"));
        var shelf = Path.Combine(Home, "..", "given-shelf");
        await RegisterOneAsync(path, new RegisterOptions { Project = Project, Storage = new ProbeStorage(shelf, "renamed.cs") });
        Assert.True(File.Exists(Path.Combine(Path.GetFullPath(shelf), "renamed.cs")));
        var run = await Client.RunAsync(await Client.GetFlowAsync("probed", Project), null);
        Assert.Equal("given", run.Results["say"]);
    }
}
