using System.Text;
using Xunit;

namespace Flowstore.Backend.Contract;

/// <summary>
/// What a backend a server runs over (SQLite, PostgreSQL) does for a request answered under an Idempotency-Key
/// (<see cref="IdempotentRequest"/>): the call that does the request's work writes the request's answer in the same
/// transaction as the work, so the work is never committed without it; a call whose request was answered meanwhile (the
/// same request done through another server) rolls its work back and carries the kept answer. A test project subclasses
/// this and supplies <see cref="CreateBackend"/> (a fresh database per test).
/// </summary>
public abstract class IdempotentWorkContractTests : IDisposable
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private IFlowBackend? _backend;
    private bool _disposed;

    /// <summary>A backend over an empty database of the current test's own; also an <see cref="IIdempotentAnswerStore"/>.</summary>
    protected abstract IFlowBackend CreateBackend();

    protected IFlowBackend Backend => _backend ??= CreateBackend();

    private IIdempotentAnswerStore Answers => Assert.IsAssignableFrom<IIdempotentAnswerStore>(Backend);

    protected CancellationToken Ct => _timeout.Token;

    /// <summary>A request whose answer names the result it was given ("none" for no result).</summary>
    private static IdempotentRequest NewRequest(out string scope)
    {
        scope = "scope-" + Guid.NewGuid().ToString("N");
        return new IdempotentRequest(scope, result =>
        {
            var now = DateTimeOffset.UtcNow;
            return new IdempotentAnswer(200, "text/plain", Encoding.UTF8.GetBytes(Describe(result)), now, now.AddHours(1));
        });
    }

    private static string Describe(object? result) => result switch
    {
        null => "none",
        ProjectInfo p => $"project {p.Id}",
        RegistrationOutcome o => $"{o.Status} {o.Flow.Id} v{o.Flow.Version}",
        FlowRunRecord r => $"run {r.Id} {r.State}",
        ApiKeyInfo k => $"key {k.Id}",
        bool b => $"recorded {b}",
        _ => result.GetType().Name,
    };

    private static FlowRegistrationRequest Registration(string project, string key) => new()
    {
        Project = project, Name = "my_flow", StructureJson = "{}", StructureHash = "h-" + key, RegistrationKey = key, StorageType = "Local", StorageJson = "{}",
    };

    /// <summary>Does <paramref name="work"/> as the work of a request; the answer kept for it in the database (null when none).</summary>
    private async Task<(T Result, IdempotentAnswer? Kept)> AsRequestAsync<T>(Func<Task<T>> work)
    {
        var request = NewRequest(out var scope);
        T result;
        using (IdempotentRequest.Enter(request))
        {
            result = await work();
        }
        var kept = await Answers.GetIdempotentAnswerAsync(scope, Ct);
        Assert.Equal(request.Kept?.Body, kept?.Body);
        return (result, kept);
    }

    private static string Text(IdempotentAnswer? answer) => answer is null ? "(no answer kept)" : Encoding.UTF8.GetString(answer.Body);

    [Fact]
    public async Task EveryCallThatDoesARequestsWork_KeepsItsAnswerWithTheWork_AndCallsThatWriteNothingKeepNone()
    {
        var (project, projectAnswer) = await AsRequestAsync(() => Backend.CreateProjectAsync("team", null, Ct));
        Assert.Equal($"project {project.Id}", Text(projectAnswer));

        var (registered, registeredAnswer) = await AsRequestAsync(() => Backend.RegisterFlowAsync(Registration("team", "k1"), Ct));
        Assert.Equal($"Registered {registered.Flow.Id} v1", Text(registeredAnswer));
        // An unchanged registration writes no version, but its answer is kept: a retry says Skipped whatever came since.
        var (skipped, skippedAnswer) = await AsRequestAsync(() => Backend.RegisterFlowAsync(Registration("team", "k1"), Ct));
        Assert.Equal(RegistrationStatus.Skipped, skipped.Status);
        Assert.Equal($"Skipped {registered.Flow.Id} v1", Text(skippedAnswer));

        var (nothing, nothingAnswer) = await AsRequestAsync(() => Backend.ClaimRunAsync("agent-1", null, null, Ct));
        Assert.Null(nothing);
        Assert.Null(nothingAnswer); // nothing claimed, nothing written

        var (run, runAnswer) = await AsRequestAsync(() => Backend.CreateRunAsync(new NewRun { Flow = registered.Flow }, Ct));
        Assert.Equal($"run {run.Id} Scheduled", Text(runAnswer));
        var (claimed, claimedAnswer) = await AsRequestAsync(() => Backend.ClaimRunAsync("agent-1", null, null, Ct));
        Assert.Equal($"run {run.Id} Running", Text(claimedAnswer));
        Assert.Equal(run.Id, claimed!.Id);

        var line = new RunLogEntry(DateTimeOffset.UtcNow, null, "Info", "hello");
        var (_, logAnswer) = await AsRequestAsync(async () =>
        {
            await Backend.AppendLogAsync(run.Id, [line], Ct);
            return 0;
        });
        Assert.Equal("none", Text(logAnswer));

        var (recorded, completeAnswer) = await AsRequestAsync(() => Backend.CompleteRunAsync(run.Id, "agent-1", new RunCompletion { State = RunState.Success }, Ct));
        Assert.True(recorded);
        Assert.Equal("recorded True", Text(completeAnswer));
        var (again, againAnswer) = await AsRequestAsync(() => Backend.CompleteRunAsync(run.Id, "agent-1", new RunCompletion { State = RunState.Success }, Ct));
        Assert.False(again);
        Assert.Null(againAnswer); // no longer Running: nothing written

        if (Backend is IApiKeyStore keys)
        {
            var (key, keyAnswer) = await AsRequestAsync(() => keys.CreateApiKeyAsync(new NewApiKey
            {
                Name = "ci", Role = FlowRole.Registrar, TokenHash = ApiKeyToken.Hash(ApiKeyToken.Generate()),
            }, Ct));
            Assert.Equal($"key {key.Id}", Text(keyAnswer));
        }

        // Outside a request nothing is kept, and a request keeps only its first work's answer.
        var request = NewRequest(out var scope);
        using (IdempotentRequest.Enter(request))
        {
            await Backend.CreateProjectAsync("first", null, Ct);
            await Backend.CreateProjectAsync("second", null, Ct);
        }
        var first = $"project {(await Backend.GetProjectsAsync("first", Ct)).Single().Id}";
        Assert.Equal(first, Text(request.Kept));
        Assert.Equal(first, Text(await Answers.GetIdempotentAnswerAsync(scope, Ct)));
        Assert.Single(await Backend.GetProjectsAsync("second", Ct));
    }

    [Fact]
    public async Task ACallWhoseRequestWasAnsweredMeanwhile_RollsItsWorkBack_AndCarriesTheKeptAnswer()
    {
        await Backend.CreateProjectAsync("team", null, Ct);
        var v1 = (await Backend.RegisterFlowAsync(Registration("team", "k1"), Ct)).Flow;

        // The same requests, answered meanwhile through another server (its answers committed first).
        foreach (var work in new Func<Task>[]
        {
            () => Backend.CreateRunAsync(new NewRun { Flow = v1 }, Ct),
            () => Backend.RegisterFlowAsync(Registration("team", "k2"), Ct),
            () => Backend.CreateProjectAsync("other", null, Ct),
        })
        {
            var request = NewRequest(out var scope);
            var now = DateTimeOffset.UtcNow;
            var theirs = new IdempotentAnswer(201, "application/json", "{\"theirs\":true}"u8.ToArray(), now, now.AddHours(1));
            await Answers.SaveIdempotentAnswerAsync(scope, theirs, Ct);

            IdempotentRequestAnsweredException answered;
            using (IdempotentRequest.Enter(request))
            {
                answered = await Assert.ThrowsAsync<IdempotentRequestAnsweredException>(work);
            }

            Assert.Equal(theirs.Body, answered.Answer.Body);
            Assert.Equal(201, answered.Answer.Status);
            Assert.Null(request.Kept);
            Assert.Equal(theirs.Body, (await Answers.GetIdempotentAnswerAsync(scope, Ct))!.Body);
        }

        // Nothing of the three calls' work was committed.
        Assert.Empty(await Backend.GetRunsAsync(new RunQuery(), Ct));
        Assert.Equal([1], (await Backend.GetFlowsAsync(new FlowQuery { Project = "team", IncludeArchived = true }, Ct)).Select(f => f.Version));
        Assert.Equal(["team"], (await Backend.GetProjectsAsync(null, Ct)).Select(p => p.Name));
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (disposing)
        {
            _backend?.Dispose();
            _timeout.Dispose();
        }
    }
}
