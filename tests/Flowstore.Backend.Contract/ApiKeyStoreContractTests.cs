using Xunit;

namespace Flowstore.Backend.Contract;

/// <summary>
/// The behaviour every <see cref="IApiKeyStore"/> a server runs over shares (SQLite, PostgreSQL): the management facts of
/// <see cref="ApiKeyManagementContractTests"/>, plus looking keys up by hash, last use and the first key. The first-key
/// facts need an empty store (<see cref="StoreStartsEmpty"/>).
/// </summary>
public abstract class ApiKeyStoreContractTests : ApiKeyManagementContractTests
{
    /// <summary>Whether <see cref="ApiKeyManagementContractTests.CreateStore"/> gives a store with no key in it (then the first-key facts run their checks).</summary>
    protected virtual bool StoreStartsEmpty => true;

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
}
