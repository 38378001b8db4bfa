using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Flowstore.Storage.Docker;

/// <summary>
/// An image reference split into its parts: registry host (null: the local engine only), repository, and a tag or
/// a digest. <see cref="Name"/> is what the engine calls the repository ("127.0.0.1:5000/flows/etl").
/// </summary>
internal sealed partial record ImageReference(string? Registry, string Repository, string? Tag, string? Digest, Uri? RegistryBaseUri)
{
    /// <summary>The repository as the engine names it (registry host included).</summary>
    public string Name => Registry is null ? Repository : $"{Registry}/{Repository}";

    /// <summary>The tag, or "latest" when none.</summary>
    public string TagOrLatest => Tag ?? "latest";

    /// <summary>The full reference: name@digest when pinned, else name:tag.</summary>
    public override string ToString() => Digest is not null ? $"{Name}@{Digest}" : $"{Name}:{TagOrLatest}";

    /// <summary>The same image by digest.</summary>
    public ImageReference WithDigest(string digest) => this with { Digest = digest };

    /// <summary>The reference the settings name (the image's tag, or <paramref name="tag"/> when given).</summary>
    public static ImageReference FromSettings(DockerStorage storage, string? tag = null)
    {
        var imageName = storage.ImageName ?? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
            "Docker storage names no image (ImageName).");
        string? registry = null;
        Uri? baseUri = null;
        var repository = imageName.Trim();
        string? imageTag = tag ?? storage.ImageTag;
        string? digest = null;

        var at = repository.IndexOf('@');
        if (at >= 0)
        {
            digest = repository[(at + 1)..];
            repository = repository[..at];
        }
        var lastSlash = repository.LastIndexOf('/');
        var colon = repository.LastIndexOf(':');
        if (colon > lastSlash)
        {
            imageTag ??= repository[(colon + 1)..];
            repository = repository[..colon];
        }

        if (storage.RegistryUrl is { Length: > 0 } url)
        {
            (registry, baseUri) = ParseRegistry(url);
        }
        else
        {
            var first = repository.Split('/')[0];
            if (repository.Contains('/') && (first.Contains('.') || first.Contains(':') || first == "localhost"))
            {
                (registry, baseUri) = ParseRegistry(first);
                repository = repository[(first.Length + 1)..];
            }
        }
        if (!RepositoryPattern().IsMatch(repository))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"'{repository}' is not a valid image name: use lowercase letters, digits and . _ - separated by /.") { Target = imageName };
        }
        if (imageTag is not null && !TagPattern().IsMatch(imageTag))
        {
            throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"'{imageTag}' is not a valid image tag: up to 128 letters, digits, _ . - (not starting with . or -).") { Target = imageName };
        }
        return new ImageReference(registry, repository, imageTag, digest, baseUri);
    }

    /// <summary>"http://127.0.0.1:5000/" or "registry.example.com" → ("127.0.0.1:5000", http://127.0.0.1:5000/).</summary>
    public static (string Host, Uri BaseUri) ParseRegistry(string url)
    {
        var text = url.Trim().TrimEnd('/');
        string scheme;
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(text);
            scheme = uri.Scheme;
            text = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        }
        else
        {
            // Like the engine: registries on the loopback are spoken to over plain HTTP, others over HTTPS.
            var host = text.Split(':')[0];
            scheme = host is "localhost" || host.StartsWith("127.", StringComparison.Ordinal) || host == "[::1]" ? "http" : "https";
        }
        if (text == "docker.io" || text == "index.docker.io")
        {
            return ("docker.io", new Uri("https://registry-1.docker.io/"));
        }
        return (text, new Uri($"{scheme}://{text}/"));
    }

    /// <summary>A repository name made of a flow's slug: lowercase, only [a-z0-9._-].</summary>
    public static string NameFromSlug(string slug)
    {
        var builder = new StringBuilder();
        foreach (var c in slug.ToLowerInvariant())
        {
            builder.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-' ? c : '-');
        }
        var name = builder.ToString().Trim('.', '_', '-');
        return "flowstore/" + (name.Length == 0 ? "flow" : name);
    }

    /// <summary>A tag for a build now: the UTC time, e.g. 20261128T174500Z.</summary>
    public static string GeneratedTag(DateTimeOffset now) => GeneratedKeys.Timestamp(now);

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();
}
