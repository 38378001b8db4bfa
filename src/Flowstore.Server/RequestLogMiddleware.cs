using System.Diagnostics;

namespace Flowstore.Server;

/// <summary>
/// One structured log entry per request: method, path (never the query string, headers or body, so neither a key nor a
/// secret can reach the log), status, duration and the caller's key name.
/// </summary>
internal sealed partial class RequestLogMiddleware(RequestDelegate next, ILogger<RequestLogMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            LogRequest(logger, context.Request.Method, context.Request.Path.Value ?? "/", context.Response.StatusCode,
                Math.Round(elapsed, 1), context.GetApiCaller()?.KeyName ?? "-");
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Path} {StatusCode} {ElapsedMs} ms key={KeyName}")]
    private static partial void LogRequest(ILogger logger, string method, string path, int statusCode, double elapsedMs, string keyName);
}
