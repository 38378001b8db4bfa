using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

public sealed class RegistrationTests : EngineTestBase
{
    /// <summary>An ETL flow; <paramref name="factor"/> changes a task body only, <paramref name="extraTask"/> the structure.</summary>
    private static string Etl(int factor = 1, bool extraTask = false, string? marker = null) => $$"""
        using Flowstore;

        {{(marker is null ? "" : $"File.AppendAllText(@\"{marker}\", \"built\\n\");")}}
        var flow = new Flow("etl");
        var data = flow.Task("extract", () => new[] { 1, 2, 3 });
        var load = flow.Task("load", (int[] rows) => rows.Sum() * {{factor}}, data);
        {{(extraTask ? "flow.Task(\"notify\", () => Console.WriteLine(\"done\")).After(load);" : "")}}
        """;

    [Fact]
    public async Task First_registration_is_version_1_and_an_unchanged_one_is_skipped()
    {
        var path = WriteScript("etl.cs", Etl());

        var first = await RegisterOneAsync(path);
        var again = await RegisterOneAsync(path);

        Assert.Equal(RegistrationStatus.Registered, first.Status);
        Assert.Equal(1, first.Version);
        Assert.NotNull(first.Id);
        Assert.Equal("new flow", first.Reason);
        Assert.Equal(RegistrationStatus.Skipped, again.Status);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal(1, again.Version);
        Assert.Equal("metadata unchanged", again.Reason);
        Assert.Single(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
    }

    [Fact]
    public async Task The_registered_record_holds_structure_storage_and_provenance()
    {
        var path = WriteScript("etl.cs", Etl());

        await RegisterOneAsync(path);
        var record = await Client.GetFlowAsync("etl", Project);

        var storage = Assert.IsType<LocalStorage>(StorageTypes.Deserialize(record.StorageJson));
        Assert.True(storage.StoredAsScript); // no storage in the script or the call: the local file, as a script
        Assert.Equal(path, storage.Path);
        Assert.Equal(FlowStructure.Sha256Hex(File.ReadAllText(path)), record.ScriptSha256);
        Assert.Equal(path, record.ScriptPath);
        Assert.Equal(FlowStructure.FromJson(record.StructureJson).Hash, record.StructureHash);
        Assert.Equal(new[] { "extract", "load" }, FlowStructure.FromJson(record.StructureJson).Tasks.Select(t => t.Name));
    }

    [Fact]
    public async Task The_flow_and_its_registration_carry_the_storage_as_settings_and_the_structure_as_objects()
    {
        var path = WriteScript("etl.cs", Etl());

        var registration = await RegisterOneAsync(path);
        var flow = FlowInfo.From(await Client.GetFlowAsync("etl", Project));

        var storage = Assert.IsType<LocalStorage>(flow.Storage);
        Assert.True(storage.StoredAsScript);
        Assert.Equal(path, storage.Path);
        Assert.Equal("Local", flow.StorageType);
        Assert.Equal(new[] { "extract", "load" }, flow.Structure.Tasks.Select(t => t.Name));
        Assert.Equal(new[] { "extract" }, flow.Structure.Tasks[1].Upstream);
        Assert.Equal(flow.StructureHash, flow.Structure.Hash);
        Assert.Equal(storage, Assert.IsType<LocalStorage>(registration.Storage));
        Assert.Equal(flow.Structure.Hash, registration.Structure!.Hash);
        Assert.Equal(new[] { "extract", "load" }, registration.Structure.Tasks.Select(t => t.Name));
    }

    [Fact]
    public async Task The_flow_says_which_API_key_registered_it()
    {
        var path = WriteScript("etl.cs", Etl());
        await RegisterOneAsync(path);
        var record = await Client.GetFlowAsync("etl", Project);

        Assert.Null(FlowInfo.From(record).CreatedBy);
        Assert.Equal("ci-pipeline", FlowInfo.From(record with { CreatedBy = "ci-pipeline" }).CreatedBy);
    }

    [Fact]
    public async Task A_flow_whose_storage_type_is_not_known_here_is_still_listed_and_keeps_its_settings()
    {
        var path = WriteScript("etl.cs", Etl());
        await RegisterOneAsync(path);
        var saved = """{"type":"Martian","crater":"olympus"}""";
        var flow = FlowInfo.From(await Client.GetFlowAsync("etl", Project) with { StorageJson = saved });

        Assert.Equal("Martian", flow.StorageType);
        Assert.Equal(saved, flow.Storage.ToJson());
        Assert.Contains("not know", flow.Storage.ToString());
    }

    [Fact]
    public async Task A_change_of_task_body_only_is_skipped_for_script_storage()
    {
        var path = WriteScript("etl.cs", Etl(factor: 1));
        var first = await RegisterOneAsync(path);

        File.WriteAllText(path, Etl(factor: 100));
        var second = await RegisterOneAsync(path);

        Assert.Equal(RegistrationStatus.Skipped, second.Status);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(1, second.Version);
    }

    [Fact]
    public async Task A_change_of_structure_registers_version_2_with_the_diff()
    {
        var path = WriteScript("etl.cs", Etl());
        var first = await RegisterOneAsync(path);

        File.WriteAllText(path, Etl(extraTask: true));
        var second = await RegisterOneAsync(path);

        Assert.Equal(RegistrationStatus.Registered, second.Status);
        Assert.Equal(2, second.Version);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(new[] { "notify" }, second.TasksAdded);
        Assert.Equal(new[] { "notify" }, second.Diff!.TasksAdded);
        Assert.Contains("load -> notify (order)", second.Diff.EdgesAdded);
        Assert.Contains("structure changed", second.Reason);
        Assert.Contains("notify", second.Reason);

        var versions = await Client.GetFlowsAsync(new FlowQuery { Project = Project, Name = "etl", IncludeArchived = true });
        Assert.Equal(new[] { (2, false), (1, true) }, versions.Select(v => (v.Version, v.Archived)));
        Assert.Equal(second.Id, (await Client.GetFlowAsync("etl", Project)).Id);
    }

    [Fact]
    public async Task Force_registers_a_new_version_of_an_unchanged_flow()
    {
        var path = WriteScript("etl.cs", Etl());
        var first = await RegisterOneAsync(path);

        var forced = await RegisterOneAsync(path, new RegisterOptions { Project = Project, Force = true });

        Assert.Equal(RegistrationStatus.Registered, forced.Status);
        Assert.Equal(2, forced.Version);
        Assert.NotEqual(first.Id, forced.Id);
        Assert.Null(forced.Diff);
    }

    [Fact]
    public async Task A_change_of_labels_registers_a_new_version_and_their_order_does_not_matter()
    {
        var path = WriteScript("etl.cs", Etl());
        await RegisterOneAsync(path);

        var labelled = await RegisterOneAsync(path, new RegisterOptions { Project = Project, Labels = new[] { "prod", "etl" } });
        var reordered = await RegisterOneAsync(path, new RegisterOptions { Project = Project, Labels = new[] { "etl", "prod" } });

        Assert.Equal(RegistrationStatus.Registered, labelled.Status);
        Assert.Equal(2, labelled.Version);
        Assert.Contains("labels changed", labelled.Reason);
        Assert.Equal(RegistrationStatus.Skipped, reordered.Status);
        Assert.Equal(labelled.Id, reordered.Id);
        Assert.Equal(new[] { "etl", "prod" }, (await Client.GetFlowAsync("etl", Project)).Labels);
    }

    [Fact]
    public async Task A_change_of_storage_registers_a_new_version()
    {
        var path = WriteScript("etl.cs", Etl());
        await RegisterOneAsync(path);

        var frozen = await RegisterOneAsync(path, new RegisterOptions { Project = Project, Storage = new LocalStorage(storedAsScript: false) });

        Assert.Equal(RegistrationStatus.Registered, frozen.Status);
        Assert.Equal(2, frozen.Version);
        Assert.Contains("storage changed", frozen.Reason);
        // What changed, not the two descriptions side by side.
        Assert.Contains("StoredAsScript True -> False", frozen.Reason);
    }

    [Fact]
    public async Task Looking_up_a_flow_in_a_missing_project_is_ProjectNotFound_naming_the_projects_there_are()
    {
        await RegisterOneAsync(WriteScript("etl.cs", Etl()));

        var missingProject = await Assert.ThrowsAsync<FlowstoreException>(() => Client.GetFlowAsync("etl", "Nope"));
        var missingFlow = await Assert.ThrowsAsync<FlowstoreException>(() => Client.GetFlowAsync("nothing", Project));

        Assert.Equal(ErrorIds.ProjectNotFound, missingProject.ErrorId);
        Assert.Equal("Nope", missingProject.Target);
        Assert.Contains("Project 'Nope' does not exist", missingProject.Message);
        Assert.Contains($"projects: '{Project}'", missingProject.Message);
        Assert.Null(missingProject.Hint);
        Assert.Equal(ErrorIds.FlowNotFound, missingFlow.ErrorId);
    }

    [Fact]
    public async Task Registering_into_a_missing_project_is_ProjectNotFound()
    {
        var path = WriteScript("etl.cs", Etl());

        var ensure = await Assert.ThrowsAsync<FlowstoreException>(() => Client.EnsureProjectAsync("Missing", create: false));
        var register = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, new RegisterOptions { Project = "Missing" }));

        Assert.Equal(ErrorIds.ProjectNotFound, ensure.ErrorId);
        Assert.Contains("'Missing'", ensure.Message);
        Assert.Equal(ErrorIds.ProjectNotFound, register.ErrorId);
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { IncludeArchived = true }));
    }

    [Fact]
    public async Task EnsureProject_with_create_creates_the_project_once()
    {
        var created = await Client.EnsureProjectAsync("New", create: true);
        var again = await Client.EnsureProjectAsync("new", create: true);

        Assert.Equal("New", created.Name);
        Assert.Equal(created.Id, again.Id);
        Assert.Contains(await Client.GetProjectsAsync(), p => p.Name == "New");

        var path = WriteScript("etl.cs", Etl());
        Assert.Equal(RegistrationStatus.Registered, (await RegisterOneAsync(path, new RegisterOptions { Project = "New" })).Status);
    }

    [Fact]
    public async Task Names_select_flows_of_a_file_and_an_unknown_name_lists_the_flows()
    {
        var path = WriteScript("two.cs", """
            using Flowstore;
            new Flow("alpha").Task("a", () => 1);
            new Flow("beta").Task("b", () => 2);
            """);

        var selected = await RegisterAsync(path, new RegisterOptions { Project = Project, Names = new[] { "BETA" } });
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, new RegisterOptions { Project = Project, Names = new[] { "gamma" } }));

        Assert.Equal("beta", Assert.Single(selected).Name);
        Assert.Equal(new[] { "beta" }, (await Client.GetFlowsAsync(new FlowQuery { Project = Project })).Select(f => f.Name));
        Assert.Equal(ErrorIds.FlowNotFoundInScript, e.ErrorId);
        Assert.Contains("'gamma'", e.Message);
        Assert.Contains("found: alpha, beta", e.Message);

        var all = await RegisterAsync(path);
        Assert.Equal(new[] { (RegistrationStatus.Registered, "alpha"), (RegistrationStatus.Skipped, "beta") }, all.Select(r => (r.Status, r.Name)));
    }

    [Fact]
    public async Task Re_registering_an_unchanged_file_neither_compiles_nor_runs_it()
    {
        // The script's top level appends to a marker file each time it is run (i.e. each time flows are built).
        var marker = Temp.File("built.txt");
        var path = WriteScript("etl.cs", Etl(marker: marker));
        await RegisterOneAsync(path);
        Assert.Single(File.ReadAllLines(marker));

        // A new client on the same home, as a new PowerShell session would have.
        var log = new List<string>();
        var second = await RegisterAsync(NewClient(), path, new RegisterOptions { Project = Project }, log.Add);

        Assert.Equal(RegistrationStatus.Skipped, Assert.Single(second).Status);
        Assert.Single(File.ReadAllLines(marker)); // the script did not run again
        Assert.Contains(log, l => l.Contains("using its cached structure"));
        Assert.DoesNotContain(log, l => l.StartsWith("Compiling"));

        // The observable can fail: a changed file is compiled and run.
        File.WriteAllText(path, Etl(factor: 2, marker: marker));
        log.Clear();
        await RegisterAsync(NewClient(), path, new RegisterOptions { Project = Project }, log.Add);
        Assert.Equal(2, File.ReadAllLines(marker).Length);
        Assert.Contains(log, l => l.StartsWith("Compiling"));
    }

    [Fact]
    public async Task A_fresh_compile_cache_skips_files_the_backend_has_registered_unchanged_without_compiling_them()
    {
        // The script's top level appends to a marker file each time it is run; the registrar logs each compile.
        var marker = Temp.File("built.txt");
        var path = WriteScript("etl.cs", Etl(marker: marker));
        var first = await RegisterOneAsync(path);
        Assert.Single(File.ReadAllLines(marker));
        var cache = Path.Combine(Home, "cache");
        Assert.True(Directory.Exists(Path.Combine(cache, "structure")));
        var log = new List<string>();
        async Task<FlowRegistration> RegisterOnFreshAgentAsync(RegisterOptions options)
        {
            // A fresh CI agent: the same backend, an empty compile cache.
            if (Directory.Exists(cache))
            {
                Directory.Delete(cache, recursive: true);
            }
            log.Clear();
            return Assert.Single(await RegisterAsync(NewClient(), path, options, log.Add));
        }

        var again = await RegisterOnFreshAgentAsync(new RegisterOptions { Project = Project });

        Assert.Equal(RegistrationStatus.Skipped, again.Status);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal(1, again.Version);
        Assert.Equal("metadata unchanged", again.Reason);
        Assert.Equal(first.StructureHash, again.StructureHash);
        Assert.Single(File.ReadAllLines(marker)); // neither compiled nor run
        Assert.DoesNotContain(log, l => l.StartsWith("Compiling"));
        Assert.Contains(log, l => l.Contains("registered unchanged"));

        // Other options feed the registration: labels given for the file are compiled and registered.
        var labelled = await RegisterOnFreshAgentAsync(new RegisterOptions { Project = Project, Labels = ["ci"] });
        Assert.Equal(RegistrationStatus.Registered, labelled.Status);
        Assert.Equal(2, labelled.Version);
        Assert.Contains(log, l => l.StartsWith("Compiling"));

        // A changed file is compiled and registered.
        File.WriteAllText(path, Etl(extraTask: true, marker: marker));
        var changed = await RegisterOnFreshAgentAsync(new RegisterOptions { Project = Project, Labels = ["ci"] });
        Assert.Equal(RegistrationStatus.Registered, changed.Status);
        Assert.Equal(3, changed.Version);
        Assert.Contains(log, l => l.StartsWith("Compiling"));

        // Forced: compiled and registered again even though nothing changed.
        var forced = await RegisterOnFreshAgentAsync(new RegisterOptions { Project = Project, Labels = ["ci"], Force = true });
        Assert.Equal(RegistrationStatus.Registered, forced.Status);
        Assert.Contains(log, l => l.StartsWith("Compiling"));

        // The forced version carries the same input: found unchanged from then on, without compiling.
        var builds = File.ReadAllLines(marker).Length;
        var skipped = await RegisterOnFreshAgentAsync(new RegisterOptions { Project = Project, Labels = ["ci"] });
        Assert.Equal(RegistrationStatus.Skipped, skipped.Status);
        Assert.Equal(forced.Version, skipped.Version);
        Assert.DoesNotContain(log, l => l.StartsWith("Compiling"));
        Assert.Equal(builds, File.ReadAllLines(marker).Length);
    }

    /// <summary>A flow script whose top level appends to <paramref name="marker"/> when it is run; its storage is a Local file at a fixed place, or the file itself.</summary>
    private static string Portable(string flow, string marker, string? storedAt) => $$"""
        using Flowstore;

        File.AppendAllText(@"{{marker}}", "{{flow}}\n");
        var flow = new Flow("{{flow}}");
        var data = flow.Task("extract", () => new[] { 1, 2, 3 });
        flow.Task("load", (int[] rows) => rows.Sum(), data);
        {{(storedAt is null ? "" : $"flow.Storage = new LocalStorage(path: @\"{storedAt}\", storedAsScript: true);")}}
        """;

    /// <summary>Registers every .cs file below a folder as Register-Flow does with the folder: one lookup, then plan and apply each file.</summary>
    private static async Task<List<FlowRegistration>> RegisterFolderAsync(FlowClient client, string folder, List<string> log)
    {
        var options = new RegisterOptions { Project = Project };
        var files = Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => new RegistrationSource(f, folder)).ToArray();
        var lookup = await client.LookUpUnchangedAsync(files, options, log.Add);
        var results = new List<FlowRegistration>();
        foreach (var file in files)
        {
            foreach (var plan in await client.PlanAsync(file, options, lookup, log.Add))
            {
                results.Add(await client.ApplyAsync(plan, options, log.Add));
            }
        }
        return results;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public async Task A_checkout_in_another_folder_on_a_fresh_home_asks_once_and_skips_its_unchanged_files_without_compiling()
    {
        // A CI agent checks the repository out into a new folder each time, with a new home (empty caches); the
        // backend is shared (a server in team mode; here the first home's SQLite file).
        var marker = Temp.File("built.txt");
        var shared = Temp.File("shared");
        var checkoutA = Temp.File("agent/1/s");
        foreach (var (file, flow) in new[] { ("etl.cs", "etl"), ("sub/load.cs", "load") })
        {
            // Stored at a fixed place: the same storage wherever the file is checked out.
            Temp.Write(Path.Combine("shared", flow + ".cs"), Portable(flow, marker, Path.Combine(shared, flow + ".cs")));
            Temp.Write(Path.Combine("agent/1/s", file), Portable(flow, marker, Path.Combine(shared, flow + ".cs")));
        }
        // The file itself is its storage (default Local): where it is checked out is part of its registration.
        Temp.Write("agent/1/s/local.cs", Portable("local", marker, null));
        // The same text at two relative paths (its storage a fixed place).
        Temp.Write("agent/1/s/x/same.cs", Portable("same", marker, Path.Combine(shared, "same.cs")));
        Temp.Write("agent/1/s/y/same.cs", Portable("same", marker, Path.Combine(shared, "same.cs")));
        Temp.Write("shared/same.cs", Portable("same", marker, Path.Combine(shared, "same.cs")));
        var firstLog = new List<string>();
        var first = await RegisterFolderAsync(Client, checkoutA, firstLog);
        Assert.Equal(new[] { "etl", "local", "load", "same", "same" }, first.Select(r => r.Name));
        Assert.Equal(new[] { RegistrationStatus.Registered, RegistrationStatus.Registered, RegistrationStatus.Registered, RegistrationStatus.Registered, RegistrationStatus.Skipped },
            first.Select(r => r.Status));
        Assert.Equal(4, File.ReadAllLines(marker).Length); // y/same.cs has x/same.cs's text: compiled once

        // Agent 2: the same files in another folder, a fresh home, a backend that counts the lookups.
        var checkoutB = Temp.File("agent/2/s");
        CopyFolder(checkoutA, checkoutB);
        var (client, lookups) = FreshAgent("home2");
        var log = new List<string>();
        var second = await RegisterFolderAsync(client, checkoutB, log);

        var lookup = Assert.Single(lookups); // one request for all five files, before anything was compiled
        Assert.Equal(10, lookup.Count); // each file's relative and full-path input
        Assert.Contains(log, l => l.Contains("about 5 file(s) in one request: 3 registered unchanged", StringComparison.Ordinal));
        var byPath = second.ToDictionary(r => Path.GetRelativePath(checkoutB, r.Path).Replace('\\', '/'));
        foreach (var unchanged in new[] { "etl.cs", "sub/load.cs", "x/same.cs" })
        {
            var result = byPath[unchanged];
            Assert.Equal(RegistrationStatus.Skipped, result.Status);
            Assert.Equal("metadata unchanged", result.Reason);
            Assert.Equal(first.First(r => r.Name == result.Name).Version, result.Version);
            Assert.DoesNotContain(log, l => l.StartsWith($"Compiling '{Path.Combine(checkoutB, unchanged)}'", StringComparison.Ordinal));
        }
        // Equal text at another relative path is not taken for the other file: it is compiled (and its registration is unchanged).
        Assert.Contains(log, l => l.StartsWith($"Compiling '{Path.Combine(checkoutB, "y", "same.cs")}'", StringComparison.Ordinal));
        Assert.True(byPath["y/same.cs"].Status == RegistrationStatus.Skipped, byPath["y/same.cs"].Reason + " v" + byPath["y/same.cs"].Version);
        // The file that is its own storage moved with the checkout: compiled and registered with the new place.
        Assert.Contains(log, l => l.StartsWith($"Compiling '{Path.Combine(checkoutB, "local.cs")}'", StringComparison.Ordinal));
        Assert.Equal(RegistrationStatus.Registered, byPath["local.cs"].Status);
        Assert.Equal(2, byPath["local.cs"].Version);
        Assert.Equal(Path.Combine(checkoutB, "local.cs"), Assert.IsType<LocalStorage>(StorageTypes.Deserialize((await client.GetFlowAsync("local", Project)).StorageJson)).Path);

        // Agent 3: a file moved within the repository is compiled, not answered from its old place's registration.
        var checkoutC = Temp.File("agent/3/s");
        CopyFolder(checkoutB, checkoutC);
        Directory.CreateDirectory(Path.Combine(checkoutC, "moved"));
        File.Move(Path.Combine(checkoutC, "etl.cs"), Path.Combine(checkoutC, "moved", "etl.cs"));
        var (third, _) = FreshAgent("home3");
        log.Clear();
        var moved = (await RegisterFolderAsync(third, checkoutC, log)).Single(r => r.Name == "etl");
        Assert.Contains(log, l => l.StartsWith($"Compiling '{Path.Combine(checkoutC, "moved", "etl.cs")}'", StringComparison.Ordinal));
        Assert.Equal(RegistrationStatus.Skipped, moved.Status); // its registration (structure, storage) is the same
        Assert.DoesNotContain(log, l => l.StartsWith($"Compiling '{Path.Combine(checkoutC, "sub", "load.cs")}'", StringComparison.Ordinal));
    }

    /// <summary>A client on a new home over this test's backend (the first home's SQLite file), and the inputs of each unchanged-registration lookup it makes.</summary>
    private (FlowClient Client, List<IReadOnlyList<string>> Lookups) FreshAgent(string home)
    {
        var lookups = new List<IReadOnlyList<string>>();
        var backend = RecordingBackend.Wrap(new Flowstore.Backend.Sqlite.SqliteFlowBackend(Path.Combine(Home, Flowstore.Backend.Sqlite.SqliteFlowBackend.DefaultFileName)),
            (method, args) =>
            {
                if (method == nameof(IFlowBackend.FindUnchangedRegistrationsAsync))
                {
                    lookups.Add(((IReadOnlyList<string>)args![1]!).ToArray());
                }
            });
        var client = new FlowClient(new FlowClientOptions { Home = Temp.File(home), Backend = backend });
        Own(backend);
        return (Own(client), lookups);
    }

    [Fact]
    public async Task Plan_describes_without_writing_anything()
    {
        var path = WriteScript("etl.cs", Etl());

        var plan = Assert.Single(await Client.PlanAsync(path, new RegisterOptions { Project = Project }));

        Assert.True(plan.WillRegister);
        Assert.Equal(1, plan.Version);
        Assert.Equal("new flow", plan.Reason);
        Assert.Null(plan.Latest);
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { IncludeArchived = true }));
    }

    [Fact]
    public async Task A_missing_script_is_ScriptNotFound()
    {
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.PlanAsync(Temp.File("nope.cs"), new RegisterOptions { Project = Project }));
        Assert.Equal(ErrorIds.ScriptNotFound, e.ErrorId);
    }
}
