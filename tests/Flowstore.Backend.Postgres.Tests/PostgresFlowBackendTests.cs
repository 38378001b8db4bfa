using Flowstore.Backend.Contract;
using Npgsql;
using static Flowstore.Backend.Contract.MinimalRequests;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>
/// What only the PostgreSQL backend has: a claim that skips a locked run, several backends (connection pools) appending
/// log lines at once, its description and errors that never show the password, the connection string it accepts.
/// (Registering and claiming at once from several backends: <see cref="PostgresSharedDatabaseContractTests"/>.)
/// </summary>
public sealed class PostgresFlowBackendTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IDisposable
{
    private const int Racers = Race.Racers;
    private readonly List<PostgresFlowBackend> _backends = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose()
    {
        foreach (var backend in _backends)
        {
            backend.Dispose();
        }
        _timeout.Dispose();
    }

    // ---------------------------------------------------------------- concurrency

    [Fact]
    public async Task ClaimRun_OldestRunLockedByAnotherTransaction_SkipsItInsteadOfWaiting()
    {
        await using var queue = await ExclusiveQueueAsync();
        var flow = await NewFlowAsync(queue.Backend, "skip");
        var oldest = await queue.Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        var next = await queue.Backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);

        // Another agent's claim in progress: a transaction holding the oldest run's row lock.
        await using var other = new NpgsqlConnection(queue.ConnectionString);
        await other.OpenAsync(Ct);
        await using var transaction = await other.BeginTransactionAsync(Ct);
        await using (var lockOldest = new NpgsqlCommand("SELECT id FROM flowstore.runs WHERE id = @id FOR UPDATE;", other, transaction))
        {
            lockOldest.Parameters.AddWithValue("id", oldest.Id);
            Assert.Equal(oldest.Id, await lockOldest.ExecuteScalarAsync(Ct));
        }

        using var quick = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        quick.CancelAfter(TimeSpan.FromSeconds(20)); // a claim that waited for the lock would hang until rollback
        var claimed = await queue.Backend.ClaimRunAsync("agent-b", null, quick.Token);
        Assert.Equal(next.Id, claimed?.Id);
        Assert.Null(await queue.Backend.ClaimRunAsync("agent-c", oldest.Id, quick.Token)); // locked: not handed out

        await transaction.RollbackAsync(Ct);
        Assert.Equal(oldest.Id, (await queue.Backend.ClaimRunAsync("agent-c", null, Ct))?.Id);
    }

    [Fact]
    public async Task AppendLog_EightBackendsAppendingToOneRunAtOnce_KeepEveryLineWithoutDuplicateSequence()
    {
        var backends = Enumerable.Range(0, Racers).Select(_ => Open()).ToArray();
        var flow = await NewFlowAsync(backends[0], "logs");
        var run = await backends[0].CreateRunAsync(new NewRun { Flow = flow }, Ct);

        await Race.TogetherAsync(async i =>
        {
            for (var batch = 0; batch < 5; batch++)
            {
                var lines = Enumerable.Range(0, 3)
                    .Select(n => new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", $"racer {i} batch {batch} line {n}"))
                    .ToArray();
                await backends[i].AppendLogAsync(run.Id, lines, Ct);
            }
            return true;
        });

        var log = await backends[0].GetRunLogAsync(run.Id, Ct);
        Assert.Equal(Racers * 5 * 3, log.Count);
        Assert.Equal(log.Count, log.Select(l => l.Message).Distinct().Count());
        foreach (var racer in Enumerable.Range(0, Racers))
        {
            // Each batch stays together and in order: lines are appended in one statement.
            var mine = log.Select((l, index) => (l.Message, index)).Where(x => x.Message.StartsWith($"racer {racer} ", StringComparison.Ordinal)).ToList();
            Assert.Equal(mine.Select(x => x.Message).Order(StringComparer.Ordinal), mine.Select(x => x.Message));
        }
        var sequences = (long)(await PostgresTestServer.ScalarAsync(database.ConnectionString,
            $"SELECT COUNT(DISTINCT seq) FROM flowstore.run_logs WHERE run_id = '{run.Id}' AND seq BETWEEN 1 AND {log.Count};"))!;
        Assert.Equal(log.Count, sequences);
    }

    [Fact]
    public async Task Constraints_RejectADuplicateVersionWrittenBehindTheBackendsBack()
    {
        var backend = Open();
        var project = Unique("constraint");
        await backend.CreateProjectAsync(project, null, Ct);
        var flow = (await backend.RegisterFlowAsync(Request(project, "f", "k"), Ct)).Flow;

        var duplicate = await Assert.ThrowsAsync<PostgresException>(() => PostgresTestServer.ExecuteAsync($"""
            INSERT INTO flowstore.flows (id, project_id, name, version, version_group_id, structure_json, structure_hash,
                               registration_key, storage_type, storage_json, registered)
            SELECT '{Guid.NewGuid()}', project_id, 'F', 1, '{Guid.NewGuid()}', '', '', '', '', '', registered
            FROM flowstore.flows WHERE id = '{flow.Id}';
            """, database.ConnectionString));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, duplicate.SqlState); // (project, name ignoring case, version)
    }

    [Fact]
    public async Task NulCharacters_InLogLinesAndErrors_AreStoredAsReplacementCharactersInsteadOfFailingTheWrite()
    {
        var backend = Open();
        var flow = await NewFlowAsync(backend, "nul");
        var run = await backend.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        Assert.NotNull(await backend.ClaimRunAsync("agent-nul", run.Id, Ct));

        await backend.AppendLogAsync(run.Id, [new RunLogEntry(DateTimeOffset.UtcNow, "t\0ask", "Info", "before\0after")], Ct);
        Assert.True(await backend.CompleteRunAsync(run.Id, "agent-nul", new RunCompletion
        {
            State = RunState.Failed,
            Error = "bad\0byte",
            Tasks = [new TaskRunRecord("t", "t", TaskRunState.Failed, 1, null, null, "task\0error")],
        }, Ct));

        var line = Assert.Single(await backend.GetRunLogAsync(run.Id, Ct));
        Assert.Equal(("t\uFFFDask", "before\uFFFDafter"), (line.Task, line.Message));
        var ended = Assert.Single(await backend.GetRunsAsync(new RunQuery { Id = run.Id }, Ct));
        Assert.Equal("bad\uFFFDbyte", ended.Error);
        Assert.Equal("task\uFFFDerror", Assert.Single(ended.Tasks).Error);
    }

    // ---------------------------------------------------------------- description and errors

    [Fact]
    public async Task Ping_ReachableDatabase_SucceedsAndUnreachableOne_IsBackendUnavailable()
    {
        await Open().PingAsync(Ct);

        using var down = new PostgresFlowBackend($"Host=127.0.0.1;Port={Ports.Free()};Database=d;Username=u;Password=canary-Pa55word;Timeout=5");
        var error = await Assert.ThrowsAsync<FlowstoreException>(() => down.PingAsync(Ct));
        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.DoesNotContain("canary-Pa55word", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Description_NamesHostPortAndDatabase_NeverThePassword()
    {
        using var backend = new PostgresFlowBackend("Host=db.example.test;Port=6543;Database=teamflows;Username=fs;Password=canary-Pa55word");

        Assert.Equal("PostgreSQL db.example.test:6543/teamflows", backend.Description);
        Assert.Equal("PostgreSQL db.example.test:6543/teamflows", backend.ToString());
        Assert.Equal(("db.example.test", 6543, "teamflows"), (backend.Host, backend.Port, backend.Database));
    }

    [Fact]
    public void MaskConnectionString_ReplacesThePassword()
    {
        var masked = PostgresFlowBackend.MaskConnectionString("Host=h;Username=u;Password=canary-Pa55word;Database=d");

        Assert.DoesNotContain("canary-Pa55word", masked, StringComparison.Ordinal);
        Assert.Contains("Password=***", masked, StringComparison.Ordinal);
        Assert.Contains("Host=h", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("canary", PostgresFlowBackend.MaskConnectionString("Host=h;Bogus Keyword=1;Password=canary"), StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_UnreadableConnectionString_IsBackendUnavailableWithoutThePassword()
    {
        var error = Assert.Throws<FlowstoreException>(() => new PostgresFlowBackend("Host=h;Port=notaport;Password=canary-Pa55word"));

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Equal(FlowErrorKind.InvalidArgument, error.Kind);
        Assert.DoesNotContain("canary-Pa55word", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operation_NoServerListening_IsBackendUnavailableNamingHostPortAndDatabaseWithoutThePassword()
    {
        var port = Ports.Free();
        using var backend = new PostgresFlowBackend(
            $"Host=127.0.0.1;Port={port};Database=teamflows;Username=fs;Password=canary-Pa55word;Timeout=5");

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => backend.GetProjectsAsync(null, Ct));

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Equal(FlowErrorKind.ConnectionError, error.Kind);
        Assert.Contains($"127.0.0.1:{port}/teamflows", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be reached", error.Message, StringComparison.Ordinal);
        Assert.Equal($"PostgreSQL 127.0.0.1:{port}/teamflows", error.Target);
        Assert.DoesNotContain("canary-Pa55word", error.ToString(), StringComparison.Ordinal);

        var open = await Assert.ThrowsAsync<FlowstoreException>(() => PostgresFlowBackend.OpenAsync(
            $"Host=127.0.0.1;Port={port};Database=teamflows;Username=fs;Password=canary-Pa55word;Timeout=5", Ct));
        Assert.Equal(ErrorIds.BackendUnavailable, open.ErrorId);
        Assert.DoesNotContain("canary-Pa55word", open.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operation_DatabaseDoesNotExist_IsBackendUnavailableSayingSo()
    {
        var missing = "fs_missing_" + Guid.NewGuid().ToString("N")[..12];
        using var backend = new PostgresFlowBackend(PostgresTestServer.ConnectionStringFor(missing));

        var error = await Assert.ThrowsAsync<FlowstoreException>(() => backend.GetProjectsAsync(null, Ct));

        Assert.Equal(ErrorIds.BackendUnavailable, error.ErrorId);
        Assert.Contains($"/{missing}) does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operation_ServerRestartsWhileTheBackendLives_FailsDuringTheOutageAndWorksAfterwards()
    {
        await using var cluster = await PrivateCluster.StartAsync();
        using var backend = await PostgresFlowBackend.OpenAsync(cluster.ConnectionString("canary-Pa55word"), Ct);
        await backend.CreateProjectAsync("before", null, Ct);
        await backend.RegisterFlowAsync(Request("before", "my_flow", "k1"), Ct);

        await cluster.StopServerAsync();
        var during = await Assert.ThrowsAsync<FlowstoreException>(() => backend.GetProjectsAsync(null, Ct));
        Assert.Equal(ErrorIds.BackendUnavailable, during.ErrorId);
        Assert.Contains($"127.0.0.1:{cluster.Port}/postgres", during.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("canary-Pa55word", during.ToString(), StringComparison.Ordinal);
        var write = await Assert.ThrowsAsync<FlowstoreException>(() => backend.RegisterFlowAsync(Request("before", "my_flow", "k2"), Ct));
        Assert.Equal(ErrorIds.BackendUnavailable, write.ErrorId);

        await cluster.StartServerAsync();
        Assert.Equal("before", Assert.Single(await backend.GetProjectsAsync(null, Ct)).Name);
        var after = await backend.RegisterFlowAsync(Request("before", "my_flow", "k2"), Ct);
        Assert.Equal(2, after.Flow.Version); // the write refused during the outage left nothing behind

        // A restart between two calls (pooled connections all dead, no call during the outage): the next call works.
        await cluster.StopServerAsync();
        await cluster.StartServerAsync();
        Assert.Equal(2, Assert.Single(await backend.GetFlowsAsync(new FlowQuery { Project = "before" }, Ct)).Version);
        Assert.Equal(3, (await backend.RegisterFlowAsync(Request("before", "my_flow", "k3"), Ct)).Flow.Version);
    }

    // ---------------------------------------------------------------- idempotent answers (a server's; kept and expired: SharedDatabaseContractTests)

    [Fact]
    public async Task OneRequestDoneAtOnceThroughTwoServers_TheAnswerCommittedFirstStands_AndTheOtherWorkIsRolledBack()
    {
        var a = Open();
        var b = Open(); // another server over the same database
        var flow = await NewFlowAsync(a, "twice");
        var scope = "scope-" + Guid.NewGuid().ToString("N");
        var answering = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var goOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        static IdempotentAnswer Answer(string server, object? result)
        {
            var now = DateTimeOffset.UtcNow;
            return new IdempotentAnswer(201, "text/plain", System.Text.Encoding.UTF8.GetBytes($"{server} {((FlowRunRecord)result!).Id}"), now, now.AddHours(1));
        }

        // Server A has done the work (its run inserted, its transaction open) and is making its answer when ...
        var first = Task.Run(async () =>
        {
            using (IdempotentRequest.Enter(new IdempotentRequest(scope, result =>
            {
                answering.TrySetResult();
                goOn.Task.Wait(Ct);
                return Answer("a", result);
            })))
            {
                return await a.CreateRunAsync(new NewRun { Flow = flow }, Ct);
            }
        });
        await answering.Task.WaitAsync(Ct);

        // ... server B does the same request (the client's retry) and commits its run and answer first.
        FlowRunRecord second;
        using (IdempotentRequest.Enter(new IdempotentRequest(scope, result => Answer("b", result))))
        {
            second = await b.CreateRunAsync(new NewRun { Flow = flow }, Ct);
        }
        goOn.SetResult();

        // A's work is rolled back and A answers what B answered: one run, one answer.
        var answered = await Assert.ThrowsAsync<IdempotentRequestAnsweredException>(() => first);
        Assert.Equal($"b {second.Id}", System.Text.Encoding.UTF8.GetString(answered.Answer.Body));
        Assert.Equal(second.Id, Assert.Single(await a.GetRunsAsync(new RunQuery { Project = flow.Project }, Ct)).Id);
        Assert.Equal(answered.Answer.Body, (await a.GetIdempotentAnswerAsync(scope, Ct))!.Body);
    }

    // ---------------------------------------------------------------- helpers

    private PostgresFlowBackend Open(string? connectionString = null)
    {
        var backend = new PostgresFlowBackend(connectionString ?? database.ConnectionString);
        lock (_backends)
        {
            _backends.Add(backend);
        }
        return backend;
    }

    private static string Unique(string suffix) => $"pg-{Guid.NewGuid().ToString("N")[..10]}-{suffix}";

    private async Task<FlowRecord> NewFlowAsync(IFlowBackend backend, string suffix)
    {
        var project = Unique(suffix);
        await backend.CreateProjectAsync(project, null, Ct);
        return (await backend.RegisterFlowAsync(Request(project, "my_flow", "k"), Ct)).Flow;
    }

    /// <summary>A database of the fact's own, for facts that claim "the oldest" run and so need the whole queue.</summary>
    private async Task<ExclusiveQueue> ExclusiveQueueAsync()
    {
        var name = await PostgresTestServer.CreateDatabaseAsync();
        var connectionString = PostgresTestServer.ConnectionStringFor(name);
        return new ExclusiveQueue(name, connectionString, Open(connectionString));
    }

    private sealed class ExclusiveQueue(string name, string connectionString, PostgresFlowBackend backend)
        : IAsyncDisposable
    {
        public string ConnectionString => connectionString;

        public PostgresFlowBackend Backend => backend;

        public async ValueTask DisposeAsync() => await PostgresTestServer.DropDatabaseAsync(name);
    }
}
