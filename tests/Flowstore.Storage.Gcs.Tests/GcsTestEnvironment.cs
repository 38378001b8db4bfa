using Google.Cloud.Storage.V1;

namespace Flowstore.Storage.Gcs.Tests;

/// <summary>The emulator started by tests/servers/Start-Gcs.ps1, read from its environment variables only.</summary>
internal static class GcsTestEnvironment
{
    /// <summary>http://127.0.0.1:PORT of the shared emulator.</summary>
    public static string Url => Require("FLOWSTORE_TEST_GCS_URL");

    public static string Node => Require("FLOWSTORE_TEST_GCS_NODE");

    public static string EmulatorScript => Require("FLOWSTORE_TEST_GCS_EMULATOR");

    public static string Modules => Require("FLOWSTORE_TEST_GCS_MODULES");

    private static string Require(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{name} is not set: start the GCS emulator first (pwsh: & ./tests/servers/Start-Gcs.ps1 -WorkDirectory out/servers/Gcs), " +
            "then run the tests from the same session; build.ps1 -Task Test does this.");

    /// <summary>A bucket of its own for one test (the emulator creates buckets on first use).</summary>
    public static string NewBucket() => "flowstore-" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>A client for the test's own reads and writes, past the provider.</summary>
    public static StorageClient Client(string? url = null) => new StorageClientBuilder
    {
        BaseUri = (url ?? Url).TrimEnd('/') + "/storage/v1/",
        UnauthenticatedAccess = true,
    }.Build();

    public static async Task<Google.Apis.Storage.v1.Data.Object> PutAsync(string bucket, string key, string text, string? url = null)
    {
        using var client = Client(url);
        using var content = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        return await client.UploadObjectAsync(bucket, key, "text/plain", content);
    }

    public static async Task<byte[]> GetAsync(string bucket, string key, string? url = null)
    {
        using var client = Client(url);
        using var buffer = new MemoryStream();
        await client.DownloadObjectAsync(bucket, key, buffer);
        return buffer.ToArray();
    }

    public static async Task<string> GetTextAsync(string bucket, string key) => System.Text.Encoding.UTF8.GetString(await GetAsync(bucket, key));

    public static async Task<IReadOnlyList<Google.Apis.Storage.v1.Data.Object>> ListAsync(string bucket)
    {
        using var client = Client();
        var objects = new List<Google.Apis.Storage.v1.Data.Object>();
        await foreach (var o in client.ListObjectsAsync(bucket))
        {
            objects.Add(o);
        }
        return objects;
    }
}
