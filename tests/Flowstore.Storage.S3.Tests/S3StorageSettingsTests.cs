namespace Flowstore.Storage.S3.Tests;

/// <summary>S3 settings on their own (no server): the rules they share with every object storage.</summary>
public sealed class S3StorageSettingsTests
{
    [Fact]
    public void An_endpoint_that_is_not_http_is_StorageInvalid_naming_the_setting_without_its_credentials()
    {
        var error = Assert.Throws<FlowstoreException>(() => new S3Storage("flows", endpointUrl: "ftp://admin:hunter2@files.example.com/s3").Validate());

        Assert.Equal(ErrorIds.StorageInvalid, error.ErrorId);
        Assert.Contains("ftp://files.example.com/s3", error.Message);
        Assert.DoesNotContain("hunter2", error.Message);
        Assert.Equal(FlowHint.StorageSetting("S3", "EndpointUrl"), error.Hint);
    }

    [Fact]
    public void S3_and_GCS_settings_keep_the_object_storage_locator_and_description()
    {
        var s3 = new S3Storage("flows", "etl/flow.cs", storedAsScript: true, endpointUrl: "http://127.0.0.1:9000");
        var gcs = new GcsStorage("flows", "etl/flow.cs");

        Assert.Equal("s3:s3://flows/etl/flow.cs at http://127.0.0.1:9000", s3.Locator);
        Assert.Equal("S3 script s3://flows/etl/flow.cs at http://127.0.0.1:9000", s3.ToString());
        Assert.Equal("gcs-frozen:gs://flows/etl/flow.cs", gcs.Locator);
        Assert.Equal("Gcs frozen gs://flows/etl/flow.cs", gcs.ToString());
        Assert.IsAssignableFrom<ObjectStorageSettings>(s3);
        Assert.IsAssignableFrom<ObjectStorageSettings>(gcs);
    }
}
