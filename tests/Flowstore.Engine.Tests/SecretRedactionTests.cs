using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>A storage whose error echoes its credential never gets the value into a run record or its log.</summary>
public sealed class SecretRedactionTests : EngineTestBase
{
    [Fact]
    public async Task A_fetch_error_that_echoes_a_resolved_secret_is_recorded_without_it()
    {
        var canary = "canary-" + Guid.NewGuid().ToString("N");
        var name = "LEAKY_TOKEN_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        Environment.SetEnvironmentVariable(name, canary);
        try
        {
            Client.AddProvider(new LeakyProvider());
            var path = WriteScript("leaky.cs", "using Flowstore;\nvar flow = new Flow(\"leaky\");\nflow.Task(\"a\", () => 1);\n");
            await RegisterOneAsync(path, new RegisterOptions { Project = Project, Storage = new LeakyStorage { TokenSecret = name } });

            var run = await Client.RunNowAsync(await Client.GetFlowAsync("leaky", Project), null, null);

            Assert.Equal(RunState.Failed, run.State);
            Assert.Equal(ErrorIds.StorageAccessDenied, run.ErrorId);
            Assert.Contains("token ***", run.Error);
            Assert.DoesNotContain(canary, run.Error);
            Assert.All(await Client.GetRunLogAsync(run.Id), e => Assert.DoesNotContain(canary, e.Message));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Redaction_replaces_every_resolved_value_and_leaves_short_ones_alone()
    {
        var value = "s3cr3t-" + Guid.NewGuid().ToString("N");
        SecretRedaction.Add(value);
        SecretRedaction.Add("ab");

        Assert.Equal("a *** b *** c ab", SecretRedaction.Redact($"a {value} b {value} c ab"));
        Assert.True(SecretRedaction.Contains("x" + value));
        Assert.False(SecretRedaction.Contains("nothing secret here"));
    }

    private sealed record LeakyStorage : StorageSettings
    {
        public override string Type => "Leaky";
        public override bool IsScript => true;
        public override string Locator => "leaky:";
        public string TokenSecret { get; set; } = "";
    }

    /// <summary>Like a careless SDK: its error message repeats the credential it was given.</summary>
    private sealed class LeakyProvider : IStorageProvider
    {
        public string Type => "Leaky";
        public Type SettingsType => typeof(LeakyStorage);
        public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context) => settings;

        public Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
            => Task.FromResult(new PreparedStorage(settings));

        public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
        {
            var token = await secrets.ResolveAsync(((LeakyStorage)settings).TokenSecret, cancellationToken);
            throw new FlowstoreException(ErrorIds.StorageAccessDenied, FlowErrorKind.PermissionDenied, $"401 for token {token}");
        }
    }
}

/// <summary>Invoke-Flow's results: a task that returns a secret shows stars, like the log does.</summary>
public sealed class InvokeResultRedactionTests : EngineTestBase
{
    [Fact]
    public async Task A_task_result_that_is_a_secret_value_is_blanked_in_the_invocation_result()
    {
        var name = "RESULT_TOKEN_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var value = "result-" + Guid.NewGuid().ToString("N");
        await Client.SetSecretAsync(name, value);
        var path = WriteScript("returns.cs", $$"""
            using Flowstore;
            var flow = new Flow("returns");
            var token = flow.Task("token", () => Secret.Get("{{name}}"));
            flow.Task("length", (string t) => t.Length, token);
            """);

        var result = await Client.InvokeScriptAsync(path, null, null);

        Assert.Equal(RunState.Success, result.State);
        Assert.Equal("***", result.Results["token"]);
        Assert.Equal(value.Length, Convert.ToInt32(result.Results["length"])); // the downstream task got the real value
    }
}
