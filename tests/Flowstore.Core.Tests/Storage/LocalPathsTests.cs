using Flowstore.Storage.Contract;

namespace Flowstore.Core.Tests.Storage;

/// <summary>Paths written for another operating system: recognised, never joined to a folder here, refused only where used.</summary>
public sealed class LocalPathsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "flowstore-localpaths-" + Guid.NewGuid().ToString("N"));

    public LocalPathsTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(@"C:\flows\x.cs", false, "Windows")]
    [InlineData("c:/flows/x.cs", false, "Windows")]
    [InlineData("D:", false, "Windows")]
    [InlineData(@"\\server\share\x.cs", false, "Windows")]
    [InlineData("/srv/flows/x.cs", false, null)]
    [InlineData("flows/x.cs", false, null)]
    [InlineData("C:flows", false, null)] // a file name with a colon on Linux, not a drive root
    [InlineData("/srv/flows/x.cs", true, "Unix")]
    [InlineData(@"C:\flows\x.cs", true, null)]
    [InlineData(@"\\server\share\x.cs", true, null)]
    [InlineData("//server/share/x.cs", true, null)]
    [InlineData(@"flows\x.cs", true, null)]
    public void A_path_of_another_operating_system_is_recognised(string path, bool windows, string? system)
        => Assert.Equal(system, LocalPaths.ForeignSystem(path, windows));

    [Fact]
    public void A_foreign_path_is_kept_verbatim_and_a_relative_one_is_made_absolute()
    {
        var here = OperatingSystem.IsWindows() ? @"C:\work" : "/work";
        var foreign = OperatingSystem.IsWindows() ? "/srv/flows/x.cs" : @"C:\flows\x.cs";

        Assert.Equal(foreign, LocalPaths.Resolve(foreign, here));
        Assert.Equal(Path.Combine(here, "flows", "x.cs"), LocalPaths.Resolve(Path.Combine("flows", "x.cs"), here));
        Assert.Equal(@"C:\flows\x.cs", LocalPaths.Resolve(@"C:\flows\x.cs", "/tmp/work", windows: false));
        Assert.Equal("/srv/x.cs", LocalPaths.Resolve("/srv/x.cs", @"C:\work", windows: true));
    }

    private static string Foreign => OperatingSystem.IsWindows() ? "/srv/flows/x.cs" : @"C:\flows\x.cs";

    private StorageRegistrationContext Context(string script)
        => new(script, File.ReadAllText(script), FlowStructure.Sha256Hex(File.ReadAllText(script)), "etl", "etl", new FixedSecrets(), _ => { });

    [Fact]
    public async Task A_script_storage_path_of_another_system_is_not_joined_to_the_script_folder_and_is_StorageInvalid_where_used()
    {
        var script = Path.Combine(_folder, "etl.cs");
        File.WriteAllText(script, "// flow");
        var provider = new LocalStorageProvider(Path.Combine(_folder, "frozen"));

        var resolved = (LocalStorage)provider.Resolve(new LocalStorage(path: Foreign, storedAsScript: true), Context(script));
        var register = await Assert.ThrowsAsync<FlowstoreException>(() => provider.PrepareRegistrationAsync(resolved, Context(script), default));
        var fetch = await Assert.ThrowsAsync<FlowstoreException>(() => provider.FetchAsync(resolved, null, new FixedSecrets(), default));

        Assert.Equal(Foreign, resolved.Path);
        Assert.Equal($"local:{Foreign}", resolved.Locator);
        Assert.All(new[] { register, fetch }, e =>
        {
            Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
            Assert.Contains($"'{Foreign}'", e.Message);
            Assert.Contains("cannot be resolved on this machine", e.Message);
            Assert.DoesNotContain(_folder, e.Message);
            Assert.Equal(Foreign, e.Target);
        });
    }

    [Fact]
    public async Task A_frozen_directory_of_another_system_is_kept_and_StorageInvalid_where_the_compiled_flow_is_written()
    {
        var script = Path.Combine(_folder, "etl.cs");
        File.WriteAllText(script, "// flow");
        var provider = new LocalStorageProvider(Path.Combine(_folder, "frozen"));
        var foreignFolder = OperatingSystem.IsWindows() ? "/srv/flows" : @"D:\flows";

        var resolved = (LocalStorage)provider.Resolve(new LocalStorage(directory: foreignFolder), Context(script));
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => provider.PrepareRegistrationAsync(resolved, Context(script) with { CompiledFlow = [1] }, default));

        Assert.Equal(foreignFolder, resolved.Directory);
        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains($"'{foreignFolder}'", e.Message);
        Assert.Equal(new[] { script }, Directory.EnumerateFileSystemEntries(_folder, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void New_settings_with_a_path_of_another_system_are_StorageInvalid_naming_it_and_the_setting()
    {
        var e = Assert.Throws<FlowstoreException>(() => StorageSettings.Create("Local",
            new Dictionary<string, object?> { ["Path"] = Foreign, ["StoredAsScript"] = true }, p => Path.GetFullPath(p, _folder)));

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains($"Local storage setting Path is '{Foreign}'", e.Message);
        Assert.Equal(FlowHint.StorageSetting("Local", "Path"), e.Hint);
    }

    [Fact]
    public void A_path_the_front_end_cannot_resolve_is_StorageInvalid_naming_it()
    {
        var e = Assert.Throws<FlowstoreException>(() => StorageSettings.Create("Local",
            new Dictionary<string, object?> { ["Directory"] = "nodrive:/flows" }, p => throw new InvalidOperationException($"Cannot find drive 'nodrive'.")));

        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Contains("'nodrive:/flows'", e.Message);
        Assert.Contains("Cannot find drive 'nodrive'", e.Message);
    }
}
