namespace Flowstore.Storage.GitHosts.Tests;

/// <summary>Host URLs and repository paths as the Git host providers normalise them.</summary>
public sealed class GitHostUrlsTests
{
    [Theory]
    [InlineData("https://gitlab.example.com/", "https://gitlab.example.com")]
    [InlineData(" gitlab.example.com ", "https://gitlab.example.com")]
    [InlineData("http://127.0.0.1:8080/gitlab/", "http://127.0.0.1:8080/gitlab")]
    public void A_host_is_an_http_URL_without_a_trailing_slash(string host, string normalized)
        => Assert.Equal(normalized, GitHostUrls.NormalizeHost(host, "GitLab", "GitLab"));

    [Theory]
    [InlineData("ftp://gitlab.example.com")]
    [InlineData("https://user:secret@gitlab.example.com")]
    [InlineData("https://gitlab.example.com/?private_token=x")]
    public void A_host_with_credentials_a_query_or_another_scheme_is_StorageInvalid_without_repeating_credentials(string host)
    {
        var e = Assert.Throws<FlowstoreException>(() => GitHostUrls.NormalizeHost(host, "Bitbucket Server", "Bitbucket"));
        Assert.Equal(ErrorIds.StorageInvalid, e.ErrorId);
        Assert.Equal(FlowHint.StorageSetting("Bitbucket", "Host"), e.Hint);
        Assert.Contains("https://bitbucket.example.com", e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Theory]
    [InlineData("flows/my_flow.cs", "flows/my_flow.cs")]
    [InlineData("./flows/my_flow.cs", "flows/my_flow.cs")]
    [InlineData("/flows/my_flow.cs", "flows/my_flow.cs")]
    [InlineData(@"flows\sub\my_flow.cs", "flows/sub/my_flow.cs")]
    public void A_path_uses_forward_slashes_from_the_repository_root(string path, string normalized)
        => Assert.Equal(normalized, GitHostUrls.NormalizePath(path));

    [Fact]
    public void Segments_are_escaped_and_slashes_kept()
        => Assert.Equal("flows/my%20flow/f%C3%BCr.cs", GitHostUrls.EscapeSegments("flows/my flow/für.cs"));
}
