namespace Flowstore.Storage.GitHosts.Tests;

/// <summary>The access token of a Git host storage, from its secret.</summary>
public sealed class GitHostTokensTests
{
    private sealed class Secrets(Dictionary<string, string> values) : ISecretResolver
    {
        public ValueTask<string> ResolveAsync(string name, CancellationToken cancellationToken)
            => values.TryGetValue(name, out var value)
                ? ValueTask.FromResult(value)
                : throw new FlowstoreException(ErrorIds.SecretNotFound, FlowErrorKind.ObjectNotFound, $"Secret '{name}' was not found.") { Target = name };
    }

    [Fact]
    public async Task No_secret_name_is_anonymous_access_and_a_named_one_is_resolved()
    {
        var secrets = new Secrets(new() { ["TOKEN"] = "value" });
        Assert.Null(await GitHostTokens.ResolveAsync(secrets, null, "GitLab storage", default));
        Assert.Equal("value", await GitHostTokens.ResolveAsync(secrets, "TOKEN", "GitLab storage", default));
    }

    [Fact]
    public async Task A_missing_secret_is_SecretNotFound_naming_the_storage_with_a_hint_to_set_it_and_no_cmdlet()
    {
        var e = await Assert.ThrowsAsync<FlowstoreException>(() =>
            GitHostTokens.ResolveAsync(new Secrets(new()), "NO_SUCH", "GitLab storage (project 'g/p')", default));
        Assert.Equal(ErrorIds.SecretNotFound, e.ErrorId);
        Assert.Equal(FlowHint.SetSecret("NO_SUCH"), e.Hint);
        Assert.Equal("NO_SUCH", e.Target);
        Assert.Contains("project 'g/p'", e.Message);
        Assert.DoesNotContain("Set-FlowSecret", e.Message);
    }
}
