namespace Flowstore.Storage.GitHosts;

/// <summary>URL pieces for the Git hosts' APIs.</summary>
public static class GitHostUrls
{
    /// <summary>The host URL without a trailing slash; http(s) only.</summary>
    public static string NormalizeHost(string host, string service)
    {
        var trimmed = host.Trim().TrimEnd('/');
        if (!trimmed.Contains("://", StringComparison.Ordinal))
        {
            trimmed = "https://" + trimmed;
        }
        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"{service} host '{host}' is not an http(s) URL such as https://{service.ToLowerInvariant().Split(' ')[0]}.example.com (no credentials, no query).") { Target = host };
        }
        return trimmed;
    }

    /// <summary>A repository path: forward slashes, no leading "/" or "./".</summary>
    public static string NormalizePath(string path)
    {
        var p = path.Trim().Replace('\\', '/');
        while (p.StartsWith("./", StringComparison.Ordinal))
        {
            p = p[2..];
        }
        return p.TrimStart('/');
    }

    /// <summary>Each segment escaped, slashes kept (Bitbucket's {path:.*} paths).</summary>
    public static string EscapeSegments(string path)
        => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
}
