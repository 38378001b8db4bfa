namespace Flowstore.Storage.Gcs.Tests;

/// <summary>The GCS settings on their own (no emulator needed).</summary>
public sealed class GcsStorageSettingsTests
{
    [Fact]
    public void The_description_names_the_endpoint_as_S3s_does()
    {
        var emulator = new GcsStorage("flows", key: "etl.cs", storedAsScript: true, endpointUrl: "http://127.0.0.1:9199/");
        var google = new GcsStorage("flows", key: "etl.cs", storedAsScript: true);

        Assert.Equal("Gcs script gs://flows/etl.cs at http://127.0.0.1:9199", emulator.ToString());
        Assert.Equal("Gcs script gs://flows/etl.cs", google.ToString());
    }

    [Fact]
    public void A_changed_endpoint_is_a_storage_change_that_names_it()
    {
        var before = new GcsStorage("flows", key: "etl.cs", storedAsScript: true, endpointUrl: "http://127.0.0.1:9199");
        var after = before with { EndpointUrl = "http://127.0.0.1:9200" };

        Assert.Equal("Gcs script gs://flows/etl.cs at http://127.0.0.1:9200: EndpointUrl http://127.0.0.1:9199 -> http://127.0.0.1:9200",
            StorageChange.Describe(before, after));
    }
}
