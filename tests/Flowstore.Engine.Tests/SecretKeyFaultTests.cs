using System.Security.Cryptography;
using Flowstore.Backend.Sqlite;
using Flowstore.Engine;
using Flowstore.Testing;

namespace Flowstore.Engine.Tests;

/// <summary>
/// Faults of the secret store key: a full disk while the key is created (a real tmpfs as FLOWSTORE_HOME), an empty or
/// short key file, a missing key while the store holds secrets encrypted with it (never silently replaced), and the
/// listing marking secrets the current key cannot decrypt.
/// </summary>
public sealed class SecretKeyFaultTests : EngineTestBase
{
    private string KeyPath => Path.Combine(Home, "secret.key");

    private static string UniqueName(string what) => $"FS_KEY_{what}_{Guid.NewGuid():N}".ToUpperInvariant();

    [Fact]
    public async Task A_full_disk_while_creating_the_key_leaves_no_key_and_no_temporary_file_and_a_later_set_works()
    {
        using var tmpfs = new SmallTmpfs();
        var home = Path.Combine(tmpfs.Path, "home");
        var key = Path.Combine(home, "secret.key");
        // Only the key is on the disk that fills: the database lives on another disk, so the key write is the one
        // write that meets the full disk (a database on the same full disk may fail first, as BackendUnavailable).
        var database = Temp.File("flowstore.db");
        FlowClient NewClientOnTmpfs() => new(new FlowClientOptions { Home = home, Backend = new SqliteFlowBackend(database) });
        using (var client = NewClientOnTmpfs())
        {
            await client.EnsureProjectAsync("P", create: true);
            Assert.True(tmpfs.Fill() > 0);

            var e = await Assert.ThrowsAsync<FlowstoreException>(() => client.SetSecretAsync("TOKEN", "value-1"));

            Assert.Equal(ErrorIds.SecretKeyWriteFailed, e.ErrorId);
            Assert.Equal(FlowErrorKind.WriteError, e.Kind);
            Assert.Contains("disk is full", e.Message);
            Assert.Contains(key, e.Message);
            Assert.False(File.Exists(key), "a failed write must not leave an empty or partial key file");
            Assert.Empty(Directory.GetFiles(home, "*.tmp"));
            Assert.Empty(await client.Backend.ListSecretsAsync(default));
            client.Backend.Dispose();
        }

        tmpfs.Free();
        using (var client = NewClientOnTmpfs())
        {
            await client.SetSecretAsync("TOKEN", "value-2");
            Assert.Equal(32, new FileInfo(key).Length);
            client.Backend.Dispose();
        }
        using (var client = NewClientOnTmpfs())
        {
            Assert.Equal("value-2", await client.Secrets.ResolveAsync("TOKEN", default));
            client.Backend.Dispose();
        }
    }

    [Fact]
    public async Task An_empty_key_file_says_it_is_empty_and_safe_to_remove()
    {
        File.WriteAllBytes(KeyPath, Array.Empty<byte>());

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => NewClient().SetSecretAsync(UniqueName("empty"), "v"));

        Assert.Equal(ErrorIds.SecretKeyInvalid, e.ErrorId);
        Assert.Contains(KeyPath, e.Message);
        Assert.Contains("is empty (0 bytes", e.Message);
        Assert.Contains("safe to remove", e.Message);
        Assert.Contains("the store holds no secrets", e.Message);

        // Following the advice works: remove it, set again.
        File.Delete(KeyPath);
        await NewClient().SetSecretAsync(UniqueName("after"), "v");
        Assert.Equal(32, new FileInfo(KeyPath).Length);
    }

    [Fact]
    public async Task A_short_key_file_over_stored_secrets_says_it_holds_no_key_and_what_the_secrets_need()
    {
        var name = UniqueName("stored");
        await Client.SetSecretAsync(name, "v");
        File.WriteAllBytes(KeyPath, new byte[5]);

        var e = await Assert.ThrowsAsync<FlowstoreException>(() => NewClient().Secrets.ResolveAsync(name, default).AsTask());

        Assert.Equal(ErrorIds.SecretKeyInvalid, e.ErrorId);
        Assert.Contains("is too short (5 bytes", e.Message);
        Assert.Contains("safe to remove", e.Message);
        Assert.Contains(name, e.Message);
        Assert.Contains("restore that key", e.Message);
        Assert.Equal(FlowHintKind.RestoreOrNewSecretKey, e.Hint?.Kind);
    }

    [Fact]
    public async Task A_missing_key_with_stored_secrets_refuses_Set_with_SecretKeyMissing_and_writes_nothing()
    {
        var old = UniqueName("old");
        await Client.SetSecretAsync(old, "old-value");
        var oldKey = File.ReadAllBytes(KeyPath);
        File.Delete(KeyPath);

        var other = UniqueName("other");
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => NewClient().SetSecretAsync(other, "new-value"));

        Assert.Equal(ErrorIds.SecretKeyMissing, e.ErrorId);
        Assert.Contains(KeyPath, e.Message);
        Assert.Contains(old, e.Message);
        Assert.Equal(FlowHint.RestoreOrNewSecretKey(KeyPath, other), e.Hint);
        Assert.DoesNotContain("new-value", e.ToString());
        Assert.False(File.Exists(KeyPath), "no new key may be created over stored secrets");
        Assert.Null(await Client.Backend.GetSecretAsync(other, default));

        // The error's advice holds: restoring the key brings the old secret back.
        File.WriteAllBytes(KeyPath, oldKey);
        Assert.Equal("old-value", await NewClient().Secrets.ResolveAsync(old, default));
    }

    [Fact]
    public async Task Starting_a_new_key_names_what_it_abandons_and_the_listing_marks_them()
    {
        var old = UniqueName("old");
        await Client.SetSecretAsync(old, "old-value");
        File.Delete(KeyPath);

        var missing = await NewClient().DescribeSecretsAsync(null);
        Assert.Equal(SecretKeyState.KeyMissing, Assert.Single(missing).KeyState);

        var fresh = UniqueName("fresh");
        var result = await NewClient().SetSecretAsync(fresh, "fresh-value", startNewKey: true);

        Assert.Equal(new[] { old }, result.Abandoned);
        Assert.True(File.Exists(KeyPath));
        var listed = await NewClient().DescribeSecretsAsync(null);
        Assert.Equal(SecretKeyState.OtherKey, listed.Single(s => s.Name == old).KeyState);
        Assert.Equal(SecretKeyState.Readable, listed.Single(s => s.Name == fresh).KeyState);
        Assert.Equal("fresh-value", await NewClient().Secrets.ResolveAsync(fresh, default));

        // With a key in place, a later set is a plain set: nothing more abandoned.
        var again = await NewClient().SetSecretAsync(UniqueName("later"), "v", startNewKey: true);
        Assert.Empty(again.Abandoned);
    }

    [Fact]
    public async Task A_missing_key_with_only_the_secret_being_replaced_stored_starts_a_new_key()
    {
        var name = UniqueName("only");
        await Client.SetSecretAsync(name, "v1");
        File.Delete(KeyPath);

        var result = await NewClient().SetSecretAsync(name, "v2", startNewKey: false);

        Assert.Empty(result.Abandoned);
        Assert.Equal("v2", await NewClient().Secrets.ResolveAsync(name, default));
    }

    [Fact]
    public async Task The_listing_marks_a_secret_encrypted_with_another_key()
    {
        var name = UniqueName("rotated");
        await Client.SetSecretAsync(name, "v");
        Assert.Equal(SecretKeyState.Readable, Assert.Single(await NewClient().DescribeSecretsAsync(null)).KeyState);

        File.WriteAllBytes(KeyPath, RandomNumberGenerator.GetBytes(32));

        var listed = Assert.Single(await NewClient().DescribeSecretsAsync(null));
        Assert.Equal(SecretKeyState.OtherKey, listed.KeyState);
        Assert.True(listed.InStore);
    }
}
