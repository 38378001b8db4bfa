namespace Flowstore.Storage.GitHub.Tests;

/// <summary>
/// GitHub storage that names no access token secret uses GITHUB_ACCESS_TOKEN when that secret resolves (as Prefect
/// users expect) and anonymous access otherwise, saying which in the verbose log; against the stand-in's private repository.
/// </summary>
public sealed class GitHubDefaultTokenTests : IDisposable
{
    private const string FlowPath = "flows/my_flow.cs";
    private const string Script = "using Flowstore;\nvar flow = new Flow(\"example\");\nflow.Task(\"say\", () => Console.WriteLine(\"private\"));\n";
    private readonly TestRepo _repo = GitHubRepos.Create();

    public GitHubDefaultTokenTests() => StorageTypes.Register<GitHubStorage>("GitHub");

    public void Dispose() => _repo.Dispose();

    private static StorageRegistrationContext Context(ISecretResolver secrets, List<string> log)
        => new("/local/flows/my_flow.cs", Script, FlowStructure.Sha256Hex(Script), "example", "example", secrets, log.Add);

    [Fact]
    public async Task Without_a_named_secret_GITHUB_ACCESS_TOKEN_reads_a_private_repository_and_anonymous_access_is_used_when_it_does_not_resolve()
    {
        _repo.CommitAndPush(FlowPath, Script);
        var storage = new GitHubStorage(_repo.FullName, FlowPath, baseUrl: StandIn.Url);
        var provider = GitHubProvider.Fast();
        var secrets = DictionarySecrets.With(("GITHUB_ACCESS_TOKEN", StandIn.Token));

        var log = new List<string>();
        var context = Context(secrets, log);
        var prepared = await provider.PrepareRegistrationAsync(provider.Resolve(storage, context), context, CancellationToken.None);
        var fetched = await provider.FetchAsync(prepared.Settings, null, secrets, CancellationToken.None);

        Assert.Equal(Script, prepared.Stored!.Text);
        Assert.Equal(Script, fetched.ScriptText);
        Assert.Contains(log, l => l.Contains("secret 'GITHUB_ACCESS_TOKEN' (the default name)", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.Contains(StandIn.Token, StringComparison.Ordinal));
        // Nothing about the default is saved with the flow: it is looked up at each use.
        Assert.Null(((GitHubStorage)prepared.Settings).AccessTokenSecret);

        var anonymousLog = new List<string>();
        var anonymous = Context(new SecretResolver(), anonymousLog);
        var e = await Assert.ThrowsAsync<FlowstoreException>(() => provider.PrepareRegistrationAsync(provider.Resolve(storage, anonymous), anonymous, CancellationToken.None));
        Assert.Equal(ErrorIds.StorageNotFound, e.ErrorId);
        Assert.Contains(anonymousLog, l => l.Contains("secret 'GITHUB_ACCESS_TOKEN' was not found; using anonymous access", StringComparison.Ordinal));
    }
}
