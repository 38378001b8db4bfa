using Flowstore.Storage.GitHosts;

namespace Flowstore.Storage.Bitbucket.Tests;

/// <summary>
/// Bitbucket storage that names no access token secret uses BITBUCKET_ACCESS_TOKEN when that secret resolves and anonymous
/// access otherwise, saying which in the verbose log; against the stand-in's private repository.
/// </summary>
public sealed class BitbucketDefaultTokenTests : IDisposable
{
    private const string FlowPath = "flows/my_flow.cs";
    private readonly TestRepo _repo = TestRepo.Create($"PROJ/{Kit.Unique("flows")}", "trunk", isPublic: false);

    public void Dispose() => _repo.Dispose();

    [Fact]
    public async Task Without_a_named_secret_BITBUCKET_ACCESS_TOKEN_reads_a_private_project_and_anonymous_access_is_used_when_it_does_not_resolve()
    {
        _repo.CommitAndPush(FlowPath, Kit.Script("private"));
        var storage = new BitbucketStorage("PROJ", _repo.FullName.Split('/')[1], FlowPath, StandIn.Url);
        var provider = new BitbucketStorageProvider(new GitHostHttpOptions());
        var secrets = new TestSecrets(new Dictionary<string, string> { ["BITBUCKET_ACCESS_TOKEN"] = StandIn.Token });

        var log = new List<string>();
        var context = Kit.RegistrationContext(secrets, Kit.Script("private"), log);
        var prepared = await provider.PrepareRegistrationAsync(provider.Resolve(storage, context), context, default);
        var fetched = await provider.FetchAsync(prepared.Settings, null, secrets, default);

        Assert.Equal(Kit.Script("private"), prepared.Stored!.Text);
        Assert.Equal(Kit.Script("private"), fetched.ScriptText);
        Assert.Contains(log, l => l.Contains("secret 'BITBUCKET_ACCESS_TOKEN' (the default name)", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.Contains(StandIn.Token, StringComparison.Ordinal));
        Assert.Null(((BitbucketStorage)prepared.Settings).AccessTokenSecret);

        var anonymousLog = new List<string>();
        var anonymous = Kit.RegistrationContext(new TestSecrets(new Dictionary<string, string>()), Kit.Script("private"), anonymousLog);
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => provider.PrepareRegistrationAsync(provider.Resolve(storage, anonymous), anonymous, default));
        Assert.Equal(ErrorIds.StorageAccessDenied, e.ErrorId);
        Assert.Contains(anonymousLog, l => l.Contains("secret 'BITBUCKET_ACCESS_TOKEN' was not found; using anonymous access", StringComparison.Ordinal));
    }
}
