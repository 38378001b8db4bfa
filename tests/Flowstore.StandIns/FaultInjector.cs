using System.Collections.Concurrent;
using System.Text.Json;

namespace Flowstore.StandIns;

/// <summary>
/// Lets a test make the next requests fail the way the real service can: 5xx, rate limiting (403/429 with the
/// documented headers), or a dropped connection. <c>POST /_standin/faults</c> with a <see cref="Fault"/> queues
/// one; <c>DELETE /_standin/faults</c> clears them; <c>GET /_standin/requests</c> lists the requests seen
/// (method, path, and which auth header names were present - never their values).
/// </summary>
public sealed class FaultInjector
{
    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly ConcurrentQueue<string> _requests = new();

    /// <summary>A fault for the next <see cref="Count"/> requests whose path starts with <see cref="PathPrefix"/>.</summary>
    public sealed class Fault
    {
        public int Status { get; set; } = 503;
        public int Count { get; set; } = 1;
        public string PathPrefix { get; set; } = "/";
        public Dictionary<string, string> Headers { get; set; } = new();
        public string? Body { get; set; }

        /// <summary>Abort the connection instead of answering.</summary>
        public bool Drop { get; set; }
    }

    public async Task Middleware(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path.StartsWith("/_standin/", StringComparison.Ordinal))
        {
            await next();
            return;
        }
        var authHeaders = string.Join(",", new[] { "Authorization", "PRIVATE-TOKEN" }.Where(h => context.Request.Headers.ContainsKey(h)));
        _requests.Enqueue($"{context.Request.Method} {path}{context.Request.QueryString} [{authHeaders}]");
        if (TryTake(path, out var fault))
        {
            if (fault.Drop)
            {
                context.Abort();
                return;
            }
            context.Response.StatusCode = fault.Status;
            foreach (var (name, value) in fault.Headers)
            {
                context.Response.Headers[name] = value;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(fault.Body ?? JsonSerializer.Serialize(new { message = $"Injected fault {fault.Status}" }));
            return;
        }
        await next();
    }

    private bool TryTake(string path, out Fault fault)
    {
        lock (_faults)
        {
            foreach (var candidate in _faults)
            {
                if (candidate.Count > 0 && path.StartsWith(candidate.PathPrefix, StringComparison.Ordinal))
                {
                    candidate.Count--;
                    fault = candidate;
                    return true;
                }
            }
        }
        fault = null!;
        return false;
    }

    public void MapControl(WebApplication app)
    {
        app.MapPost("/_standin/faults", async (HttpContext c) =>
        {
            var fault = await JsonSerializer.DeserializeAsync<Fault>(c.Request.Body, new JsonSerializerOptions(JsonSerializerDefaults.Web));
            _faults.Enqueue(fault ?? new Fault());
            return Results.NoContent();
        });
        app.MapDelete("/_standin/faults", () =>
        {
            _faults.Clear();
            return Results.NoContent();
        });
        app.MapGet("/_standin/requests", () => Results.Json(_requests.ToArray()));
        app.MapDelete("/_standin/requests", () =>
        {
            _requests.Clear();
            return Results.NoContent();
        });
    }
}
