using System.Security.Cryptography;
using System.Text;
using Flowstore.Engine;

namespace Flowstore.Engine.Tests;

/// <summary>
/// Secrets: the encrypted store (ciphertext only in the database, the key file, a replaced, missing or invalid
/// key, a ciphertext moved to another name), the resolution order (store, environment variable, extra sources)
/// and the missing-secret error, and Secret.Get in task code with the run log redacted.
/// Environment variables are process-wide, so each test uses names of its own and removes them afterwards.
/// </summary>
public sealed class SecretTests : EngineTestBase
{
    private static readonly string[] Looked = ["Flowstore secret store", "environment variable"];

    private string KeyPath => Path.Combine(Home, "secret.key");

    private static string UniqueValue() => "value-" + Guid.NewGuid().ToString("N");

    private static string UniqueName(string what) => $"FS_TEST_{what}_{Guid.NewGuid():N}".ToUpperInvariant();

    // ---------------------------------------------------------------- the store at rest

    [Fact]
    public async Task The_database_holds_only_ciphertext_never_the_value()
    {
        var name = UniqueName("token");
        var value = UniqueValue();

        await Client.SetSecretAsync(name, value);
        await Client.SetSecretAsync(name + "_2", value);

        Assert.Equal(value, await Client.Secrets.ResolveAsync(name, default));
        var blob = await Client.Backend.GetSecretAsync(name, default);
        Assert.NotNull(blob);
        Assert.False(Contains(blob.Ciphertext, Encoding.UTF8.GetBytes(value)));
        // A random nonce per write: the same value under two names is two unrelated ciphertexts.
        var other = await Client.Backend.GetSecretAsync(name + "_2", default);
        Assert.NotEqual(blob.Ciphertext, other!.Ciphertext);

        var files = DatabaseFiles();
        Assert.Contains(files, f => Contains(f.Bytes, blob.Ciphertext)); // the right files were read
        foreach (var (path, bytes) in files)
        {
            Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(value)), $"{path} holds the value (UTF-8)");
            Assert.False(Contains(bytes, Encoding.Unicode.GetBytes(value)), $"{path} holds the value (UTF-16)");
        }
    }

    [Fact]
    public async Task The_key_file_is_created_on_the_first_Set_owner_only()
    {
        var name = UniqueName("first");
        // Looking a name up (not stored) does not create a key.
        await Assert.ThrowsAsync<FlowstoreException>(async () => await Client.Secrets.ResolveAsync(name, default));
        Assert.Empty(await Client.DescribeSecretsAsync(null));
        Assert.False(File.Exists(KeyPath));

        await Client.SetSecretAsync(name, UniqueValue());

        Assert.True(File.Exists(KeyPath));
        Assert.Equal(KeyPath, Client.SecretStore.KeyPath);
        Assert.Equal(32, new FileInfo(KeyPath).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        }

        // Later sets (also from another client) keep the same key.
        var key = File.ReadAllBytes(KeyPath);
        await NewClient().SetSecretAsync(UniqueName("second"), UniqueValue());
        Assert.Equal(key, File.ReadAllBytes(KeyPath));
    }

    [Fact]
    public async Task A_replaced_key_is_SecretKeyMismatch_naming_the_secret_never_the_value()
    {
        var name = UniqueName("rotated");
        var value = UniqueValue();
        await Client.SetSecretAsync(name, value);

        File.WriteAllBytes(KeyPath, RandomNumberGenerator.GetBytes(32));
        var e = await Assert.ThrowsAsync<FlowstoreException>(async () => await NewClient().Secrets.ResolveAsync(name, default));

        Assert.Equal(ErrorIds.SecretKeyMismatch, e.ErrorId);
        Assert.Equal(name, e.Target);
        Assert.Contains($"'{name}'", e.Message);
        Assert.Contains(KeyPath, e.Message);
        Assert.Equal(FlowHint.SetSecret(name), e.Hint);
        Assert.DoesNotContain(value, e.ToString());

        // Setting it again under the new key repairs it.
        var fresh = NewClient();
        await fresh.SetSecretAsync(name, value + "-new");
        Assert.Equal(value + "-new", await NewClient().Secrets.ResolveAsync(name, default));
    }

    [Fact]
    public async Task A_deleted_key_with_stored_secrets_is_SecretKeyMissing_not_a_fallback()
    {
        var name = UniqueName("orphan");
        var value = UniqueValue();
        await Client.SetSecretAsync(name, value);
        File.Delete(KeyPath);
        using var env = Env(name, "from-environment");

        var e = await Assert.ThrowsAsync<FlowstoreException>(async () => await NewClient().Secrets.ResolveAsync(name, default));

        Assert.Equal(ErrorIds.SecretKeyMissing, e.ErrorId);
        Assert.Contains(KeyPath, e.Message);
        Assert.Equal(FlowHintKind.SetSecret, e.Hint?.Kind);
        Assert.DoesNotContain(value, e.ToString());
        Assert.False(File.Exists(KeyPath), "reading must not create a new key");
    }

    [Fact]
    public async Task A_key_file_of_the_wrong_size_is_SecretKeyInvalid()
    {
        var name = UniqueName("short");
        await Client.SetSecretAsync(name, UniqueValue());
        File.WriteAllBytes(KeyPath, new byte[16]);

        var e = await Assert.ThrowsAsync<FlowstoreException>(async () => await NewClient().Secrets.ResolveAsync(name, default));

        Assert.Equal(ErrorIds.SecretKeyInvalid, e.ErrorId);
        Assert.Contains(KeyPath, e.Message);
    }

    [Fact]
    public async Task A_ciphertext_moved_to_another_name_does_not_decrypt()
    {
        var name = UniqueName("origin");
        var moved = UniqueName("moved");
        var value = UniqueValue();
        await Client.SetSecretAsync(name, value);
        var blob = await Client.Backend.GetSecretAsync(name, default);

        // The name is authenticated with the ciphertext: the same bytes under another name are rejected.
        await Client.Backend.PutSecretAsync(moved, blob!.Ciphertext, default);
        var e = await Assert.ThrowsAsync<FlowstoreException>(async () => await Client.Secrets.ResolveAsync(moved, default));

        Assert.Equal(ErrorIds.SecretKeyMismatch, e.ErrorId);
        Assert.Contains(moved, e.Message);
        Assert.DoesNotContain(value, e.ToString());
        // The original still decrypts, under any casing of its name.
        Assert.Equal(value, await Client.Secrets.ResolveAsync(name.ToLowerInvariant(), default));
    }

    [Fact]
    public async Task A_blank_secret_name_is_InvalidName_and_creates_no_key()
    {
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.SetSecretAsync("  ", UniqueValue()));

        Assert.Equal(ErrorIds.InvalidName, e.ErrorId);
        Assert.Equal(FlowErrorKind.InvalidArgument, e.Kind);
        Assert.False(File.Exists(KeyPath));
    }

    [Fact]
    public async Task Removing_a_secret_is_SecretNotFound_the_second_time()
    {
        var name = UniqueName("removed");
        await Client.SetSecretAsync(name, UniqueValue());

        await Client.RemoveSecretAsync(name.ToLowerInvariant());
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => Client.RemoveSecretAsync(name));

        Assert.Equal(ErrorIds.SecretNotFound, e.ErrorId);
        Assert.Contains(name, e.Message);
        Assert.Empty(await Client.DescribeSecretsAsync(null));
    }

    // ---------------------------------------------------------------- resolution order

    [Fact]
    public async Task The_store_beats_the_environment()
    {
        var name = UniqueName("both");
        var fake = new FakeSource("fake vault", (name, "from-fake"));
        using var client = ClientWith(fake);
        using var env = Env(name, "from-environment");
        await client.SetSecretAsync(name, "from-store");

        Assert.Equal("from-store", await client.Secrets.ResolveAsync(name, default));
        Assert.Empty(fake.Asked);
        var info = Assert.Single(await client.DescribeSecretsAsync([name]));
        Assert.Equal(new SecretInfo(name, "Flowstore secret store", true, info.Created, info.Updated) { KeyState = SecretKeyState.Readable }, info);
        Assert.NotNull(info.Created);
    }

    [Fact]
    public async Task The_environment_is_used_when_the_store_lacks_the_name()
    {
        var name = UniqueName("env");
        var fake = new FakeSource("fake vault", (name, "from-fake"));
        using var client = ClientWith(fake);
        await client.SetSecretAsync(UniqueName("unrelated"), "x");
        using var env = Env(name, "from-environment");

        Assert.Equal("from-environment", await client.Secrets.ResolveAsync(name, default));
        Assert.Empty(fake.Asked);
        Assert.Equal(new SecretInfo(name, "environment variable", false, null, null),
            (await client.DescribeSecretsAsync([name])).Single(s => s.Name == name));
    }

    [Fact]
    public async Task An_extra_source_is_asked_last()
    {
        var name = UniqueName("vault");
        var fake = new FakeSource("fake vault", (name, "from-fake"));
        using var client = ClientWith(fake);

        Assert.Equal("from-fake", await client.Secrets.ResolveAsync(name, default));
        Assert.Equal(new[] { name }, fake.Asked);
        Assert.Equal(new SecretInfo(name, "fake vault", false, null, null), Assert.Single(await client.DescribeSecretsAsync([name])));
    }

    [Fact]
    public async Task A_secret_missing_everywhere_is_SecretNotFound_naming_it_and_every_place_looked()
    {
        var name = UniqueName("nowhere");
        var fake = new FakeSource("fake vault");
        using var client = ClientWith(fake);
        await client.SetSecretAsync(UniqueName("unrelated"), "x");

        var e = await Assert.ThrowsAsync<FlowstoreException>(async () => await client.Secrets.ResolveAsync(name, default));

        Assert.Equal(ErrorIds.SecretNotFound, e.ErrorId);
        Assert.Equal(FlowErrorKind.ObjectNotFound, e.Kind);
        Assert.Equal(name, e.Target);
        Assert.Contains($"'{name}'", e.Message);
        Assert.Contains("Flowstore secret store, environment variable, fake vault", e.Message);
        Assert.Equal(new[] { name }, fake.Asked);
        Assert.Equal("not found", (await client.DescribeSecretsAsync([name])).Single(s => s.Name == name).Source);

        // Without extra sources the message lists the two built-in places.
        var plain = await Assert.ThrowsAsync<FlowstoreException>(async () => await Client.Secrets.ResolveAsync(name, default));
        Assert.Contains("looked in: " + string.Join(", ", Looked) + ".", plain.Message);
    }

    [Fact]
    public async Task Secret_names_ignore_case_in_the_store_and_list_sorted()
    {
        await Client.SetSecretAsync("beta", "1");
        await Client.SetSecretAsync("Alpha", "2");
        await Client.SetSecretAsync("ALPHA", "3");

        Assert.Equal("3", await Client.Secrets.ResolveAsync("alpha", default));
        Assert.Equal(new[] { "Alpha", "beta" }, (await Client.DescribeSecretsAsync(null)).Select(s => s.Name));
    }

    // ---------------------------------------------------------------- Secret.Get in task code

    [Fact]
    public async Task Secret_Get_in_a_task_returns_the_value_and_the_log_and_errors_show_stars()
    {
        var name = UniqueName("run");
        var value = UniqueValue();
        await Client.SetSecretAsync(name, value);
        var registration = await RegisterOneAsync(WriteScript("secretive.cs", Fixtures.SecretiveFlow));
        var flow = await Client.GetFlowAsync(registration.Name, Project);

        // A new client, as a new session would run it: nothing resolved before the run.
        var runner = NewClient();
        var run = await runner.RunNowAsync(flow, new Dictionary<string, object?> { ["secret"] = name }, null);

        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal("FlowRunFailed", run.ErrorId);
        Assert.Equal(TaskRunState.Success, run.Tasks.Single(t => t.Name == "use").State);
        var failed = run.Tasks.Single(t => t.Name == "reject");
        Assert.Equal(TaskRunState.Failed, failed.State);
        Assert.Contains("the token *** was rejected", failed.Error);
        Assert.Contains("the token *** was rejected", run.Error);

        var log = await NewClient().GetRunLogAsync(run.Id);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
        Assert.Contains(log, l => l.Task == "use" && l.Message == "sha256: " + sha); // the task got the value
        Assert.Contains(log, l => l.Task == "use" && l.Level == "Output" && l.Message == "console: ***");
        Assert.Contains(log, l => l.Task == "use" && l.Level == "Error" && l.Message == "stderr: ***");
        Assert.Contains(log, l => l.Task == "use" && l.Level == "Info" && l.Message == "info: ***");
        Assert.Contains(log, l => l.Task == "use" && l.Level == "Warning" && l.Message == "warning: ***");
        Assert.Contains(log, l => l.Task == "reject" && l.Level == "Error" && l.Message.Contains("the token *** was rejected"));

        var stored = await NewClient().GetRunAsync(run.Id);
        var everything = string.Join("\n", log.Select(l => l.Message)
            .Concat([stored.Error ?? "", stored.ParametersJson])
            .Concat(stored.Tasks.Select(t => t.Error ?? "")));
        Assert.DoesNotContain(value, everything);
        foreach (var (path, bytes) in DatabaseFiles())
        {
            Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(value)), $"{path} holds the value after the run");
        }
    }

    [Fact]
    public async Task Secret_Get_in_a_task_resolves_from_the_environment_and_extra_sources_too()
    {
        var fromEnv = UniqueName("env");
        var fromFake = UniqueName("fake");
        var envValue = UniqueValue();
        var fakeValue = UniqueValue();
        using var env = Env(fromEnv, envValue);
        using var client = ClientWith(new FakeSource("fake vault", (fromFake, fakeValue)));
        var registration = await RegisterAsync(client, WriteScript("two.cs", """
            using Flowstore;

            var flow = new Flow("two");
            var a = flow.Parameter<string>("a");
            var b = flow.Parameter<string>("b");
            flow.Task("show", (string x, string y) =>
            {
                Console.WriteLine($"{Secret.Get(x)} {Secret.Get(y)} lengths {Secret.Get(x).Length} {Secret.Get(y).Length}");
            }, a, b);
            """), new RegisterOptions { Project = Project });
        var flow = await client.GetFlowAsync(Assert.Single(registration).Name, Project);

        var run = await client.RunNowAsync(flow, new Dictionary<string, object?> { ["a"] = fromEnv, ["b"] = fromFake }, null);

        Assert.Equal(RunState.Success, run.State);
        var line = Assert.Single(await client.GetRunLogAsync(run.Id), l => l.Task == "show" && l.Level == "Output").Message;
        Assert.Equal($"*** *** lengths {envValue.Length} {fakeValue.Length}", line);
    }

    [Fact]
    public async Task A_secret_missing_in_a_task_fails_the_task_with_SecretNotFound_text()
    {
        var name = UniqueName("absent");
        var registration = await RegisterOneAsync(WriteScript("absent.cs", """
            using Flowstore;

            var flow = new Flow("absent");
            var n = flow.Parameter<string>("n");
            flow.Task("need", (string name) => Secret.Get(name).Length, n);
            """));
        var flow = await Client.GetFlowAsync(registration.Name, Project);

        var run = await Client.RunNowAsync(flow, new Dictionary<string, object?> { ["n"] = name }, null);

        Assert.Equal(RunState.Failed, run.State);
        var error = run.Tasks.Single().Error;
        Assert.Contains($"Secret '{name}' was not found; looked in: Flowstore secret store, environment variable", error);
    }

    public static TheoryData<string> SecretFaults => new() { ErrorIds.SecretNotFound, ErrorIds.SecretKeyMismatch, ErrorIds.SecretKeyMissing };

    [Theory]
    [MemberData(nameof(SecretFaults))]
    public async Task A_secret_fault_in_a_task_keeps_its_id_on_the_run_and_points_at_the_script_line_never_at_Flowstore(string fault)
    {
        var name = UniqueName("fault");
        if (fault != ErrorIds.SecretNotFound)
        {
            await Client.SetSecretAsync(name, UniqueValue());
            if (fault == ErrorIds.SecretKeyMismatch)
            {
                File.WriteAllBytes(KeyPath, RandomNumberGenerator.GetBytes(32));
            }
            else
            {
                File.Delete(KeyPath);
            }
        }
        var path = WriteScript("faulty.cs", """
            using Flowstore;

            var flow = new Flow("faulty");
            var n = flow.Parameter<string>("n");
            flow.Task("need", (string name) =>
            {
                return Secret.Get(name).Length;
            }, n);
            """);
        var flow = await Client.GetFlowAsync((await RegisterOneAsync(path)).Name, Project);
        var parameters = new Dictionary<string, object?> { ["n"] = name };

        var run = await NewClient().RunNowAsync(flow, parameters, null);
        var invoked = await NewClient().InvokeScriptAsync(path, null, parameters);

        Assert.Equal((RunState.Failed, fault), (run.State, run.ErrorId));
        Assert.Equal(fault, RunErrors.Of(run, flow)!.ErrorId);
        Assert.Equal((RunState.Failed, fault), (invoked.State, invoked.ErrorId));
        Assert.Equal(fault, RunErrors.Of(invoked)!.ErrorId);
        var log = await Client.GetRunLogAsync(run.Id);
        foreach (var text in new[] { run.Error!, run.Tasks.Single().Error! }.Concat(log.Select(l => l.Message)).Concat(invoked.Log.Select(l => l.Message)))
        {
            Assert.DoesNotContain("Flowstore.Core", text);
            Assert.DoesNotContain("Flowstore.Engine", text);
            Assert.DoesNotContain(".cs:", text.Replace($"{path}:", ""));
        }
        Assert.Contains($"(at {path}:7)", run.Error);
        Assert.Contains($"(at {path}:7)", invoked.Error);
        // The secret at fault, or for a missing key the key file.
        Assert.Contains(fault == ErrorIds.SecretKeyMissing ? KeyPath : $"'{name}'", run.Error);
        Assert.DoesNotContain("FlowstoreException", run.Error);
        Assert.Contains(log, l => l.Task == "need" && l.Level == "Error" && l.Message.Contains($"(at {path}:7)"));
    }

    [Fact]
    public void Secret_Get_outside_a_run_is_SecretOutsideRun()
    {
        var e = Assert.Throws<FlowstoreException>(() => Secret.Get("ANYTHING"));

        Assert.Equal(ErrorIds.SecretOutsideRun, e.ErrorId);
        Assert.Equal("ANYTHING", e.Target);
        Assert.Contains("inside a running task", e.Message);
    }

    [Fact]
    public async Task Secret_Get_while_a_script_builds_its_flows_is_SecretOutsideRun()
    {
        var name = UniqueName("build");
        using var env = Env(name, UniqueValue());
        var path = WriteScript("eager.cs", $$"""
            using Flowstore;

            var token = Secret.Get("{{name}}");
            var flow = new Flow("eager");
            flow.Task("t", () => token.Length);
            """);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => RegisterAsync(path));

        Assert.Equal(ErrorIds.SecretOutsideRun, e.ErrorId);
        Assert.Contains(name, e.Message);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A client on the test home with extra secret sources (disposed by the test).</summary>
    private FlowClient ClientWith(params ISecretSource[] sources) => new(new FlowClientOptions { Home = Home, SecretSources = sources });

    /// <summary>The database file and its write-ahead log and shared-memory files, as they are on disk now.</summary>
    private IReadOnlyList<(string Path, byte[] Bytes)> DatabaseFiles()
    {
        var db = Path.Combine(Home, "flowstore.db");
        Assert.True(File.Exists(db));
        return new[] { db, db + "-wal", db + "-shm", db + "-journal" }
            .Where(File.Exists)
            .Select(p => (p, ReadShared(p)))
            .ToArray();
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>Sets an environment variable of this process until disposed.</summary>
    private static IDisposable Env(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        return new Unset(name);
    }

    private sealed class Unset(string name) : IDisposable
    {
        public void Dispose() => Environment.SetEnvironmentVariable(name, null);
    }

    /// <summary>A secret source with fixed values that records the names it was asked for.</summary>
    private sealed class FakeSource(string description, params (string Name, string Value)[] values) : ISecretSource
    {
        private readonly List<string> _asked = new();

        public IReadOnlyList<string> Asked
        {
            get
            {
                lock (_asked)
                {
                    return _asked.ToArray();
                }
            }
        }

        public string Description => description;

        public ValueTask<string?> TryGetAsync(string name, CancellationToken cancellationToken)
        {
            lock (_asked)
            {
                _asked.Add(name);
            }
            return ValueTask.FromResult<string?>(values.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.Ordinal)).Value);
        }
    }
}
