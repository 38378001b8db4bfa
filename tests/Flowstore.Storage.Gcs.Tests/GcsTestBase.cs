using Flowstore.Engine;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.Gcs.Tests;

/// <summary>A temporary Flowstore home with a client on it, project "P", and the GCS provider with short retry delays.</summary>
public abstract class GcsTestBase() : FlowHomeTests("flowstore-gcs-tests")
{
    /// <summary>Three attempts, 50 ms first backoff: the fault tests see retries without waiting seconds.</summary>
    internal static readonly GcsRetryOptions FastRetry = new(3, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(20));

    /// <summary>A bucket of this test's own on the shared emulator.</summary>
    protected string Bucket { get; } = GcsTestEnvironment.NewBucket();

    protected static string Url => GcsTestEnvironment.Url;

    /// <summary>The clock that names generated keys.</summary>
    internal FixedTime Time { get; } = new(new DateTimeOffset(2026, 11, 28, 17, 45, 0, TimeSpan.Zero));

    internal GcsStorageProvider Provider { get; private set; } = null!;

    protected override Task ArrangeAsync()
    {
        Provider = new GcsStorageProvider(FastRetry, Time);
        Client.AddProvider(Provider);
        return Task.CompletedTask;
    }

    /// <summary>An ETL flow; <paramref name="factor"/> changes a task body only, <paramref name="extraTask"/> the structure.</summary>
    protected static string Etl(int factor = 1, bool extraTask = false, string storage = "") => $$"""
        using Flowstore;

        var flow = new Flow("etl");
        var data = flow.Task("extract", () => new[] { 1, 2, 3 });
        var load = flow.Task("load", (int[] rows) => rows.Sum() * {{factor}}, data);
        {{(extraTask ? "flow.Task(\"notify\", () => 1).After(load);" : "")}}
        {{storage}}
        """;

    protected GcsStorage Storage(string? key = null, bool script = true, string? localScriptPath = null, string? url = null, string? secret = null) =>
        new(Bucket, key, storedAsScript: script, localScriptPath: localScriptPath, endpointUrl: url ?? Url, credentialsSecret: secret);

    protected RegisterOptions Options(StorageSettings? storage, IProgress<StorageProgress>? progress = null) => new()
    {
        Project = Project,
        Storage = storage,
        OnWarning = Warnings.Add,
        Progress = progress,
    };

    protected async Task<FlowRegistration> RegisterAsync(string path, StorageSettings? storage, IProgress<StorageProgress>? progress = null)
    {
        var options = Options(storage, progress);
        var plans = await Client.PlanAsync(path, options, Log.Add);
        return await Client.ApplyAsync(Assert.Single(plans), options, Log.Add);
    }

    /// <summary>Runs the registered flow "etl" now (recorded, as Start-FlowRun -Wait does) and returns the run.</summary>
    protected async Task<FlowRunRecord> RunAsync(Guid? pinnedFromRun = null)
    {
        var flow = await Client.GetFlowAsync("etl", Project);
        return await Client.RunNowAsync(flow, null, pinnedFromRun);
    }

    /// <summary>Runs the registered flow "etl" and returns the result of its task "load".</summary>
    protected async Task<long> LoadResultAsync()
    {
        var result = await Client.RunAsync(await Client.GetFlowAsync("etl", Project), null);
        Assert.True(result.State == RunState.Success, result.Error);
        return Convert.ToInt64(result.Results["load"]);
    }

    protected async Task<GcsStorage> RegisteredStorageAsync()
        => Assert.IsType<GcsStorage>(StorageTypes.Deserialize((await Client.GetFlowAsync("etl", Project)).StorageJson));
}

/// <summary>A clock that stands still unless moved.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
internal sealed class ProgressLog : IProgress<StorageProgress>
{
    public List<StorageProgress> Reports { get; } = new();

    public void Report(StorageProgress value)
    {
        lock (Reports)
        {
            Reports.Add(value);
        }
    }
}
