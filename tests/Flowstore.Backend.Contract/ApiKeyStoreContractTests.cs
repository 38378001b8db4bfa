using Xunit;

namespace Flowstore.Backend.Contract;

/// <summary>
/// The behaviour every <see cref="IApiKeyStore"/> shares (SQLite, PostgreSQL, the HTTP client through a server). A test
/// project subclasses this and supplies <see cref="CreateStore"/>; xunit runs each fact on a fresh instance. Facts use
/// key names of their own, so a store shared between tests works, except the first-key facts, which need an empty store
/// (<see cref="StoreStartsEmpty"/>).
/// </summary>
public abstract class ApiKeyStoreContractTests : IDisposable
{
    private readonly string _prefix = "key-" + Guid.NewGuid().ToString("N")[..12];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private IApiKeyStore? _store;
    private bool _disposed;

    /// <summary>A store for the current test; called at most once per test.</summary>
    protected abstract IApiKeyStore CreateStore();

    /// <summary>Whether <see cref="CreateStore"/> gives a store with no key in it (then the first-key facts run their checks).</summary>
    protected virtual bool StoreStartsEmpty => true;

    protected IApiKeyStore Store => _store ??= CreateStore();

    protected CancellationToken Ct => _timeout.Token;

    protected string UniqueName(string suffix) => $"{_prefix}-{suffix}";

    protected static NewApiKey NewKey(string name, FlowRole role, out string token, IReadOnlyList<string>? projects = null,
        DateTimeOffset? expires = null, string? createdBy = null)
    {
        token = ApiKeyToken.Generate();
        return new NewApiKey
        {
            Name = name,
            Role = role,
            Projects = projects ?? Array.Empty<string>(),
            Expires = expires,
            CreatedBy = createdBy,
            TokenHash = ApiKeyToken.Hash(token),
        };
    }

    [Fact]
    public async Task CreateApiKey_ThenFindByHash_ReturnsWhatWasRecorded()
    {
        var expires = DateTimeOffset.UtcNow.AddDays(30);
        var before = DateTimeOffset.UtcNow;
        var created = await Store.CreateApiKeyAsync(NewKey(UniqueName("ci"), FlowRole.Registrar, out var token,
            projects: ["Alpha", "beta"], expires: expires, createdBy: "admin"), Ct);
        var after = DateTimeOffset.UtcNow;

        Assert.NotEqual(Guid.Empty, created.Id);
        Assert.Equal(UniqueName("ci"), created.Name);
        Assert.Equal(FlowRole.Registrar, created.Role);
        Assert.Equal(["Alpha", "beta"], created.Projects);
        Assert.Equal("admin", created.CreatedBy);
        Assert.Null(created.Revoked);
        Assert.Null(created.LastUsed);
        Assert.Equal(ApiKeyState.Active, created.State);
        Assert.InRange(created.Created.UtcTicks, before.UtcTicks - 10, after.UtcTicks + 10);
        Assert.Equal(TimeSpan.Zero, created.Created.Offset);
        Assert.NotNull(created.Expires);
        Assert.InRange((created.Expires.Value - expires).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));

        var found = await Store.FindApiKeyByHashAsync(ApiKeyToken.Hash(token), Ct);
        Assert.Equal(created, found);
        Assert.DoesNotContain(token, found!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindApiKeyByHash_UnknownHash_IsNull()
    {
        await Store.CreateApiKeyAsync(NewKey(UniqueName("known"), FlowRole.Reader, out _), Ct);

        Assert.Null(await Store.FindApiKeyByHashAsync(ApiKeyToken.Hash(ApiKeyToken.Generate()), Ct));
    }

    [Fact]
    public async Task CreateApiKey_NameOfAnActiveKey_IgnoringCase_IsApiKeyExists_AndRecordsNothing()
    {
        await Store.CreateApiKeyAsync(NewKey(UniqueName("Ops"), FlowRole.Reader, out _), Ct);

        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Store.CreateApiKeyAsync(NewKey(UniqueName("Ops").ToUpperInvariant(), FlowRole.Admin, out var second), Ct));

        Assert.Equal(ErrorIds.ApiKeyExists, error.ErrorId);
        Assert.Contains(UniqueName("Ops"), error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Single((await Store.ListApiKeysAsync(Ct)).Where(k => k.Name.StartsWith(UniqueName("Ops"), StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task RevokeApiKey_MarksItRevoked_KeepsTheFirstTime_AndFreesTheName()
    {
        var key = await Store.CreateApiKeyAsync(NewKey(UniqueName("agent"), FlowRole.Agent, out var token), Ct);

        var revoked = await Store.RevokeApiKeyAsync(key.Id, Ct);
        Assert.NotNull(revoked);
        Assert.NotNull(revoked.Revoked);
        Assert.Equal(ApiKeyState.Revoked, revoked.State);
        var found = await Store.FindApiKeyByHashAsync(ApiKeyToken.Hash(token), Ct);
        Assert.Equal(revoked.Revoked, found!.Revoked);

        var again = await Store.RevokeApiKeyAsync(key.Id, Ct);
        Assert.Equal(revoked.Revoked, again!.Revoked);

        var successor = await Store.CreateApiKeyAsync(NewKey(UniqueName("agent"), FlowRole.Agent, out _), Ct);
        Assert.NotEqual(key.Id, successor.Id);
        Assert.Equal(2, (await Store.ListApiKeysAsync(Ct)).Count(k => k.Name == UniqueName("agent")));
    }

    [Fact]
    public async Task RevokeApiKey_UnknownId_IsNull()
        => Assert.Null(await Store.RevokeApiKeyAsync(Guid.NewGuid(), Ct));

    [Fact]
    public async Task ListApiKeys_HasEveryKey_RevokedToo_SortedByName()
    {
        var b = await Store.CreateApiKeyAsync(NewKey(UniqueName("b"), FlowRole.Reader, out _), Ct);
        var a = await Store.CreateApiKeyAsync(NewKey(UniqueName("a"), FlowRole.Admin, out _), Ct);
        var c = await Store.CreateApiKeyAsync(NewKey(UniqueName("C"), FlowRole.Agent, out _), Ct);
        await Store.RevokeApiKeyAsync(c.Id, Ct);

        var mine = (await Store.ListApiKeysAsync(Ct)).Where(k => k.Name.StartsWith(_prefix, StringComparison.Ordinal)).ToList();

        Assert.Equal([a.Id, b.Id, c.Id], mine.Select(k => k.Id));
        Assert.Equal(ApiKeyState.Revoked, mine[2].State);
    }

    [Fact]
    public async Task TouchApiKey_RecordsLastUse_NeverBackwards()
    {
        var key = await Store.CreateApiKeyAsync(NewKey(UniqueName("touched"), FlowRole.Reader, out var token), Ct);
        var later = DateTimeOffset.UtcNow.AddMinutes(5);

        await Store.TouchApiKeyAsync(key.Id, later, Ct);
        await Store.TouchApiKeyAsync(key.Id, later.AddMinutes(-3), Ct);

        var found = await Store.FindApiKeyByHashAsync(ApiKeyToken.Hash(token), Ct);
        Assert.NotNull(found!.LastUsed);
        Assert.InRange((found.LastUsed.Value - later).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task CreateApiKey_ExpiredTime_IsStoredAndReadsExpired()
    {
        var key = await Store.CreateApiKeyAsync(NewKey(UniqueName("old"), FlowRole.Reader, out _, expires: DateTimeOffset.UtcNow.AddMinutes(-1)), Ct);

        Assert.Equal(ApiKeyState.Expired, key.State);
        Assert.Equal(ApiKeyState.Expired, (await Store.ListApiKeysAsync(Ct)).Single(k => k.Id == key.Id).State);
    }

    [Fact]
    public async Task CreateApiKey_NameWithAControlCharacter_IsInvalidName()
    {
        var error = await Assert.ThrowsAsync<FlowstoreException>(() =>
            Store.CreateApiKeyAsync(NewKey(UniqueName("bad\u001b[31m"), FlowRole.Reader, out _), Ct));

        Assert.Equal(ErrorIds.InvalidName, error.ErrorId);
        Assert.DoesNotContain('\u001b', error.Message);
    }

    [Fact]
    public async Task CreateApiKey_GivenTheTokenInsteadOfItsHash_RefusesWithoutEchoingIt()
    {
        var token = ApiKeyToken.Generate();
        var key = new NewApiKey { Name = UniqueName("misused"), Role = FlowRole.Reader, TokenHash = token };

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Store.CreateApiKeyAsync(key, Ct));

        Assert.DoesNotContain(token, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain((await Store.ListApiKeysAsync(Ct)), k => k.Name == UniqueName("misused"));
    }

    [Fact]
    public async Task CreateFirstApiKey_CreatesOnlyOnAnEmptyStore_OnceAmongConcurrentCallers()
    {
        if (!StoreStartsEmpty)
        {
            // A shared store: the first key exists already; the call must then create nothing.
            Assert.Null(await Store.CreateFirstApiKeyAsync(NewKey(UniqueName("late-admin"), FlowRole.Admin, out _), Ct));
            return;
        }

        var store = Store;
        var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Task.Run(() => store.CreateFirstApiKeyAsync(NewKey(UniqueName($"admin{i}"), FlowRole.Admin, out _), Ct))));

        var first = Assert.Single(attempts, a => a is not null);
        Assert.Equal(FlowRole.Admin, first!.Role);
        Assert.Equal(first.Id, Assert.Single(await Store.ListApiKeysAsync(Ct)).Id);
        Assert.Null(await Store.CreateFirstApiKeyAsync(NewKey(UniqueName("second"), FlowRole.Admin, out _), Ct));
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
            (_store as IDisposable)?.Dispose();
            _timeout.Dispose();
        }
    }
}
