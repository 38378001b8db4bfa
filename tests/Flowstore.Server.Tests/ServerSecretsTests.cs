using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Flowstore.Backend.Http;
using Flowstore.Backend.Postgres;
using Flowstore.Backend.Sqlite;
using Flowstore.Engine;
using Npgsql;

namespace Flowstore.Server.Tests;

/// <summary>
/// Secrets in team mode, against the real server with API keys required: a value is sent to the server, which encrypts it
/// with its own owner-only key in its home; names and times come back to everyone, a value only to the agent executing a
/// run, for that run; an agent in another home runs a flow that reads the server's secret. The value is then looked for
/// everywhere: the server's log, every file of every home, the database (SQLite files, or a pg_dump of PostgreSQL).
/// </summary>
public abstract class ServerSecretsTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _homes = new("flowstore-server-secrets");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));
    private readonly List<IDisposable> _owned = new();

    private protected RunningServer Server { get; private set; } = null!;

    protected CancellationToken Ct => _timeout.Token;

    private protected string AdminToken { get; private set; } = "";

    private protected string RegistrarToken { get; private set; } = "";

    private protected string AgentToken { get; private set; } = "";

    private protected string ReaderToken { get; private set; } = "";

    /// <summary>Starts the server (keys required) over its database.</summary>
    private protected abstract Task<RunningServer> StartServerAsync();

    /// <summary>The server's database, opened directly (not through the server).</summary>
    private protected abstract IFlowBackend OpenDatabase();

    /// <summary>Everything the database holds, as bytes (its files, or a dump).</summary>
    private protected abstract Task<IReadOnlyList<(string What, byte[] Bytes)>> DumpDatabaseAsync();

    public virtual async Task InitializeAsync()
    {
        Server = await StartServerAsync();
        AdminToken = (await File.ReadAllTextAsync(Path.Combine(Server.Home, FlowApiKeys.AdminKeyFileName), Ct)).Trim();
        using var admin = Server.Client(AdminToken);
        await admin.CreateProjectAsync("P", null, Ct);
        await admin.CreateProjectAsync("Other", null, Ct);
        using var database = OpenDatabase();
        var keys = new FlowApiKeys(new Lazy<IFlowBackend>(() => database));
        RegistrarToken = (await keys.CreateAsync("ci", FlowRole.Registrar, null, null, "test", Ct)).Token;
        AgentToken = (await keys.CreateAsync("agent", FlowRole.Agent, null, null, "test", Ct)).Token;
        ReaderToken = (await keys.CreateAsync("ops", FlowRole.Reader, null, null, "test", Ct)).Token;
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
        await Server.DisposeAsync();
    }

    public void Dispose()
    {
        _timeout.Dispose();
        Server?.Dispose();
        SqliteFlowBackend.ClearConnectionPools();
        _homes.Dispose();
        GC.SuppressFinalize(this);
    }

    private string HomeOf(string who) => Directory.CreateDirectory(_homes.File(who)).FullName;

    /// <summary>A client in a home of its own ("admin", "ci", "agent"), talking to the server with a key.</summary>
    private FlowClient ClientIn(string who, string token)
    {
        var backend = Server.Client(token);
        var client = new FlowClient(new FlowClientOptions { Home = HomeOf(who), Backend = backend }) { Timing = new RunTiming() };
        _owned.Add(client);
        _owned.Add(backend);
        return client;
    }

    private static string UniqueName(string what) => $"FS_SRV_{what}_{Guid.NewGuid():N}".ToUpperInvariant();

    private static string Canary() => "canary-" + Guid.NewGuid().ToString("N");

    // ---------------------------------------------------------------- at rest: the server's key

    [Fact]
    public async Task SetSecret_SendsTheValue_AndTheServerEncryptsItWithItsOwnOwnerOnlyKey()
    {
        var name = UniqueName("token");
        var value = Canary();
        var admin = ClientIn("admin", AdminToken);

        var set = await admin.SetSecretAsync(name, value, startNewKey: false, Ct);

        // The key is the server's: a file of its home (owner-only), none in the client's home.
        var serverKey = Path.Combine(Server.Home, SecretStore.KeyFileName);
        Assert.Equal(serverKey, set.KeyPath);
        Assert.True(File.Exists(serverKey));
        Assert.Equal(32, new FileInfo(serverKey).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(serverKey));
        }
        Assert.False(File.Exists(Path.Combine(admin.Home, SecretStore.KeyFileName)));

        // What the database holds decrypts with the server's key (the embedded store's own code over the server's database).
        using (var database = OpenDatabase())
        {
            Assert.Equal(value, await new SecretStore(() => database, serverKey).TryGetAsync(name, Ct));
            Assert.False(Contains((await database.GetSecretAsync(name, Ct))!.Ciphertext, Encoding.UTF8.GetBytes(value)));
        }

        // Everyone sees the name, readable by the server's key; nobody sees a value outside a run.
        var reader = ClientIn("ops", ReaderToken);
        var listed = Assert.Single(await reader.DescribeSecretsAsync(null, Ct), s => s.Name == name);
        Assert.True(listed.InStore);
        Assert.Equal(SecretKeyState.Readable, listed.KeyState);
        Assert.Contains("Flowstore server secret store", listed.Source, StringComparison.Ordinal);
        Assert.Contains(Server.Url.ToString(), listed.Source, StringComparison.Ordinal);
        var notHere = await Assert.ThrowsAsync<FlowstoreException>(async () => await admin.Secrets.ResolveAsync(name, Ct));
        Assert.Equal(ErrorIds.SecretNotFound, notHere.ErrorId);

        // Setting and removing need an admin key.
        var denied = await Assert.ThrowsAsync<FlowstoreException>(() => ClientIn("ci", RegistrarToken).SetSecretAsync(name, "other", startNewKey: false, Ct));
        Assert.Equal(ErrorIds.AccessDenied, denied.ErrorId);
        Assert.Contains("Admin", denied.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<FlowstoreException>(() => reader.RemoveSecretAsync(name, Ct));

        await admin.RemoveSecretAsync(name, Ct);
        Assert.DoesNotContain(await reader.DescribeSecretsAsync(null, Ct), s => s.Name == name);
        Assert.Equal(ErrorIds.SecretNotFound, (await Assert.ThrowsAsync<FlowstoreException>(() => admin.RemoveSecretAsync(name, Ct))).ErrorId);
    }

    [Fact]
    public async Task TheServersKeyLost_IsSaidThroughTheApi_AsLocally_AndANewKeyNamesWhatItAbandons()
    {
        var kept = UniqueName("kept");
        var admin = ClientIn("admin", AdminToken);
        await admin.SetSecretAsync(kept, Canary(), startNewKey: false, Ct);
        var serverKey = Path.Combine(Server.Home, SecretStore.KeyFileName);

        await Server.StopAsync();
        File.Delete(serverKey);
        await Server.RestartAsync();

        var listed = Assert.Single(await admin.DescribeSecretsAsync(null, Ct), s => s.Name == kept);
        Assert.Equal(SecretKeyState.KeyMissing, listed.KeyState);
        var next = UniqueName("next");
        var refused = await Assert.ThrowsAsync<FlowstoreException>(() => admin.SetSecretAsync(next, "v", startNewKey: false, Ct));
        Assert.Equal(ErrorIds.SecretKeyMissing, refused.ErrorId);
        Assert.Contains(serverKey, refused.Message, StringComparison.Ordinal);
        Assert.Contains(kept, refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(serverKey));

        var started = await admin.SetSecretAsync(next, "v", startNewKey: true, Ct);
        Assert.Equal([kept], started.Abandoned);
        Assert.Equal(serverKey, started.KeyPath);
        Assert.True(File.Exists(serverKey));
        Assert.Equal(SecretKeyState.OtherKey, (await admin.DescribeSecretsAsync(null, Ct)).Single(s => s.Name == kept).KeyState);
        Assert.Equal(SecretKeyState.Readable, (await admin.DescribeSecretsAsync(null, Ct)).Single(s => s.Name == next).KeyState);
    }

    // ---------------------------------------------------------------- a value: the agent of a running run only

    [Fact]
    public async Task AValue_GoesOnlyToTheAgentExecutingTheRun_WhileItRuns()
    {
        var name = UniqueName("run");
        var value = Canary();
        await ClientIn("admin", AdminToken).SetSecretAsync(name, value, startNewKey: false, Ct);
        using var registrar = Server.Client(RegistrarToken);
        using var agent = Server.Client(AgentToken);
        using var reader = Server.Client(ReaderToken);
        var flow = (await registrar.RegisterFlowAsync(new FlowRegistrationRequest
        {
            Project = "P", Name = "f", StructureJson = "{}", StructureHash = "h", RegistrationKey = "k", StorageType = "Local", StorageJson = "{}",
        }, Ct)).Flow;
        var run = await registrar.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        // Queued, not claimed: no value for anyone.
        var queued = await Assert.ThrowsAsync<FlowstoreException>(() => agent.GetRunSecretValueAsync(run.Id, "agent-1", name, Ct));
        Assert.Equal(ErrorIds.AccessDenied, queued.ErrorId);
        Assert.Contains("Scheduled", queued.Message, StringComparison.Ordinal);

        Assert.NotNull(await agent.ClaimRunAsync("agent-1", run.Id, Ct));
        Assert.Equal(value, await agent.GetRunSecretValueAsync(run.Id, "agent-1", name, Ct));
        Assert.Null(await agent.GetRunSecretValueAsync(run.Id, "agent-1", UniqueName("never-set"), Ct));

        // Another agent's name, a Reader, a Registrar: refused, naming the role needed, never showing the value.
        var otherAgent = await Assert.ThrowsAsync<FlowstoreException>(() => agent.GetRunSecretValueAsync(run.Id, "agent-2", name, Ct));
        Assert.Equal(ErrorIds.AccessDenied, otherAgent.ErrorId);
        Assert.Contains("agent-1", otherAgent.Message, StringComparison.Ordinal);
        foreach (var key in new[] { reader, registrar })
        {
            var denied = await Assert.ThrowsAsync<FlowstoreException>(() => key.GetRunSecretValueAsync(run.Id, "agent-1", name, Ct));
            Assert.Equal(ErrorIds.AccessDenied, denied.ErrorId);
            Assert.Contains("needs role Agent or Admin", denied.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(value, denied.ToString(), StringComparison.Ordinal);
        }

        // An agent key limited to another project gets nothing of this project's runs.
        using (var database = OpenDatabase())
        {
            var limited = (await new FlowApiKeys(new Lazy<IFlowBackend>(() => database)).CreateAsync("other-agent", FlowRole.Agent, ["Other"], null, "test", Ct)).Token;
            using var otherProject = Server.Client(limited);
            var outside = await Assert.ThrowsAsync<FlowstoreException>(() => otherProject.GetRunSecretValueAsync(run.Id, "agent-1", name, Ct));
            Assert.Equal(ErrorIds.AccessDenied, outside.ErrorId);
            Assert.Contains("'P'", outside.Message, StringComparison.Ordinal);
        }

        // Ended: no more values.
        Assert.True(await agent.CompleteRunAsync(run.Id, "agent-1", new RunCompletion { State = RunState.Success }, Ct));
        var ended = await Assert.ThrowsAsync<FlowstoreException>(() => agent.GetRunSecretValueAsync(run.Id, "agent-1", name, Ct));
        Assert.Equal(ErrorIds.AccessDenied, ended.ErrorId);
        Assert.Contains("Success", ended.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- three homes: admin sets, CI registers, an agent runs

    [Fact]
    public async Task AnAgentInAnotherHome_RunsAFlowWithTheServersSecret_AndTheValueIsNowhereElse()
    {
        var name = UniqueName("canary");
        var canary = Canary();
        var admin = ClientIn("admin", AdminToken);
        await admin.SetSecretAsync(name, canary, startNewKey: false, Ct);

        var ci = ClientIn("ci", RegistrarToken);
        var script = Path.Combine(HomeOf("scripts"), "secretive.cs");
        await File.WriteAllTextAsync(script, Fixtures.SecretiveFlow, Ct);
        foreach (var plan in await ci.PlanAsync(script, new RegisterOptions { Project = "P" }, null, Ct))
        {
            await ci.ApplyAsync(plan, new RegisterOptions { Project = "P" }, null, Ct);
        }
        var flow = await ci.GetFlowAsync("secretive", "P", null, Ct);
        var queued = await ci.Runs.QueueRunAsync(flow, new Dictionary<string, object?> { ["secret"] = name }, null, Ct);

        var agent = ClientIn("agent", AgentToken);
        var ran = Assert.Single(await agent.Runs.RunAgentAsync("agent-in-another-home", once: true, cancellationToken: Ct));
        Assert.Equal(queued.Id, ran.Id);

        // The task got the value (its hash), and the log and the error have *** where it was.
        Assert.Equal(RunState.Failed, ran.State);
        Assert.Equal(TaskRunState.Success, ran.Tasks.Single(t => t.Name == "use").State);
        Assert.Contains("the token *** was rejected", ran.Error, StringComparison.Ordinal);
        var log = await ClientIn("ops", ReaderToken).Runs.GetRunLogAsync(ran.Id, Ct);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canary)));
        Assert.Contains(log, l => l.Message == "sha256: " + hash);
        Assert.Contains(log, l => l.Message == "console: ***");
        Assert.Contains(log, l => l.Message == "stderr: ***");
        Assert.Contains(log, l => l.Message == "info: ***");
        Assert.DoesNotContain(log, l => l.Message.Contains(canary, StringComparison.Ordinal));

        // Answers other than the agent's value request: the run, the runs list, the secrets list.
        using (var http = new HttpClient { BaseAddress = Server.Url })
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
            foreach (var path in new[] { "api/v1/secrets", $"api/v1/secrets/{name}", "api/v1/runs", $"api/v1/runs/{ran.Id}/logs", "api/v1/flows", "api/v1/secret-ciphertexts" })
            {
                var body = await http.GetStringAsync(path, Ct);
                Assert.DoesNotContain(canary, body, StringComparison.Ordinal);
            }
        }

        await Server.StopAsync(); // flushes the log
        var log2 = await File.ReadAllTextAsync(Server.LogFile, Ct);
        Assert.Contains($"Secret {name} went to agent agent-in-another-home for run {ran.Id} (key=agent)", log2, StringComparison.Ordinal);
        Assert.Contains($"POST /api/v1/runs/{ran.Id}/secret-values 200", log2, StringComparison.Ordinal);

        // Every file of the server's, the admin's, CI's and the agent's homes, and the database.
        var places = new List<(string What, byte[] Bytes)>();
        foreach (var home in new[] { Server.Home, admin.Home, ci.Home, agent.Home })
        {
            foreach (var file in Directory.EnumerateFiles(home, "*", SearchOption.AllDirectories))
            {
                places.Add((file, ReadShared(file)));
            }
        }
        Assert.Contains(places, p => p.What.EndsWith(SecretStore.KeyFileName, StringComparison.Ordinal));
        Assert.Contains(places, p => p.What == Server.LogFile);
        Assert.Contains(places, p => p.What.Contains(Path.Combine(agent.Home, "cache"), StringComparison.Ordinal));
        places.AddRange(await DumpDatabaseAsync());
        Assert.Contains(places, p => Contains(p.Bytes, Encoding.UTF8.GetBytes("console: ***"))); // the right database was read
        foreach (var (what, bytes) in places)
        {
            Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(canary)), $"{what} holds the value (UTF-8)");
            Assert.False(Contains(bytes, Encoding.Unicode.GetBytes(canary)), $"{what} holds the value (UTF-16)");
        }
    }

    // ---------------------------------------------------------------- waiting with keys that may not execute runs

    [Fact]
    public async Task ARegistrarAndAReader_WaitForARunThatAnAgentInAnotherHomeExecutes()
    {
        var ci = ClientIn("ci", RegistrarToken);
        var script = Path.Combine(HomeOf("scripts"), "waited.cs");
        await File.WriteAllTextAsync(script, """
            using Flowstore;

            var flow = new Flow("waited");
            flow.Task("answer", () => 42);
            """, Ct);
        foreach (var plan in await ci.PlanAsync(script, new RegisterOptions { Project = "P" }, null, Ct))
        {
            await ci.ApplyAsync(plan, new RegisterOptions { Project = "P" }, null, Ct);
        }
        var flow = await ci.GetFlowAsync("waited", "P", null, Ct);
        var queued = await ci.Runs.QueueRunAsync(flow, null, null, Ct);

        // Both wait before any agent took the run: their keys may not fail stale runs, and the wait goes on without.
        var ciWaits = ci.Runs.WaitRunAsync(queued.Id, null, Ct);
        var opsWaits = ClientIn("ops", ReaderToken).Runs.WaitRunAsync(queued.Id, null, Ct);
        Assert.False(ciWaits.IsCompleted);
        Assert.False(opsWaits.IsCompleted);

        var ran = Assert.Single(await ClientIn("agent", AgentToken).Runs.RunAgentAsync("agent-for-waiters", once: true, cancellationToken: Ct));
        Assert.Equal(RunState.Success, ran.State);
        Assert.Equal(RunState.Success, (await ciWaits).State);
        Assert.Equal(RunState.Success, (await opsWaits).State);
    }

    private protected static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}

/// <summary>The server over a SQLite file in its home: the database is its files (flowstore.db, -wal, -shm).</summary>
public sealed class SqliteServerSecretsTests : ServerSecretsTests
{
    private protected override async Task<RunningServer> StartServerAsync()
    {
        var server = new RunningServer(null, "--Flowstore:ApiKeys=Required");
        await server.InitializeAsync();
        return server;
    }

    private protected override IFlowBackend OpenDatabase() => new SqliteFlowBackend(Path.Combine(Server.Home, SqliteFlowBackend.DefaultFileName));

    private protected override Task<IReadOnlyList<(string What, byte[] Bytes)>> DumpDatabaseAsync()
        => Task.FromResult<IReadOnlyList<(string, byte[])>>(Directory.GetFiles(Server.Home, SqliteFlowBackend.DefaultFileName + "*")
            .Select(f => (f, ReadShared(f))).ToArray());
}

/// <summary>The server over PostgreSQL (tests/servers/Start-Postgres.ps1): the database is what pg_dump writes of it.</summary>
public sealed class PostgresServerSecretsTests : ServerSecretsTests
{
    private readonly string _database = "fs_secrets_" + Guid.NewGuid().ToString("N")[..16];

    private static string Cluster => Environment.GetEnvironmentVariable("FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING") is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            "FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING is not set: start the PostgreSQL test server first (pwsh tests/servers/Start-Postgres.ps1 sets it).");

    private string ConnectionString => new NpgsqlConnectionStringBuilder(Cluster) { Database = _database }.ConnectionString;

    private protected override async Task<RunningServer> StartServerAsync()
    {
        await ExecuteAsync($"CREATE DATABASE {_database};");
        var server = new RunningServer(null, "--Flowstore:ApiKeys=Required", "--Flowstore:Backend=Postgres", $"--Flowstore:ConnectionString={ConnectionString}");
        await server.InitializeAsync();
        return server;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE);");
    }

    private protected override IFlowBackend OpenDatabase() => new PostgresFlowBackend(ConnectionString);

    private protected override async Task<IReadOnlyList<(string What, byte[] Bytes)>> DumpDatabaseAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        var bin = Environment.GetEnvironmentVariable("FLOWSTORE_TEST_POSTGRES_BIN") is { Length: > 0 } folder ? folder : "/usr/lib/postgresql/15/bin";
        var start = new ProcessStartInfo(Path.Combine(bin, "pg_dump"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "-h", builder.Host!, "-p", builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", builder.Username!, "-d", _database },
        };
        using var process = Process.Start(start)!;
        using var dump = new MemoryStream();
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.StandardOutput.BaseStream.CopyToAsync(dump, Ct);
        await process.WaitForExitAsync(Ct);
        Assert.True(process.ExitCode == 0, "pg_dump failed: " + await stderr);
        Assert.True(dump.Length > 0);
        return [("pg_dump of " + _database, dump.ToArray())];
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Cluster) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
