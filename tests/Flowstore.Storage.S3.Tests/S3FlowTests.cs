using System.Text.RegularExpressions;
using Flowstore.Engine;
using Flowstore.Storage.Contract;

namespace Flowstore.Storage.S3.Tests;

/// <summary>
/// S3 storage through the engine against a real s3rver: registration (check, upload, generated key, frozen),
/// runs that fetch the current object, publishing, pinned re-runs and the errors a user meets.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3FlowTests() : FlowHomeTests("flowstore-s3-tests")
{
    private string Bucket { get; set; } = "";

    protected override async Task ArrangeAsync() => Bucket = await S3TestServer.ConnectAsync(Client);

    private async Task<FlowRegistration> RegisterAsync(string path, StorageSettings? storage, IProgress<StorageProgress>? progress = null)
    {
        var options = new RegisterOptions
        {
            Project = Project,
            Storage = storage,
            OnWarning = w => Warnings.Add(w),
            Progress = progress,
        };
        var plan = Assert.Single(await Client.PlanAsync(path, options));
        return await Client.ApplyAsync(plan, options);
    }

    private async Task<FlowRunRecord> RunAsync(Guid? pinnedFrom = null)
        => await Client.RunNowAsync(await Client.GetFlowAsync("etl", Project), null, pinnedFrom);

    private async Task<string[]> OutputAsync(FlowRunRecord run)
        => (await Client.GetRunLogAsync(run.Id)).Where(l => l.Task == "print_data" && l.Level == "Output").Select(l => l.Message).ToArray();

    private async Task<S3Storage> RecordedStorageAsync()
        => (S3Storage)StorageTypes.Deserialize((await Client.GetFlowAsync("etl", Project)).StorageJson);

    // ---------------------------------------------------------------- script with a key (Prefect's first snippet)

    [Fact]
    public async Task A_script_at_a_key_is_checked_at_registration_and_every_run_fetches_the_current_object()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var etag = await S3TestServer.PutAsync(Bucket, "flows/etl.cs", Scripts.Etl("v1"));

        var registered = await RegisterAsync(local, S3TestServer.Storage(Bucket, "flows/etl.cs"));
        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        var first = await RunAsync();
        Assert.Equal(RunState.Success, first.State);
        Assert.Equal(new[] { "v1 1,2,3" }, await OutputAsync(first));
        Assert.Equal(etag, first.StorageVersion);

        // New task code in the bucket: the next run uses it, with no registration in between.
        var newTag = await S3TestServer.PutAsync(Bucket, "flows/etl.cs", Scripts.Etl("v2"));
        var second = await RunAsync();
        Assert.Equal(RunState.Success, second.State);
        Assert.Equal(new[] { "v2 1,2,3" }, await OutputAsync(second));
        Assert.Equal(newTag, second.StorageVersion);
        Assert.NotEqual(first.ScriptSha256, second.ScriptSha256);

        // Code changes do not change the registration: registering again is skipped.
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(local, S3TestServer.Storage(Bucket, "flows/etl.cs"))).Status);
        var recorded = await RecordedStorageAsync();
        Assert.Equal("flows/etl.cs", recorded.Key);
        Assert.Null(recorded.LocalScriptPath);
        Assert.Equal(S3TestServer.Url, recorded.EndpointUrl);
        Assert.True(recorded.ForcePathStyle);
        Assert.DoesNotContain(S3TestServer.SecretKey + "\"", (await Client.GetFlowAsync("etl", Project)).StorageJson);
    }

    [Fact]
    public async Task A_run_log_starts_with_the_bucket_key_endpoint_resolved_ETag_and_SHA256()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        await S3TestServer.PutAsync(Bucket, "flows/etl.cs", Scripts.Etl("v1"));
        var storage = S3TestServer.Storage(Bucket, "flows/etl.cs");
        await RegisterAsync(local, storage);
        var etag = await S3TestServer.PutAsync(Bucket, "flows/etl.cs", Scripts.Etl("v2"));

        var run = await RunAsync();

        Assert.Equal(RunState.Success, run.State);
        var log = await Client.GetRunLogAsync(run.Id);
        Assert.Equal($"Downloading flow 'etl' version 1 from S3 storage - S3 script s3://{Bucket}/flows/etl.cs at {S3TestServer.Url}; requested: the current script.", log[0].Message);
        Assert.StartsWith($"Flow successfully downloaded from ", log[1].Message);
        Assert.Contains($"s3://{Bucket}/flows/etl.cs", log[1].Message);
        Assert.EndsWith($". Using version: {etag}; script SHA-256: {FlowStructure.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(Scripts.Etl("v2")))}.", log[1].Message);
        Assert.Equal((etag, log[1].Message.Contains(run.ScriptSha256!)), (run.StorageVersion, true));
    }

    [Fact]
    public async Task A_stored_script_with_other_code_is_a_warning_and_one_with_another_structure_is_refused()
    {
        var local = Write("etl.cs", Scripts.Etl("local"));
        await S3TestServer.PutAsync(Bucket, "other-code.cs", Scripts.Etl("stored"));
        await S3TestServer.PutAsync(Bucket, "other-structure.cs", Scripts.Etl("stored", extraTask: true));

        var registered = await RegisterAsync(local, S3TestServer.Storage(Bucket, "other-code.cs"));
        Assert.Equal(RegistrationStatus.Registered, registered.Status);
        Assert.Contains(Warnings, w => w.Contains($"s3://{Bucket}/other-code.cs", StringComparison.Ordinal) && w.Contains("differs", StringComparison.Ordinal));
        Assert.Equal(new[] { "stored 1,2,3" }, await OutputAsync(await RunAsync()));

        var mismatch = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, S3TestServer.Storage(Bucket, "other-structure.cs")));
        Assert.Equal(ErrorIds.StoredScriptMismatch, mismatch.ErrorId);
        Assert.Contains("audit", mismatch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_structure_change_in_the_bucket_fails_the_run_with_StructureChanged()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        await S3TestServer.PutAsync(Bucket, "etl.cs", Scripts.Etl("v1"));
        await RegisterAsync(local, S3TestServer.Storage(Bucket, "etl.cs"));
        await S3TestServer.PutAsync(Bucket, "etl.cs", Scripts.Etl("v1", extraTask: true));

        var run = await RunAsync();
        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.StructureChanged, run.ErrorId);
        Assert.Contains("audit", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_key_or_bucket_is_StorageNotFound_naming_it()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var key = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, S3TestServer.Storage(Bucket, "nowhere/etl.cs")));
        Assert.Equal(ErrorIds.StorageNotFound, key.ErrorId);
        Assert.Contains($"s3://{Bucket}/nowhere/etl.cs", key.Message, StringComparison.Ordinal);
        Assert.Contains("publish the script", key.Message, StringComparison.Ordinal);
        Assert.Equal(FlowHintKind.PublishScript, key.Hint?.Kind);

        var bucket = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, S3TestServer.Storage("no-such-bucket-fs", "etl.cs")));
        Assert.Equal(ErrorIds.StorageNotFound, bucket.ErrorId);
        Assert.Contains("'no-such-bucket-fs' does not exist", bucket.Message, StringComparison.Ordinal);
        Assert.Contains(S3TestServer.Url, bucket.Message, StringComparison.Ordinal);

        var upload = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, S3TestServer.Storage("no-such-bucket-fs", localScriptPath: local)));
        Assert.Equal(ErrorIds.StorageNotFound, upload.ErrorId);
        Assert.Contains("no-such-bucket-fs", upload.Message, StringComparison.Ordinal);

        // The object disappears after registration: the run fails naming it.
        await S3TestServer.PutAsync(Bucket, "etl.cs", Scripts.Etl("v1"));
        await RegisterAsync(local, S3TestServer.Storage(Bucket, "etl.cs"));
        using (var s3 = S3TestServer.Client())
        {
            await s3.DeleteObjectAsync(Bucket, "etl.cs");
        }
        var run = await RunAsync();
        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.StorageNotFound, run.ErrorId);
        Assert.Contains($"s3://{Bucket}/etl.cs", run.Error, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- uploads at registration

    [Fact]
    public async Task Without_a_key_registration_uploads_under_a_generated_key_and_only_a_changed_file_is_uploaded_again()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        var progress = new RecordingProgress();
        var first = await RegisterAsync(local, new S3Storage(Bucket, storedAsScript: true, endpointUrl: S3TestServer.Url,
            forcePathStyle: true, credentialsSecret: S3TestServer.CredentialsSecret), progress);
        Assert.Equal(RegistrationStatus.Registered, first.Status);
        var recorded = await RecordedStorageAsync();
        Assert.Matches(new Regex(@"^etl/\d{8}T\d{6}Z$"), recorded.Key);
        Assert.Equal("etl", recorded.AutoKeyPrefix);
        Assert.Equal(local, recorded.LocalScriptPath);
        Assert.Equal(Scripts.Etl("v1"), System.Text.Encoding.UTF8.GetString(await S3TestServer.GetAsync(Bucket, recorded.Key!)));
        Assert.Equal(100, progress.Reports[^1].PercentComplete);
        Assert.Contains(recorded.Key!, progress.Reports[^1].Activity, StringComparison.Ordinal);
        Assert.Equal(new[] { "v1 1,2,3" }, await OutputAsync(await RunAsync()));

        // Unchanged: skipped, nothing uploaded.
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(local, S3TestServer.Storage(Bucket))).Status);
        Assert.Single(await S3TestServer.ListAsync(Bucket));

        // Edited: a new version under a new key; the first version's object stays.
        File.WriteAllText(local, Scripts.Etl("v2"));
        var second = await RegisterAsync(local, S3TestServer.Storage(Bucket));
        Assert.Equal(RegistrationStatus.Registered, second.Status);
        Assert.Equal(2, second.Version);
        var objects = await S3TestServer.ListAsync(Bucket);
        Assert.Equal(2, objects.Count);
        Assert.Contains(objects, o => o.Key == recorded.Key);
        Assert.Equal(new[] { "v2 1,2,3" }, await OutputAsync(await RunAsync()));
    }

    [Fact]
    public async Task A_LocalScriptPath_is_uploaded_to_the_key_and_an_edited_file_is_a_new_version()
    {
        var registered = Write("etl.cs", Scripts.Etl("registered"));
        var upload = Write("upload.cs", Scripts.Etl("uploaded"));
        var storage = S3TestServer.Storage(Bucket, "flows/etl.cs", localScriptPath: upload);

        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(registered, storage)).Status);
        Assert.Equal(Scripts.Etl("uploaded"), System.Text.Encoding.UTF8.GetString(await S3TestServer.GetAsync(Bucket, "flows/etl.cs")));
        Assert.Equal(new[] { "uploaded 1,2,3" }, await OutputAsync(await RunAsync()));
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(registered, storage)).Status);

        File.WriteAllText(upload, Scripts.Etl("uploaded again"));
        var second = await RegisterAsync(registered, storage);
        Assert.Equal(RegistrationStatus.Registered, second.Status);
        Assert.Equal(2, second.Version);
        Assert.Equal(new[] { "uploaded again 1,2,3" }, await OutputAsync(await RunAsync()));

        // A local script that declares another structure is refused before anything is uploaded.
        File.WriteAllText(upload, Scripts.Etl("x", extraTask: true));
        var mismatch = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(registered, storage));
        Assert.Equal(ErrorIds.StoredScriptMismatch, mismatch.ErrorId);
        Assert.Equal(Scripts.Etl("uploaded again"), System.Text.Encoding.UTF8.GetString(await S3TestServer.GetAsync(Bucket, "flows/etl.cs")));
    }

    [Fact]
    public async Task A_frozen_flow_uploads_the_compiled_flow_and_runs_it_until_registered_again()
    {
        var local = Write("etl.cs", Scripts.Etl("frozen v1"));
        var storage = S3TestServer.Storage(Bucket, storedAsScript: false);
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, storage)).Status);
        var recorded = await RecordedStorageAsync();
        Assert.Matches(new Regex(@"^etl/\d{8}T\d{6}Z(-\d+)?\.dll$"), recorded.Key);
        var dll = await S3TestServer.GetAsync(Bucket, recorded.Key!);
        Assert.Equal((byte)'M', dll[0]);
        Assert.Equal((byte)'Z', dll[1]);

        File.WriteAllText(local, Scripts.Etl("frozen v2"));
        var run = await RunAsync();
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(new[] { "frozen v1 1,2,3" }, await OutputAsync(run));

        Assert.Equal(2, (await RegisterAsync(local, storage)).Version);
        Assert.Equal(new[] { "frozen v2 1,2,3" }, await OutputAsync(await RunAsync()));
        Assert.Equal(2, (await S3TestServer.ListAsync(Bucket)).Count);

        var script = Write("script.cs", Scripts.Etl("x"));
        var invalid = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(script,
            new S3Storage(Bucket, localScriptPath: script, endpointUrl: S3TestServer.Url, forcePathStyle: true)));
        Assert.Equal(ErrorIds.StorageInvalid, invalid.ErrorId);
        Assert.Contains("script storage", invalid.Message, StringComparison.Ordinal);
        Assert.Equal(FlowHintKind.StoreAsScript, invalid.Hint?.Kind);
    }

    [Fact]
    public async Task A_compiled_flow_replaced_by_another_client_fails_the_run_with_FlowLoadFailed_naming_the_object_and_its_ETag()
    {
        var local = Write("etl.cs", Scripts.Etl("frozen"));
        await RegisterAsync(local, S3TestServer.Storage(Bucket, storedAsScript: false));
        var key = (await RecordedStorageAsync()).Key!;
        var etag = await S3TestServer.PutAsync(Bucket, key, "not an assembly at all");

        var run = await RunAsync();

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(ErrorIds.FlowLoadFailed, run.ErrorId);
        Assert.Equal(etag, run.StorageVersion);
        Assert.Contains("'etl' version 1", run.Error);
        Assert.Contains($"s3://{Bucket}/{key}", run.Error);
        Assert.Contains(etag, run.Error);
    }

    [Fact]
    public async Task The_storage_set_in_the_flow_script_is_used()
    {
        var local = Write("etl.cs", Scripts.Etl("from script").Replace(
            "var data =",
            $"flow.Storage = new S3Storage(bucket: \"{Bucket}\", key: \"in-script/etl.cs\", storedAsScript: true, localScriptPath: \"etl.cs\", " +
            $"endpointUrl: \"{S3TestServer.Url}\", forcePathStyle: true, credentialsSecret: \"{S3TestServer.CredentialsSecret}\");\nvar data =",
            StringComparison.Ordinal));
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, null)).Status);
        Assert.Equal(File.ReadAllText(local), System.Text.Encoding.UTF8.GetString(await S3TestServer.GetAsync(Bucket, "in-script/etl.cs")));
        Assert.Equal(new[] { "from script 1,2,3" }, await OutputAsync(await RunAsync()));
    }

    // ---------------------------------------------------------------- publishing

    [Fact]
    public async Task Publish_uploads_and_returns_the_storage_with_its_key_that_registration_then_checks()
    {
        var local = Write("etl.cs", Scripts.Etl("published"));
        var progress = new RecordingProgress();
        var published = await Client.PublishAsync(local, new PublishOptions { Storage = S3TestServer.Storage(Bucket, "ci/etl.cs"), Progress = progress });
        var storage = Assert.IsType<S3Storage>(published.Storage);
        Assert.Equal("ci/etl.cs", storage.Key);
        Assert.Null(storage.LocalScriptPath);
        Assert.Equal($"s3://{Bucket}/ci/etl.cs", published.Location);
        var etag = (await S3TestServer.ListAsync(Bucket)).Single().ETag.Trim('"');
        Assert.Equal(etag, published.StorageVersion);
        Assert.Equal(100, progress.Reports[^1].PercentComplete);

        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, published.Storage)).Status);
        Assert.Empty(Warnings);
        var run = await RunAsync();
        Assert.Equal(new[] { "published 1,2,3" }, await OutputAsync(run));
        Assert.Equal(published.StorageVersion, run.StorageVersion);

        // The CI loop: edit, publish, register (skipped: same structure, same key), run the new code.
        File.WriteAllText(local, Scripts.Etl("published again"));
        var again = await Client.PublishAsync(local, new PublishOptions { Storage = S3TestServer.Storage(Bucket, "ci/etl.cs") });
        Assert.Equal(RegistrationStatus.Skipped, (await RegisterAsync(local, again.Storage)).Status);
        Assert.Equal(new[] { "published again 1,2,3" }, await OutputAsync(await RunAsync()));
    }

    [Fact]
    public async Task Publish_without_a_key_generates_one_and_a_frozen_storage_cannot_publish()
    {
        var local = Write("etl.cs", Scripts.Etl("published"));
        var published = await Client.PublishAsync(local, new PublishOptions { Storage = S3TestServer.Storage(Bucket) });
        var storage = Assert.IsType<S3Storage>(published.Storage);
        Assert.Matches(new Regex(@"^etl/\d{8}T\d{6}Z(-\d+)?$"), storage.Key);
        Assert.Null(storage.AutoKeyPrefix);
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, storage)).Status);
        Assert.Equal(storage.Key, (await RecordedStorageAsync()).Key);

        var frozen = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Client.PublishAsync(local, new PublishOptions { Storage = S3TestServer.Storage(Bucket, storedAsScript: false) }));
        Assert.Equal(ErrorIds.StorageInvalid, frozen.ErrorId);
        Assert.Contains("script storage", frozen.Message, StringComparison.Ordinal);
        Assert.Equal(FlowHintKind.StoreAsScript, frozen.Hint?.Kind);
    }

    // ---------------------------------------------------------------- pinned re-runs

    [Fact]
    public async Task A_pinned_rerun_fetches_the_same_ETag_and_fails_clearly_once_the_object_changed()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        await S3TestServer.PutAsync(Bucket, "etl.cs", Scripts.Etl("v1"));
        await RegisterAsync(local, S3TestServer.Storage(Bucket, "etl.cs"));
        var first = await RunAsync();

        var same = await RunAsync(first.Id);
        Assert.Equal(RunState.Success, same.State);
        Assert.Equal(first.StorageVersion, same.StorageVersion);
        Assert.Equal(first.StorageVersion, same.PinnedStorageVersion);

        await S3TestServer.PutAsync(Bucket, "etl.cs", Scripts.Etl("v2"));
        var pinned = await RunAsync(first.Id);
        Assert.Equal(RunState.Failed, pinned.State);
        Assert.Equal(ErrorIds.PinnedVersionUnavailable, pinned.ErrorId);
        Assert.Contains(first.StorageVersion!, pinned.Error, StringComparison.Ordinal);
        Assert.Contains($"s3://{Bucket}/etl.cs", pinned.Error, StringComparison.Ordinal);
        Assert.Equal(RunState.Success, (await RunAsync()).State);
    }

    // ---------------------------------------------------------------- credentials

    [Fact]
    public async Task Wrong_missing_or_malformed_credentials_are_clear_errors_that_never_show_the_secret()
    {
        var local = Write("etl.cs", Scripts.Etl("v1"));
        await S3TestServer.PutAsync(Bucket, "etl.cs", Scripts.Etl("v1"));
        const string canary = "canary-7f3a9c1e-secret-value";

        await Client.SetSecretAsync("WRONG_KEY", $$"""{"accessKeyId":"NOT-S3RVER","secretAccessKey":"{{canary}}"}""");
        var denied = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, WithSecret("WRONG_KEY")));
        Assert.Equal(ErrorIds.StorageAccessDenied, denied.ErrorId);
        Assert.Contains("WRONG_KEY", denied.Message, StringComparison.Ordinal);
        Assert.Contains(Bucket, denied.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(canary, Flatten(denied), StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, WithSecret("NO_SUCH_SECRET")));
        Assert.Equal(ErrorIds.SecretNotFound, missing.ErrorId);
        Assert.Contains("NO_SUCH_SECRET", missing.Message, StringComparison.Ordinal);

        await Client.SetSecretAsync("MALFORMED", "{\"ACCESS_KEY\": \"S3RVER\", \"oops " + canary);
        var malformed = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(local, WithSecret("MALFORMED")));
        Assert.Equal(ErrorIds.StorageInvalid, malformed.ErrorId);
        Assert.Contains("MALFORMED", malformed.Message, StringComparison.Ordinal);
        Assert.Contains("SECRET_ACCESS_KEY", malformed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(canary, Flatten(malformed), StringComparison.Ordinal);

        // camelCase keys with a session token work too, and nothing of the secret is kept with the flow.
        await Client.SetSecretAsync("CAMEL", $$"""{"accessKeyId":"S3RVER","secretAccessKey":"{{canary}}","sessionToken":"token-{{canary}}"}""");
        Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, WithSecret("CAMEL"))).Status);
        var run = await RunAsync();
        Assert.Equal(RunState.Success, run.State);
        Assert.DoesNotContain(canary, (await Client.GetFlowAsync("etl", Project)).StorageJson, StringComparison.Ordinal);
        Assert.Contains("\"credentialsSecret\":\"CAMEL\"", (await Client.GetFlowAsync("etl", Project)).StorageJson, StringComparison.Ordinal);

        S3Storage WithSecret(string name) => new(Bucket, "etl.cs", storedAsScript: true, endpointUrl: S3TestServer.Url,
            forcePathStyle: true, credentialsSecret: name);
    }

    [Fact]
    public async Task Without_a_credentials_secret_the_SDK_chain_is_used()
    {
        var local = Write("etl.cs", Scripts.Etl("chain"));
        await S3TestServer.PutAsync(Bucket, "etl.cs", Scripts.Etl("chain"));
        var storage = new S3Storage(Bucket, "etl.cs", storedAsScript: true, endpointUrl: S3TestServer.Url, forcePathStyle: true);
        var before = (Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY"));
        try
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3TestServer.AccessKey);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3TestServer.SecretKey);
            Assert.Equal(RegistrationStatus.Registered, (await RegisterAsync(local, storage)).Status);
            Assert.Equal(new[] { "chain 1,2,3" }, await OutputAsync(await RunAsync()));
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", before.Item1);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", before.Item2);
        }
    }

    // ---------------------------------------------------------------- large scripts

    [Fact]
    public async Task A_1_MB_script_is_uploaded_with_progress_fetched_compiled_and_run()
    {
        var padding = string.Join("\n", Enumerable.Range(0, 16_000).Select(i => $"// padding line {i:D6} " + new string('x', 48)));
        var text = Scripts.Etl("large", padding: padding + "\nconst string Big = \"" + new string('y', 64 * 1024) + "\";");
        Assert.True(text.Length > 1024 * 1024, $"the script is {text.Length} characters");
        var local = Write("etl.cs", text);
        var progress = new RecordingProgress();

        await RegisterAsync(local, S3TestServer.Storage(Bucket, "large/etl.cs", localScriptPath: local), progress);
        Assert.Equal(text, System.Text.Encoding.UTF8.GetString(await S3TestServer.GetAsync(Bucket, "large/etl.cs")));
        Assert.True(progress.Reports.Count >= 2);
        Assert.Equal(0, progress.Reports[0].PercentComplete);
        Assert.Equal(100, progress.Reports[^1].PercentComplete);
        var run = await RunAsync();
        Assert.Equal(RunState.Success, run.State);
        Assert.Equal(new[] { "large 1,2,3" }, await OutputAsync(run));
        Assert.Equal(FlowStructure.Sha256Hex(text), run.ScriptSha256);
    }

    private static string Flatten(Exception e)
    {
        var text = new System.Text.StringBuilder();
        for (var x = e; x is not null; x = x.InnerException)
        {
            text.AppendLine(x.ToString());
        }
        return text.ToString();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class S3Collection
{
    public const string Name = "S3 server";
}
