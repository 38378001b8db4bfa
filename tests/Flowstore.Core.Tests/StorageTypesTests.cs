using System.Text.Json;

namespace Flowstore.Core.Tests;

public class StorageTypesTests
{
    [Fact]
    public void LocalStorage_json_has_the_type_first_and_no_computed_members()
    {
        var storage = new LocalStorage(path: "/src/flows/etl.cs", storedAsScript: true);

        var json = storage.ToJson();

        Assert.StartsWith("{\"type\":\"Local\"", json);
        using var doc = JsonDocument.Parse(json);
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal("type", names[0]);
        Assert.DoesNotContain("isScript", names);
        Assert.DoesNotContain("locator", names);
        Assert.DoesNotContain("secretNames", names);
        Assert.Single(names, n => n == "type");
        Assert.Equal("/src/flows/etl.cs", doc.RootElement.GetProperty("path").GetString());
        Assert.True(doc.RootElement.GetProperty("storedAsScript").GetBoolean());
    }

    [Fact]
    public void LocalStorage_round_trips()
    {
        var frozen = new LocalStorage(directory: "/var/flows", storedAsScript: false) { ArtifactPath = "/var/flows/etl/abc.dll" };
        var script = new LocalStorage(path: "/src/flows/etl.cs", storedAsScript: true);

        foreach (var original in new[] { frozen, script })
        {
            var back = Assert.IsType<LocalStorage>(StorageTypes.Deserialize(original.ToJson()));
            Assert.Equal(original.Path, back.Path);
            Assert.Equal(original.Directory, back.Directory);
            Assert.Equal(original.StoredAsScript, back.StoredAsScript);
            Assert.Equal(original.ArtifactPath, back.ArtifactPath);
            Assert.Equal(original.Locator, back.Locator);
            Assert.Equal(original.IsScript, back.IsScript);
            Assert.Equal(original.ToJson(), back.ToJson());
        }
        Assert.Equal("local:/src/flows/etl.cs", script.Locator);
        Assert.Equal("local-frozen:/var/flows/etl/abc.dll", frozen.Locator);
    }

    [Fact]
    public void Clone_is_a_deep_copy()
    {
        var original = new LocalStorage(path: "/a.cs", storedAsScript: true);
        var copy = (LocalStorage)original.Clone() with { Path = "/b.cs" };
        Assert.Equal("/a.cs", original.Path);
        Assert.Equal("/b.cs", copy.Path);
    }

    [Fact]
    public void An_unknown_type_is_StorageTypeUnknown_listing_the_known_types()
    {
        var e = Assert.Throws<FlowstoreException>(() => StorageTypes.Deserialize("{\"type\":\"Dropbox\",\"path\":\"x\"}"));

        Assert.Equal(ErrorIds.StorageTypeUnknown, e.ErrorId);
        Assert.Contains("'Dropbox'", e.Message);
        Assert.Contains("Local", e.Message);
        Assert.Equal(ErrorIds.StorageTypeUnknown,
            Assert.Throws<FlowstoreException>(() => StorageTypes.Deserialize("{\"path\":\"x\"}")).ErrorId);
    }

    [Fact]
    public void The_type_name_is_case_insensitive()
    {
        Assert.IsType<LocalStorage>(StorageTypes.Deserialize("{\"type\":\"local\",\"storedAsScript\":true}"));
        Assert.Contains("Local", StorageTypes.Names);
    }
}
