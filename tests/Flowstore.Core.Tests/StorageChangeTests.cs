using System.Text.Json.Serialization;

namespace Flowstore.Core.Tests;

public class StorageChangeTests
{
    // Like S3 script storage: the description shows bucket and key, not the digest of what was uploaded there.
    private sealed record UploadStorage : StorageSettings
    {
        public override string Type => "UploadTest";

        [StorageSetting("The bucket.", Mandatory = true)]
        public string Bucket { get; init; } = "";

        [StorageSetting("The key.")]
        public string? Key { get; init; }

        [JsonInclude]
        internal string? UploadedSha256 { get; init; }

        public override bool IsScript => true;

        public override string Locator => $"up:{Bucket}/{Key}#{UploadedSha256}";

        public override string ToString() => $"UploadTest script {Bucket}/{Key}";
    }

    static StorageChangeTests() => StorageTypes.Register<UploadStorage>("UploadTest");

    [Fact]
    public void A_new_upload_to_the_same_key_says_what_changed_not_the_same_description_twice()
    {
        var before = new UploadStorage { Bucket = "flows", Key = "given/s3simple.cs", UploadedSha256 = "0123456789abcdef" };
        var after = before with { UploadedSha256 = "fedcba9876543210" };

        var text = StorageChange.Describe(before, after);

        Assert.Equal("UploadTest script flows/given/s3simple.cs: uploaded sha256 0123456789abcdef -> fedcba9876543210", text);
    }

    [Fact]
    public void A_changed_setting_is_named_with_its_old_and_new_value()
    {
        var before = new UploadStorage { Bucket = "flows", Key = "a.cs" };
        var after = before with { Key = "b.cs", Bucket = "other" };

        Assert.Equal(new[] { "Bucket flows -> other", "Key a.cs -> b.cs" }, StorageChange.Changes(before, after));
        Assert.Equal(new[] { "Key (none) -> b.cs" }, StorageChange.Changes(before with { Key = null }, before with { Key = "b.cs" }));
    }

    [Fact]
    public void Another_storage_type_shows_both_descriptions_and_equal_settings_show_nothing()
    {
        var local = new LocalStorage(path: "/src/a.cs", storedAsScript: true);
        var upload = new UploadStorage { Bucket = "flows", Key = "a.cs" };

        Assert.Equal("Local script /src/a.cs -> UploadTest script flows/a.cs", StorageChange.Describe(local, upload));
        Assert.Null(StorageChange.Describe(upload, upload with { }));
        Assert.Equal("Local script /src/b.cs: Path /src/a.cs -> /src/b.cs",
            StorageChange.Describe(local, new LocalStorage(path: "/src/b.cs", storedAsScript: true)));
    }
}
