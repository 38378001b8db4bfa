using Xunit;

namespace Flowstore.Backend.Contract;

/// <summary>
/// What every <see cref="IApiKeyStore"/> does for whoever manages keys: create, list, revoke (SQLite, PostgreSQL, and the
/// HTTP client through a server's key endpoints). The server-side part of a store (looking a key up by its hash, recording
/// its last use, the first key of an empty store) is <see cref="ApiKeyStoreContractTests"/>. A test project subclasses this
/// and supplies <see cref="CreateStore"/>; xunit runs each fact on a fresh instance. Facts use key names of their own, so a
/// store shared between tests works.
/// </summary>
public abstract class ApiKeyManagementContractTests : IDisposable
{
    private readonly string _prefix = "key-" + Guid.NewGuid().ToString("N")[..12];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private IApiKeyStore? _store;
    private bool _disposed;

    /// <summary>A store for the current test; called at most once per test.</summary>
    protected abstract IApiKeyStore CreateStore();

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
    public async Task CreateApiKey_ThenList_HasWhatWasRecorded_AndNoToken()
    {
        var expires = DateTimeOffset.UtcNow.AddDays(30);
        var created = await Store.CreateApiKeyAsync(NewKey(UniqueName("listed"), FlowRole.Registrar, out var token, expires: expires, createdBy: "admin"), Ct);

        var listed = Assert.Single((await Store.ListApiKeysAsync(Ct)), k => k.Id == created.Id);
        Assert.Equal(created, listed);
        Assert.Equal(UniqueName("listed"), listed.Name);
        Assert.Equal(FlowRole.Registrar, listed.Role);
        Assert.Empty(listed.Projects);
        Assert.Equal(ApiKeyState.Active, listed.State);
        Assert.InRange((listed.Expires!.Value - expires).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(token, listed.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokeApiKey_ReturnsItRevoked_ListsItRevoked_AndKeepsTheFirstTime()
    {
        var key = await Store.CreateApiKeyAsync(NewKey(UniqueName("gone"), FlowRole.Agent, out _), Ct);

        var revoked = await Store.RevokeApiKeyAsync(key.Id, Ct);
        var again = await Store.RevokeApiKeyAsync(key.Id, Ct);

        Assert.Equal(ApiKeyState.Revoked, revoked!.State);
        Assert.Equal(revoked.Revoked, again!.Revoked);
        Assert.Equal(revoked.Revoked, (await Store.ListApiKeysAsync(Ct)).Single(k => k.Id == key.Id).Revoked);
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
