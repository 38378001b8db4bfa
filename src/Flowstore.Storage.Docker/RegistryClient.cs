using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Flowstore.Storage.Docker;

/// <summary>
/// Reads a file out of an image straight from a registry's HTTP API (Docker Registry v2 / OCI distribution), for
/// agents without a Docker engine: manifest (an index is resolved to linux/amd64) → layer blobs from the top down →
/// gunzip → tar → the file. Answers Basic and Bearer challenges with the credentials, if any.
/// </summary>
internal sealed class RegistryClient : IDisposable
{
    private const string ManifestAccept =
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, " +
        "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

    private readonly HttpClient _http;
    private readonly ImageReference _image;
    private readonly RegistryCredentials? _credentials;
    private readonly StorageRetry _retry;
    private AuthenticationHeaderValue? _authorization;

    public RegistryClient(ImageReference image, RegistryCredentials? credentials, StorageRetry? retry = null, HttpMessageHandler? handler = null)
    {
        _image = image;
        _credentials = credentials;
        _retry = retry ?? StorageRetry.Default;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = image.RegistryBaseUri ?? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
            $"The image {image} names no registry to read it from.");
        _http.Timeout = TimeSpan.FromMinutes(5);
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Flowstore/0.1");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The manifest's digest (what the tag points at, or the digest itself) and the file at <paramref name="path"/>.</summary>
    public async Task<(string Digest, byte[] Content)> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        var reference = _image.Digest ?? _image.TagOrLatest;
        var (digest, manifest) = await GetManifestAsync(reference, cancellationToken).ConfigureAwait(false);
        var layers = await LayersAsync(manifest, cancellationToken).ConfigureAwait(false);
        for (var i = layers.Count - 1; i >= 0; i--)
        {
            var (layerDigest, mediaType) = layers[i];
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"v2/{_image.Repository}/blobs/{layerDigest}"),
                HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            await ThrowIfFailedAsync(response, $"layer {layerDigest[..19]} of {_image}", cancellationToken).ConfigureAwait(false);
            await using var blob = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            Stream tar;
            try
            {
                tar = ImageFileReader.OpenLayer(blob, mediaType);
            }
            catch (NotSupportedException e)
            {
                throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidData,
                    $"The image {_image} cannot be read from the registry: {e.Message}; run on an agent with a Docker engine.") { Target = _image.ToString() };
            }
            await using (tar.ConfigureAwait(false))
            {
                var (verdict, content) = await ImageFileReader.SearchLayerAsync(tar, path, cancellationToken).ConfigureAwait(false);
                if (verdict == ImageFileReader.LayerVerdict.Found)
                {
                    return (digest, content!);
                }
                if (verdict == ImageFileReader.LayerVerdict.Deleted)
                {
                    break;
                }
            }
        }
        throw DockerErrors.PathNotInImage(_image.ToString(), path);
    }

    /// <summary>The digest of what the tag (or digest) points at now, without reading layers.</summary>
    public async Task<string> GetDigestAsync(CancellationToken cancellationToken)
        => (await GetManifestAsync(_image.Digest ?? _image.TagOrLatest, cancellationToken).ConfigureAwait(false)).Digest;

    private async Task<(string Digest, JsonElement Manifest)> GetManifestAsync(string reference, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{_image.Repository}/manifests/{reference}");
            request.Headers.TryAddWithoutValidation("Accept", ManifestAccept);
            return request;
        }, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw _image.Digest is not null
                ? new FlowstoreException(ErrorIds.PinnedVersionUnavailable, FlowErrorKind.ObjectNotFound,
                    $"The image {_image} is no longer in the registry {_image.Registry} (the digest was deleted or never pushed there).") { Target = _image.ToString() }
                : DockerErrors.ImageNotFound(_image.ToString(), $"the registry {_image.Registry} has no such image or tag");
        }
        await ThrowIfFailedAsync(response, $"the manifest of {_image}", cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var digest = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.First() : null;
        digest ??= "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        using var document = JsonDocument.Parse(bytes);
        return (digest, document.RootElement.Clone());
    }

    private async Task<List<(string Digest, string? MediaType)>> LayersAsync(JsonElement manifest, CancellationToken cancellationToken)
    {
        if (manifest.TryGetProperty("manifests", out var manifests))
        {
            // An index / manifest list: take linux/amd64, else the first.
            JsonElement? chosen = null;
            foreach (var candidate in manifests.EnumerateArray())
            {
                chosen ??= candidate;
                if (candidate.TryGetProperty("platform", out var platform)
                    && platform.TryGetProperty("os", out var os) && os.GetString() == "linux"
                    && platform.TryGetProperty("architecture", out var arch) && arch.GetString() == "amd64")
                {
                    chosen = candidate;
                    break;
                }
            }
            if (chosen is null)
            {
                throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidData,
                    $"The image index of {_image} lists no manifests.") { Target = _image.ToString() };
            }
            var (_, inner) = await GetManifestAsync(chosen.Value.GetProperty("digest").GetString()!, cancellationToken).ConfigureAwait(false);
            return await LayersAsync(inner, cancellationToken).ConfigureAwait(false);
        }
        if (!manifest.TryGetProperty("layers", out var layers))
        {
            throw new FlowstoreException(ErrorIds.StorageFetchFailed, FlowErrorKind.InvalidData,
                $"The manifest of {_image} has no layers (schema 1 manifests are not supported).") { Target = _image.ToString() };
        }
        return layers.EnumerateArray()
            .Select(l => (l.GetProperty("digest").GetString()!, l.TryGetProperty("mediaType", out var m) ? m.GetString() : null))
            .ToList();
    }

    /// <summary>Sends a request; on a 401 challenge, authenticates (Basic, or a Bearer token from the realm) and sends it again.</summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var response = await SendOnceAsync(create, completion, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || response.Headers.WwwAuthenticate.Count == 0)
        {
            return response;
        }
        var challenge = response.Headers.WwwAuthenticate.First();
        response.Dispose();
        _authorization = await AuthorizeAsync(challenge, cancellationToken).ConfigureAwait(false);
        return await SendOnceAsync(create, completion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One request with the shared retry policy: network failures and 5xx answers are retried, then StorageUnavailable.</summary>
    private Task<HttpResponseMessage> SendOnceAsync(Func<HttpRequestMessage> create, HttpCompletionOption completion, CancellationToken cancellationToken)
        => SendWithRetryAsync(() =>
        {
            var request = create();
            request.Headers.Authorization = _authorization;
            return request;
        }, completion, $"reading {_image}", cancellationToken);

    private Task<HttpResponseMessage> SendWithRetryAsync(Func<HttpRequestMessage> create, HttpCompletionOption completion, string operation,
        CancellationToken cancellationToken)
        => _retry.ExecuteAsync(
            new StorageCall<HttpResponseMessage>($"The registry {_image.Registry} ({_image.RegistryBaseUri})", operation)
            {
                OnResult = response => StorageRetry.IsTransientStatus(response.StatusCode)
                    ? RetryVerdict.Transient($"{(int)response.StatusCode} {response.ReasonPhrase}")
                    : RetryVerdict.Stop,
                Target = _image.ToString(),
            },
            async ct =>
            {
                using var request = create();
                return await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
            }, cancellationToken);

    private async Task<AuthenticationHeaderValue> AuthorizeAsync(AuthenticationHeaderValue challenge, CancellationToken cancellationToken)
    {
        var basic = _credentials is null ? null
            : Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_credentials.Username}:{_credentials.Password}"));
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return basic is null
                ? throw DockerErrors.RegistryDenied(_image, "the registry asks for credentials and the storage names no RegistryCredentialsSecret")
                : new AuthenticationHeaderValue("Basic", basic);
        }
        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw DockerErrors.RegistryDenied(_image, $"the registry asks for {challenge.Scheme} authentication, which is not supported");
        }
        var parameters = ParseChallenge(challenge.Parameter ?? "");
        if (!parameters.TryGetValue("realm", out var realm))
        {
            throw DockerErrors.RegistryDenied(_image, "the registry's Bearer challenge names no realm");
        }
        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }
        query.Add("scope=" + Uri.EscapeDataString(parameters.TryGetValue("scope", out var scope) ? scope : $"repository:{_image.Repository}:pull"));
        var tokenUrl = realm + (realm.Contains('?') ? "&" : "?") + string.Join('&', query);
        var tokenResponse = await SendWithRetryAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, tokenUrl);
            request.Headers.Authorization = basic is null ? null : new AuthenticationHeaderValue("Basic", basic);
            return request;
        }, HttpCompletionOption.ResponseContentRead, $"getting a token for {_image} from its token service", cancellationToken).ConfigureAwait(false);
        using (tokenResponse)
        {
            if (!tokenResponse.IsSuccessStatusCode)
            {
                throw DockerErrors.RegistryDenied(_image, $"its token service refused the credentials ({(int)tokenResponse.StatusCode})");
            }
            using var document = JsonDocument.Parse(await tokenResponse.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
            var token = document.RootElement.TryGetProperty("token", out var t) ? t.GetString()
                : document.RootElement.TryGetProperty("access_token", out var a) ? a.GetString() : null;
            return token is null
                ? throw DockerErrors.RegistryDenied(_image, "its token service returned no token")
                : new AuthenticationHeaderValue("Bearer", token);
        }
    }

    internal static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }
            var eq = parameter.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }
            var key = parameter[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var end = parameter.IndexOf('"', i + 1);
                end = end < 0 ? parameter.Length : end;
                value = parameter[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = parameter.IndexOf(',', i);
                end = end < 0 ? parameter.Length : end;
                value = parameter[i..end].Trim();
                i = end;
            }
            result[key] = value;
        }
        return result;
    }

    private async Task ThrowIfFailedAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw DockerErrors.RegistryDenied(_image, $"reading {what} was refused ({(int)response.StatusCode})");
        }
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw DockerErrors.ImageNotFound(_image.ToString(), $"the registry {_image.Registry} has no {what}");
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        throw new FlowstoreException(ErrorIds.StorageUnavailable, FlowErrorKind.ConnectionError,
            $"The registry {_image.Registry} failed reading {what} ({(int)response.StatusCode}): {Shorten(body)}") { Target = _image.ToString() };
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "..." : text.Trim();
}
