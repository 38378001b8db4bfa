using Xunit;

namespace Flowstore.Backend.Contract;

// The secret part of the contract (ISecretBlobStore): a backend keeps an opaque ciphertext under a name that
// ignores case, with creation and update times. Encryption happens in the client, so these facts use arbitrary
// bytes. Secrets are global to a backend, so every fact uses names with its own prefix and looks only at those.
public abstract partial class BackendContractTests
{
    // ---------------------------------------------------------------- put and get

    [Fact]
    public async Task PutSecret_ThenGet_IgnoresCaseOfTheName()
    {
        var name = UniqueName("Token");
        var ciphertext = new byte[] { 1, 2, 3, 250, 0, 7 };

        var before = DateTimeOffset.UtcNow;
        await Backend.PutSecretAsync(name, ciphertext, Ct);
        var after = DateTimeOffset.UtcNow;

        foreach (var asked in new[] { name, name.ToUpperInvariant(), name.ToLowerInvariant() })
        {
            var secret = await Backend.GetSecretAsync(asked, Ct);
            Assert.NotNull(secret);
            Assert.Equal(name, secret.Name);
            Assert.Equal(ciphertext, secret.Ciphertext);
            AssertUtcBetween(secret.Created, before, after);
            Assert.Equal(secret.Created, secret.Updated);
        }
        Assert.Null(await Backend.GetSecretAsync(UniqueName("Other"), Ct));
    }

    [Fact]
    public async Task PutSecret_CiphertextBytesRoundTripExactly()
    {
        // Every byte value (NULs, high bytes, invalid UTF-8) and a large blob come back unchanged.
        var everyByte = Enumerable.Range(0, 256).Select(b => (byte)b).Concat(Enumerable.Range(0, 256).Select(b => (byte)(255 - b))).ToArray();
        var large = new byte[256 * 1024];
        new Random(4).NextBytes(large);

        await Backend.PutSecretAsync(UniqueName("every-byte"), everyByte, Ct);
        await Backend.PutSecretAsync(UniqueName("large"), large, Ct);

        Assert.Equal(everyByte, (await Backend.GetSecretAsync(UniqueName("every-byte"), Ct))!.Ciphertext);
        Assert.Equal(large, (await Backend.GetSecretAsync(UniqueName("large"), Ct))!.Ciphertext);
        var listed = (await Backend.ListSecretsAsync(Ct)).Single(s => s.Name == UniqueName("large"));
        Assert.Equal(large, listed.Ciphertext);
    }

    [Fact]
    public async Task PutSecret_Replace_KeepsCreatedMovesUpdatedAndTheName()
    {
        var name = UniqueName("Rotated");
        await Backend.PutSecretAsync(name, new byte[] { 1, 1, 1 }, Ct);
        var first = await Backend.GetSecretAsync(name, Ct);
        Assert.NotNull(first);

        // Let the clock move past the first write by more than any backend's timestamp precision (no sleep).
        var resume = first.Updated.AddMilliseconds(5);
        while (DateTimeOffset.UtcNow < resume)
        {
            await Task.Yield();
        }
        var before = DateTimeOffset.UtcNow;
        await Backend.PutSecretAsync(name.ToUpperInvariant(), new byte[] { 2, 2 }, Ct);
        var after = DateTimeOffset.UtcNow;

        var replaced = await Backend.GetSecretAsync(name, Ct);
        Assert.NotNull(replaced);
        Assert.Equal(new byte[] { 2, 2 }, replaced.Ciphertext);
        Assert.Equal(first.Created, replaced.Created);
        Assert.True(replaced.Updated > first.Updated, $"Updated {replaced.Updated:O} is not after {first.Updated:O}");
        AssertUtcBetween(replaced.Updated, before, after);
        // A replace under another casing is the same secret, not a second one.
        Assert.Equal(name, replaced.Name, ignoreCase: true);
        Assert.Single(await Backend.ListSecretsAsync(Ct), s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    // ---------------------------------------------------------------- list

    [Fact]
    public async Task ListSecrets_IsSortedByNameIgnoringCase_WithTimesAndCiphertext()
    {
        // Ordinal order would be B, C, a; ignoring case it is a, B, C.
        foreach (var suffix in new[] { "C", "a", "B" })
        {
            await Backend.PutSecretAsync(UniqueName("list-" + suffix), new[] { (byte)suffix[0] }, Ct);
        }

        var all = await Backend.ListSecretsAsync(Ct);
        var mine = all.Where(s => s.Name.StartsWith(UniqueName("list-"), StringComparison.OrdinalIgnoreCase)).ToArray();

        Assert.Equal(new[] { UniqueName("list-a"), UniqueName("list-B"), UniqueName("list-C") }, mine.Select(s => s.Name));
        Assert.Equal(new[] { (byte)'a', (byte)'B', (byte)'C' }, mine.Select(s => Assert.Single(s.Ciphertext)));
        Assert.All(mine, s => Assert.Equal(s.Created, s.Updated));
    }

    // ---------------------------------------------------------------- delete

    [Fact]
    public async Task DeleteSecret_IsTrueOnceThenFalse_IgnoringCase()
    {
        var name = UniqueName("Doomed");
        var kept = UniqueName("Kept");
        await Backend.PutSecretAsync(name, new byte[] { 9 }, Ct);
        await Backend.PutSecretAsync(kept, new byte[] { 8 }, Ct);

        Assert.True(await Backend.DeleteSecretAsync(name.ToLowerInvariant(), Ct));
        Assert.Null(await Backend.GetSecretAsync(name, Ct));
        Assert.DoesNotContain(await Backend.ListSecretsAsync(Ct), s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
        Assert.False(await Backend.DeleteSecretAsync(name, Ct));
        Assert.False(await Backend.DeleteSecretAsync(UniqueName("Never"), Ct));

        // Deleting one secret leaves the others.
        Assert.Equal(new byte[] { 8 }, (await Backend.GetSecretAsync(kept, Ct))!.Ciphertext);

        // A deleted name can be set again: a new secret with a new creation time.
        await Backend.PutSecretAsync(name, new byte[] { 10 }, Ct);
        Assert.Equal(new byte[] { 10 }, (await Backend.GetSecretAsync(name, Ct))!.Ciphertext);
    }
}
