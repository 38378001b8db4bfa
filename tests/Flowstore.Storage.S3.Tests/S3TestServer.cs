using System.Diagnostics;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Flowstore.Storage.S3.Tests;

/// <summary>
/// The s3rver that tests/servers/Start-S3.ps1 started, read from its environment variables. A missing variable
/// fails the test with a message saying how to start the server (tests never skip).
/// </summary>
internal static class S3TestServer
{
    public const string CredentialsSecret = "S3_TEST_CREDENTIALS";

    public static string Url => Required("FLOWSTORE_TEST_S3_URL");
    public static string AccessKey => Required("FLOWSTORE_TEST_S3_ACCESS_KEY");
    public static string SecretKey => Required("FLOWSTORE_TEST_S3_SECRET_KEY");

    /// <summary>The s3rver executable, for tests that start and stop their own instance.</summary>
    public static string Command => Required("FLOWSTORE_TEST_S3_COMMAND");

    /// <summary>The secret value the provider reads (Prefect's AWS_CREDENTIALS shape).</summary>
    public static string CredentialsJson => $$"""{"ACCESS_KEY":"{{AccessKey}}","SECRET_ACCESS_KEY":"{{SecretKey}}"}""";

    private static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{name} is not set: start the S3 test server first (pwsh tests/servers/Start-S3.ps1 sets it; build.ps1 -Task Test does this).");

    /// <summary>S3 storage settings pointing at the test server (path style, credentials from <see cref="CredentialsSecret"/>).</summary>
    public static S3Storage Storage(string bucket, string? key = null, bool storedAsScript = true, string? localScriptPath = null, string? endpoint = null)
        => new(bucket, key, storedAsScript, localScriptPath, endpointUrl: endpoint ?? Url, forcePathStyle: true, credentialsSecret: CredentialsSecret);

    /// <summary>A plain SDK client on the test server, for setting up and inspecting buckets.</summary>
    public static AmazonS3Client Client(string? endpoint = null) => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = endpoint ?? Url,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        MaxErrorRetry = 0,
    });

    public static async Task<string> NewBucketAsync(string? endpoint = null)
    {
        var bucket = "fs-" + Guid.NewGuid().ToString("N")[..20];
        using var client = Client(endpoint);
        await client.PutBucketAsync(bucket);
        return bucket;
    }

    /// <summary>Gives an engine the test server's credentials (<see cref="CredentialsSecret"/>) and a new bucket of its own.</summary>
    public static async Task<string> ConnectAsync(Flowstore.Engine.FlowClient client)
    {
        await client.SetSecretAsync(CredentialsSecret, CredentialsJson);
        return await NewBucketAsync();
    }

    public static async Task<string> PutAsync(string bucket, string key, string text, string? endpoint = null)
    {
        using var client = Client(endpoint);
        var response = await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            ContentBody = text,
            UseChunkEncoding = false,
        });
        return response.ETag.Trim('"');
    }

    public static async Task<byte[]> GetAsync(string bucket, string key)
    {
        using var client = Client();
        using var response = await client.GetObjectAsync(bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    public static async Task<IReadOnlyList<S3Object>> ListAsync(string bucket)
    {
        using var client = Client();
        var response = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
        return response.S3Objects ?? new List<S3Object>();
    }
}

/// <summary>A private s3rver instance a test can stop (and start again on the same port and data).</summary>
internal sealed class OwnS3Server : IAsyncDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "flowstore-s3-tests", Guid.NewGuid().ToString("N"));
    private Process? _process;

    public OwnS3Server() => Port = Ports.Free();

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        Directory.CreateDirectory(_data);
        var start = new ProcessStartInfo(S3TestServer.Command)
        {
            ArgumentList = { "-d", _data, "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {S3TestServer.Command}.");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"s3rver exited with {_process.ExitCode}: {await _process.StandardError.ReadToEndAsync()}");
            }
            try
            {
                await http.GetAsync(Url + "/");
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Secrets by name, as the engine's resolver gives them; an unknown name is SecretNotFound.</summary>
internal sealed class TestSecrets : ISecretResolver
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public TestSecrets(params (string Name, string Value)[] values)
    {
        foreach (var (name, value) in values)
        {
            _values[name] = value;
        }
    }

    public static TestSecrets WithCredentials() => new((S3TestServer.CredentialsSecret, S3TestServer.CredentialsJson));

    public ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken) => _values.TryGetValue(name, out var value)
        ? ValueTask.FromResult(value)
        : throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound, $"Secret '{name}' was not found.") { Target = name };
}

internal static class Scripts
{
    /// <summary>A flow of two tasks; the second prints <paramref name="message"/>.</summary>
    public static string Etl(string message, bool extraTask = false, string padding = "") => $$"""
        using Flowstore;

        var flow = new Flow("etl");
        var data = flow.Task("get_data", () => new[] { 1, 2, 3 });
        flow.Task("print_data", (int[] values) => Console.WriteLine("{{message}} " + string.Join(",", values)), data);
        {{(extraTask ? "flow.Task(\"audit\", () => Console.WriteLine(\"audit\"));" : "")}}
        {{padding}}
        """;

    public static byte[] Utf8(string text) => new UTF8Encoding(false).GetBytes(text);
}
