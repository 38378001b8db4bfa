namespace Flowstore.Storage.GitHosts;

/// <summary>URL pieces for the Git hosts' APIs.</summary>
public static class GitHostUrls
{
    /// <summary>
    /// The host URL without a trailing slash; http(s) only. Anything else is <see cref="ErrorIds.StorageInvalid"/> with a
    /// hint naming the Host setting of <paramref name="storageType"/>, not repeating a URL that holds credentials.
    /// </summary>
    public static string NormalizeHost(string host, string service, string storageType)
    {
        var trimmed = host.Trim().TrimEnd('/');
        if (!trimmed.Contains("://", StringComparison.Ordinal))
        {
            trimmed = "https://" + trimmed;
        }
        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            var given = trimmed.Contains('@', StringComparison.Ordinal) ? "" : $" '{host}'";
            throw StorageSettings.InvalidSetting(storageType, "Host",
                $"{service} host{given} is not an http(s) URL such as https://{service.ToLowerInvariant().Split(' ')[0]}.example.com (no credentials, no query).",
                target: given.Length == 0 ? storageType : host);
        }
        return trimmed;
    }

    /// <summary>The value trimmed, or null when it is null or blank.</summary>
    public static string? OrNull(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

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
