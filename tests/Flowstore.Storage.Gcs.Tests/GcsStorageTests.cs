using System.Text.RegularExpressions;
using Flowstore.Engine;

namespace Flowstore.Storage.Gcs.Tests;

/// <summary>GCS storage, as in Prefect's script based storage, against the real emulator: script and frozen, keys, uploads, checks and runs.</summary>
public sealed class GcsStorageTests : GcsTestBase
{
    [Fact]
    public async Task Script_with_a_key_checks_the_object_at_registration_and_runs_download_the_current_object()
    {
        var path = Write("etl.cs", Etl(factor: 1));
        var first = await GcsTestEnvironment.PutAsync(Bucket, "flows/etl.cs", Etl(factor: 1));

        var registered = await RegisterAsync(path, Storage(key: "flows/etl.cs"));
        var run1 = await RunAsync();

        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.Equal(RunState.Success, run1.State);
        Assert.Equal(first.Generation.ToString(), run1.StorageVersion);
        Assert.Equal(6L, await LoadResultAsync());

        // New task code in the bucket: the next run uses it, with no registration in between.
        var second = await GcsTestEnvironment.PutAsync(Bucket, "flows/etl.cs", Etl(factor: 10));
        var run2 = await RunAsync();

        Assert.Equal(RunState.Success, run2.State);
        Assert.Equal(second.Generation.ToString(), run2.StorageVersion);
        Assert.NotEqual(run1.StorageVersion, run2.StorageVersion);
        Assert.Equal(FlowStructure.Sha256Hex(Etl(factor: 10)), run2.ScriptSha256);
        Assert.Equal(60L, await LoadResultAsync());

        // Registering again (the local file unchanged) is Skipped: the locator names only bucket and key.
        File.WriteAllText(path, Etl(factor: 5));
        var again = await RegisterAsync(path, Storage(key: "flows/etl.cs"));
        Assert.Equal(RegistrationStatus.Skipped, again.Status);
        Assert.Equal(1, again.Version);
    }

    [Fact]
    public async Task A_structure_change_in_the_bucket_fails_the_run_with_StructureChanged()
    {
        var path = Write("etl.cs", Etl());
        await GcsTestEnvironment.PutAsync(Bucket, "etl.cs", Etl());
        await RegisterAsync(path, Storage(key: "etl.cs"));

        await GcsTestEnvironment.PutAsync(Bucket, "etl.cs", Etl(extraTask: true));
        var run = await RunAsync();

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.StructureChanged, run.ErrorId);
        Assert.Contains("notify", run.Error);
        Assert.Contains($"gs://{Bucket}/etl.cs", run.Error);
    }

    [Fact]
    public async Task Registration_with_a_key_that_does_not_exist_is_StorageNotFound_naming_bucket_and_key()
    {
        var path = Write("etl.cs", Etl());

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, Storage(key: "flows/missing.cs")));

        Assert.Equal(ErrorIds.StorageNotFound, error.ErrorId);
        Assert.Contains(Bucket, error.Message);
        Assert.Contains("flows/missing.cs", error.Message);
        Assert.Contains(Url, error.Message);
        Assert.Empty(await Client.GetFlowsAsync(new FlowQuery { Project = Project, IncludeArchived = true }));
    }

    [Fact]
    public async Task Registration_checks_the_stored_script_structure_and_warns_when_only_code_differs()
    {
        var path = Write("etl.cs", Etl(factor: 1));
        await GcsTestEnvironment.PutAsync(Bucket, "other.cs", Etl(extraTask: true));
        await GcsTestEnvironment.PutAsync(Bucket, "code.cs", Etl(factor: 3));

        var mismatch = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, Storage(key: "other.cs")));
        var codeOnly = await RegisterAsync(path, Storage(key: "code.cs"));

        Assert.Equal(ErrorIds.StoredScriptMismatch, mismatch.ErrorId);
        Assert.Contains($"gs://{Bucket}/other.cs", mismatch.Message);
        Assert.Contains("notify", mismatch.Message);
        Assert.Equal(RegistrationStatus.Registered, codeOnly.Status);
        Assert.Contains(Warnings, w => w.Contains($"gs://{Bucket}/code.cs") && w.Contains("different code"));
        Assert.Equal(18L, await LoadResultAsync()); // runs use the stored script
    }

    [Fact]
    public async Task LocalScriptPath_uploads_at_registration_unchanged_is_Skipped_and_an_edited_file_is_uploaded_again()
    {
        var path = Write("flows/etl.cs", Etl(factor: 1));
        var storage = Storage(key: "etl/etl.cs", localScriptPath: path);

        var first = await RegisterAsync(path, storage);
        var generation1 = (await GcsTestEnvironment.ListAsync(Bucket)).Single().Generation;
        var again = await RegisterAsync(path, storage);
        var generationAfterSkip = (await GcsTestEnvironment.ListAsync(Bucket)).Single().Generation;
        File.WriteAllText(path, Etl(factor: 7));
        var edited = await RegisterAsync(path, storage);

        Assert.Equal(RegistrationStatus.Registered, first.Status);
        Assert.Equal(RegistrationStatus.Skipped, again.Status);
        Assert.Equal(generation1, generationAfterSkip); // nothing uploaded for an unchanged file
        Assert.Equal(RegistrationStatus.Registered, edited.Status);
        Assert.Equal(2, edited.Version);
        Assert.Equal(Etl(factor: 7), await GcsTestEnvironment.GetTextAsync(Bucket, "etl/etl.cs"));
        Assert.Equal(42L, await LoadResultAsync());
        var stored = await RegisteredStorageAsync();
        Assert.Equal("etl/etl.cs", stored.Key);
        Assert.Equal(path, stored.LocalScriptPath);
        Assert.Contains(Log, l => l.Contains($"uploaded '{path}' to gs://{Bucket}/etl/etl.cs"));
    }

    [Fact]
    public async Task A_storage_set_in_the_script_uploads_its_local_script_to_a_generated_key()
    {
        // flow.Storage = GCS(bucket=..., stored_as_script=True, local_script_path="my_flow.py"), in C#.
        var snippet = $"flow.Storage = new GcsStorage(bucket: \"{Bucket}\", storedAsScript: true, localScriptPath: \"etl.cs\", endpointUrl: \"{Url}\");";
        var path = Write("etl.cs", Etl(storage: snippet));

        var first = await RegisterAsync(path, storage: null);
        Time.Now = Time.Now.AddMinutes(1);
        var again = await RegisterAsync(path, storage: null);

        Assert.Equal(RegistrationStatus.Registered, first.Status);
        Assert.Equal(RegistrationStatus.Skipped, again.Status); // a generated key does not make a new version
        var stored = await RegisteredStorageAsync();
        Assert.Equal("etl/20261128T174500Z", stored.Key);
        Assert.Equal("etl", stored.AutoKeyPrefix);
        var objects = await GcsTestEnvironment.ListAsync(Bucket);
        Assert.Equal("etl/20261128T174500Z", Assert.Single(objects).Name);
        Assert.Equal(File.ReadAllText(path), await GcsTestEnvironment.GetTextAsync(Bucket, stored.Key!));
        Assert.Equal(6L, await LoadResultAsync());
    }

    [Fact]
    public async Task Script_storage_without_key_uploads_the_registered_file_to_slug_and_utc_timestamp()
    {
        var path = Write("etl.cs", Etl(factor: 2));
        Time.Now = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)); // local time: the key is UTC

        var registered = await RegisterAsync(path, Storage());
        Time.Now = Time.Now.AddHours(1);
        File.WriteAllText(path, Etl(factor: 3));
        var edited = await RegisterAsync(path, Storage());

        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.Equal(RegistrationStatus.Registered, edited.Status);
        Assert.Equal(new[] { "etl/20260102T010405Z", "etl/20260102T020405Z" }, (await GcsTestEnvironment.ListAsync(Bucket)).Select(o => o.Name).Order());
        Assert.Equal("etl/20260102T020405Z", (await RegisteredStorageAsync()).Key);
        Assert.Equal(18L, await LoadResultAsync());
    }

    [Fact]
    public async Task Generated_keys_use_the_real_clock_in_the_documented_format()
    {
        var provider = new GcsStorageProvider();

        Assert.Matches(new Regex(@"^etl/\d{8}T\d{6}Z$"), provider.NewKey("etl"));
    }

    [Fact]
    public async Task Frozen_storage_uploads_the_compiled_flow_and_runs_download_it()
    {
        var path = Write("etl.cs", Etl(factor: 4));

        var registered = await RegisterAsync(path, Storage(key: "frozen/etl.dll", script: false));
        var skipped = await RegisterAsync(path, Storage(key: "frozen/etl.dll", script: false));
        var run = await RunAsync();

        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.Equal(RegistrationStatus.Skipped, skipped.Status);
        Assert.Equal(RunState.Success, run.State);
        var bytes = await GcsTestEnvironment.GetAsync(Bucket, "frozen/etl.dll");
        Assert.Equal("MZ", System.Text.Encoding.ASCII.GetString(bytes, 0, 2)); // a PE assembly, not the script
        Assert.Equal(FlowStructure.Sha256Hex(bytes), run.ScriptSha256);
        Assert.Equal(24L, await LoadResultAsync());

        // Frozen means frozen: editing the local file changes nothing until it is registered again.
        File.WriteAllText(path, Etl(factor: 5));
        Assert.Equal(24L, await LoadResultAsync());
        var edited = await RegisterAsync(path, Storage(key: "frozen/etl.dll", script: false));
        Assert.Equal(2, edited.Version);
        Assert.Equal(30L, await LoadResultAsync());
    }

    [Fact]
    public async Task Frozen_storage_without_key_uploads_to_a_generated_key()
    {
        var path = Write("etl.cs", Etl());

        await RegisterAsync(path, Storage(script: false));

        var stored = await RegisteredStorageAsync();
        Assert.False(stored.StoredAsScript);
        Assert.Equal("etl/20261128T174500Z.dll", stored.Key);
        Assert.Equal(6L, await LoadResultAsync());
    }

    [Fact]
    public async Task LocalScriptPath_without_StoredAsScript_is_StorageInvalid()
    {
        var path = Write("etl.cs", Etl());

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, Storage(script: false, localScriptPath: path)));

        Assert.Equal(ErrorIds.StorageInvalid, error.ErrorId);
        Assert.Contains("script storage", error.Message);
        Assert.Equal(FlowHintKind.StoreAsScript, error.Hint?.Kind);
    }

    [Fact]
    public async Task An_invalid_bucket_name_is_StorageInvalid_before_any_call()
    {
        var path = Write("etl.cs", Etl());

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path, new GcsStorage("My_Bucket!", "k", storedAsScript: true, endpointUrl: Url)));

        Assert.Equal(ErrorIds.StorageInvalid, error.ErrorId);
        Assert.Contains("My_Bucket!", error.Message);
    }

    [Fact]
    public async Task Publish_uploads_and_returns_the_storage_with_key_and_generation_for_registration()
    {
        var path = Write("etl.cs", Etl(factor: 3));
        var progress = new ProgressLog();

        var publication = await Client.PublishAsync(path, new PublishOptions { Storage = Storage(), Progress = progress }, Log.Add);
        var registered = await RegisterAsync(path, publication.Storage);

        var published = Assert.IsType<GcsStorage>(publication.Storage);
        Assert.Equal("etl/20261128T174500Z", published.Key);
        Assert.Null(published.LocalScriptPath);
        Assert.Equal($"gs://{Bucket}/etl/20261128T174500Z", publication.Location);
        var stored = Assert.Single(await GcsTestEnvironment.ListAsync(Bucket));
        Assert.Equal(stored.Generation.ToString(), publication.StorageVersion);
        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.Equal(stored.Generation, Assert.Single(await GcsTestEnvironment.ListAsync(Bucket)).Generation); // registration read it, did not upload
        Assert.Equal(18L, await LoadResultAsync());
        Assert.Equal(100, progress.Reports[^1].PercentComplete);
    }

    [Fact]
    public async Task Generated_keys_in_the_same_second_get_a_suffix_instead_of_replacing_an_object()
    {
        var path = Write("etl.cs", Etl(factor: 1));

        var first = await Client.PublishAsync(path, new PublishOptions { Storage = Storage() });
        File.WriteAllText(path, Etl(factor: 2));
        var second = await Client.PublishAsync(path, new PublishOptions { Storage = Storage() });

        Assert.Equal("etl/20261128T174500Z", ((GcsStorage)first.Storage).Key);
        Assert.Equal("etl/20261128T174500Z-2", ((GcsStorage)second.Storage).Key);
        Assert.Equal(Etl(factor: 1), await GcsTestEnvironment.GetTextAsync(Bucket, "etl/20261128T174500Z"));
        Assert.Equal(Etl(factor: 2), await GcsTestEnvironment.GetTextAsync(Bucket, "etl/20261128T174500Z-2"));
    }

    [Fact]
    public async Task Publishing_a_frozen_storage_is_StorageInvalid_saying_to_add_StoredAsScript()
    {
        var path = Write("etl.cs", Etl());

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => Client.PublishAsync(path, new PublishOptions { Storage = Storage(script: false) }));

        Assert.Equal(ErrorIds.StorageInvalid, error.ErrorId);
        Assert.Contains("script storage", error.Message);
        Assert.Equal(FlowHintKind.StoreAsScript, error.Hint?.Kind);
        Assert.Empty(await GcsTestEnvironment.ListAsync(Bucket));
    }

    [Fact]
    public async Task Publish_with_a_key_then_registration_is_Skipped_while_only_code_changes()
    {
        var path = Write("etl.cs", Etl(factor: 1));
        var storage = Storage(key: "ci/etl.cs");

        var p1 = await Client.PublishAsync(path, new PublishOptions { Storage = storage });
        var r1 = await RegisterAsync(path, p1.Storage);
        File.WriteAllText(path, Etl(factor: 2));
        var p2 = await Client.PublishAsync(path, new PublishOptions { Storage = storage });
        var r2 = await RegisterAsync(path, p2.Storage);

        Assert.Equal(RegistrationStatus.Registered, r1.Status);
        Assert.Equal(RegistrationStatus.Skipped, r2.Status);
        Assert.NotEqual(p1.StorageVersion, p2.StorageVersion);
        Assert.Equal(12L, await LoadResultAsync());
    }

    [Fact]
    public async Task A_pinned_run_fetches_its_generation_and_a_replaced_generation_is_PinnedVersionUnavailable()
    {
        await using var proxy = await FaultProxy.StartAsync(Url);
        var path = Write("etl.cs", Etl(factor: 1));
        var first = await GcsTestEnvironment.PutAsync(Bucket, "etl.cs", Etl(factor: 1));
        await RegisterAsync(path, Storage(key: "etl.cs", url: proxy.Url));
        var run1 = await RunAsync();

        var pinnedToCurrent = await RunAsync(pinnedFromRun: run1.Id);
        Assert.Equal(RunState.Success, pinnedToCurrent.State);
        Assert.Equal(first.Generation.ToString(), pinnedToCurrent.StorageVersion);
        Assert.Contains(proxy.Requests, r => r.StartsWith("GET ") && r.Contains("alt=media") && r.Contains($"generation={first.Generation}"));

        // The object is overwritten: the emulator, like a bucket without Object Versioning, keeps no older generation.
        await GcsTestEnvironment.PutAsync(Bucket, "etl.cs", Etl(factor: 2));
        var pinnedToGone = await RunAsync(pinnedFromRun: run1.Id);
        var current = await RunAsync();

        Assert.Equal(RunState.Failed, pinnedToGone.State);
        Assert.Equal(ErrorIds.PinnedVersionUnavailable, pinnedToGone.ErrorId);
        Assert.Contains($"Generation {first.Generation} of gs://{Bucket}/etl.cs", pinnedToGone.Error);
        Assert.Equal(RunState.Success, current.State);
    }

    [Fact]
    public async Task A_run_of_an_object_deleted_after_registration_is_StorageNotFound()
    {
        var path = Write("etl.cs", Etl());
        await GcsTestEnvironment.PutAsync(Bucket, "gone.cs", Etl());
        await RegisterAsync(path, Storage(key: "gone.cs"));
        using (var client = GcsTestEnvironment.Client())
        {
            await client.DeleteObjectAsync(Bucket, "gone.cs");
        }

        var run = await RunAsync();

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.StorageNotFound, run.ErrorId);
        Assert.Contains($"'gone.cs' does not exist in bucket '{Bucket}'", run.Error);
    }

    [Fact]
    public async Task A_1_MB_script_uploads_with_progress_compiles_and_runs()
    {
        var blob = new string('x', 1024 * 1024);
        var script = Etl().Replace("var flow", $"const string Blob = \"{blob}\";\nvar flow", StringComparison.Ordinal)
            .Replace("() => new[] { 1, 2, 3 }", "() => new[] { Blob.Length }", StringComparison.Ordinal);
        var path = Write("big.cs", script);
        var progress = new ProgressLog();

        var registered = await RegisterAsync(path, Storage(key: "big.cs", localScriptPath: path), progress);

        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.True(new FileInfo(path).Length > 1024 * 1024);
        Assert.Equal(File.ReadAllBytes(path), await GcsTestEnvironment.GetAsync(Bucket, "big.cs"));
        var percents = progress.Reports.Select(r => r.PercentComplete).ToArray();
        Assert.Equal(0, percents[0]);
        Assert.Equal(100, percents[^1]);
        Assert.Equal(percents.Order(), percents);
        Assert.All(progress.Reports, r => Assert.Contains($"gs://{Bucket}/big.cs", r.Activity));
        Assert.Equal(1024L * 1024, await LoadResultAsync());
    }
}
