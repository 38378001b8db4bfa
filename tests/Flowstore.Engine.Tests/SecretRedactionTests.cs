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

    [Fact]
    public void A_short_value_is_masked_where_it_stands_alone_and_left_inside_paths_and_words()
    {
        // Shorter than SubstringMinimumLength, like the secret "nope"; unique, since the remembered values are process-wide.
        var value = "n" + Guid.NewGuid().ToString("N")[..4];
        SecretRedaction.Add(value);

        Assert.Equal($"flows/{value}.cs", SecretRedaction.Redact($"flows/{value}.cs"));
        Assert.Equal($"Compiling '/src/flows/{value}.cs' for flow '{value}-daily'.", SecretRedaction.Redact($"Compiling '/src/flows/{value}.cs' for flow '{value}-daily'."));
        Assert.Equal("***", SecretRedaction.Redact(value));
        Assert.Equal("***", SecretRedaction.Redact($"  {value}\n"));
        Assert.Equal("token *** was refused.", SecretRedaction.Redact($"token {value} was refused."));
        Assert.Equal("{\"password\":\"***\"} and ?key=***&x=1 and user:***@host and (***)", SecretRedaction.Redact(
            $"{{\"password\":\"{value}\"}} and ?key={value}&x=1 and user:{value}@host and ({value})"));
        Assert.False(SecretRedaction.Contains($"flows/{value}.cs"));
        Assert.True(SecretRedaction.Contains($"the token is {value}"));
    }

    [Fact]
    public void A_value_of_the_minimum_length_is_masked_inside_other_text_too()
    {
        var value = Guid.NewGuid().ToString("N")[..SecretRedaction.SubstringMinimumLength];
        SecretRedaction.Add(value);

        Assert.Equal("flows/***.cs", SecretRedaction.Redact($"flows/{value}.cs"));
        Assert.Equal("x***y", SecretRedaction.Redact($"x{value}y"));
    }

    [Fact]
    public async Task A_run_log_keeps_a_path_holding_a_short_secret_value_and_masks_the_value_where_it_stands_alone()
    {
        var name = "SHORT_TOKEN_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var value = "n" + Guid.NewGuid().ToString("N")[..4];
        await Client.SetSecretAsync(name, value);
        var path = WriteScript("short.cs", $$"""
            using Flowstore;
            var flow = new Flow("short");
            flow.Task("read", () =>
            {
                var token = Secret.Get("{{name}}");
                Console.WriteLine($"reading flows/{token}.cs");
                Console.WriteLine($"token {token}");
                return token;
            });
            """);

        var result = await Client.InvokeScriptAsync(path, null, null);

        Assert.Equal(RunState.Success, result.State);
        var output = result.Log.Where(l => l.Level == "Output").Select(l => l.Message).ToArray();
        Assert.Contains($"reading flows/{value}.cs", output);
        Assert.Contains("token ***", output);
        Assert.Equal("***", result.Results["read"]);
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
