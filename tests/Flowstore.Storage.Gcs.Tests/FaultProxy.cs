using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Flowstore.Storage.Gcs.Tests;

/// <summary>
/// An HTTP proxy on 127.0.0.1 in front of the real emulator that injects faults: the next N requests get a given
/// status (and body), or have their connection dropped; every request's method and path are recorded.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly ConcurrentQueue<Func<HttpContext, Task<bool>>> _faults = new();

    private FaultProxy(WebApplication app, HttpClient upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    public string Url { get; private set; } = "";

    /// <summary>Requests seen, as "METHOD path?query", in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The scheme of each request's Authorization header ("" when none), in order; never the credential.</summary>
    public ConcurrentQueue<string> AuthorizationSchemes { get; } = new();

    /// <summary>Requests answered with a fault.</summary>
    public int Faulted => _faulted;

    private int _faulted;

    public static async Task<FaultProxy> StartAsync(string upstreamUrl)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(upstreamUrl) };
        var proxy = new FaultProxy(app, upstream);
        app.Run(proxy.HandleAsync);
        await app.StartAsync();
        proxy.Url = app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
        return proxy;
    }

    /// <summary>The next <paramref name="count"/> requests are answered with <paramref name="status"/> (JSON error body).</summary>
    public void FailNext(int count, HttpStatusCode status, string message = "injected fault")
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(async context =>
            {
                context.Response.StatusCode = (int)status;
                context.Response.ContentType = "application/json; charset=UTF-8";
                await context.Response.WriteAsync(
                    $$$"""{"error":{"code":{{{(int)status}}},"message":"{{{message}}}","errors":[{"message":"{{{message}}}","domain":"global","reason":"injected"}]}}""");
                return true;
            });
        }
    }

    /// <summary>The next <paramref name="count"/> requests lose their connection without an answer.</summary>
    public void DropNext(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(context =>
            {
                context.Abort();
                return Task.FromResult(true);
            });
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var pathAndQuery = context.Request.Path + context.Request.QueryString;
        Requests.Enqueue($"{context.Request.Method} {pathAndQuery}");
        AuthorizationSchemes.Enqueue(context.Request.Headers.Authorization.ToString().Split(' ')[0]);
        if (_faults.TryDequeue(out var fault))
        {
            Interlocked.Increment(ref _faulted);
            // The body is read first, as a server would before failing.
            await context.Request.Body.CopyToAsync(Stream.Null);
            await fault(context);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), pathAndQuery);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            body.Position = 0;
            request.Content = new StreamContent(body);
        }
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
        // The emulator builds upload URLs from the Host it is asked for: keep them pointing at the proxy.
        request.Headers.Host = context.Request.Host.Value;

        HttpResponseMessage response;
        try
        {
            response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException)
        {
            context.Response.StatusCode = (int)HttpStatusCode.BadGateway;
            return;
        }
        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                context.Response.Headers[name] = values.ToArray();
            }
            await response.Content.CopyToAsync(context.Response.Body);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
