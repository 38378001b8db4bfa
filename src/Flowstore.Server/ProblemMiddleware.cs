using System.Text.Json;
using System.Text.RegularExpressions;
using Flowstore.Backend.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Flowstore.Server;

/// <summary>
/// Turns every failure of a request into RFC 9457 problem details carrying a Flowstore error id: engine and backend
/// errors keep their id, kind, message, target and hint; a malformed body is 400 RequestInvalid naming the field (bad
/// JSON, an unknown field, a wrong type, a missing field); a body over the limit is 413 RequestTooLarge; anything else is
/// 500 ServerError with the details in the server's log only (no stack trace, no request body in an answer).
/// </summary>
internal sealed partial class ProblemMiddleware(RequestDelegate next, ILogger<ProblemMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            // A declared length over the limit is refused before anything reads the body.
            if (context.Request.ContentLength is { } length && context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } limit && length > limit)
            {
                throw TooLarge(context);
            }
            await next(context);
            if (context.Response.StatusCode >= 400 && !context.Response.HasStarted && context.Response.ContentType is null)
            {
                // An error the framework answered with a bare status (a body it could not read, a method not allowed).
                await WriteAsync(context, FlowProblem.From(FromStatus(context)));
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody to answer.
        }
        catch (Exception e)
        {
            var error = Translate(e, context);
            if (error.ErrorId == ErrorIds.ServerError)
            {
                LogUnexpected(logger, e, context.Request.Method, context.Request.Path);
            }
            if (context.Response.HasStarted)
            {
                throw;
            }
            await WriteAsync(context, FlowProblem.From(error) with { Field = (error as RequestFieldException)?.Field });
        }
    }

    /// <summary>Writes a problem answer (also used for endpoints that answer "not found" without an exception).</summary>
    public static async Task WriteAsync(HttpContext context, FlowProblem problem)
    {
        context.Response.Clear();
        context.Response.StatusCode = problem.Status;
        context.Response.ContentType = FlowstoreApi.ProblemMediaType;
        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        await JsonSerializer.SerializeAsync(context.Response.Body, problem, options, context.RequestAborted);
    }

    private FlowstoreException Translate(Exception e, HttpContext context) => e switch
    {
        FlowstoreException flow => flow,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(context),
        BadHttpRequestException { InnerException: JsonException json } => InvalidBody(json),
        BadHttpRequestException bad when BadParameter().Match(bad.Message) is { Success: true } parameter => new RequestFieldException(parameter.Groups[2].Value,
            $"The request is not valid: the parameter '{parameter.Groups[2].Value}' does not have the right type (expected {Simple(parameter.Groups[1].Value.Trim())})."),
        BadHttpRequestException { Message: var said } when said.StartsWith("Required parameter", StringComparison.Ordinal) || said.Contains("body was not provided", StringComparison.Ordinal)
            => new RequestFieldException(null, "The request is not valid: it has no JSON body; nothing was written."),
        BadHttpRequestException bad => new RequestFieldException(null, $"The request is not valid: {bad.Message}"),
        JsonException json => InvalidBody(json),
        ArgumentException argument => new RequestFieldException(argument.ParamName, $"The request is not valid: {FirstSentence(argument.Message)}"),
        _ => new FlowstoreException(ErrorIds.ServerError, FlowErrorKind.InvalidOperation,
            $"The Flowstore server failed on {context.Request.Method} {context.Request.Path} ({e.GetType().Name}); its log has the details."),
    };

    private static FlowstoreException FromStatus(HttpContext context) => context.Response.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => TooLarge(context),
        StatusCodes.Status405MethodNotAllowed => new RequestFieldException(null,
            $"The request is not valid: {context.Request.Method} is not allowed on {context.Request.Path}."),
        StatusCodes.Status404NotFound => new FlowstoreException(ErrorIds.RequestInvalid, FlowErrorKind.ObjectNotFound,
            $"The Flowstore server has no endpoint {context.Request.Method} {context.Request.Path}; the API is under /{FlowstoreApi.Prefix}."),
        var status when status < 500 => new RequestFieldException(null, $"The request is not valid (HTTP {status}); nothing was written."),
        var status => new FlowstoreException(ErrorIds.ServerError, FlowErrorKind.InvalidOperation,
            $"The Flowstore server failed on {context.Request.Method} {context.Request.Path} (HTTP {status}); its log has the details."),
    };

    private static FlowstoreException TooLarge(HttpContext context)
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        var said = limit is { } bytes ? $" of {bytes / (1024.0 * 1024.0):0.##} MB" : "";
        return new FlowstoreException(ErrorIds.RequestTooLarge, FlowErrorKind.LimitsExceeded,
            $"The request body is larger than the server's limit{said}; nothing was written.");
    }

    /// <summary>A bad body, with the field at fault taken from the JSON path (never a value from the body).</summary>
    private static RequestFieldException InvalidBody(JsonException json)
    {
        var field = FieldOf(json.Path);
        var message = json.Message;
        string reason;
        if (UnmappedMember().Match(message) is { Success: true } unknown)
        {
            field = Join(field, unknown.Groups[1].Value);
            reason = $"the field '{field}' is not known";
        }
        else if (MissingRequired().Match(message) is { Success: true } missing)
        {
            field = Join(field, missing.Groups[1].Value);
            reason = $"the required field '{field}' is missing";
        }
        else if (WrongType().Match(message) is { Success: true } type && field is not null)
        {
            reason = $"the field '{field}' does not have the right type (expected {Simple(type.Groups[1].Value)})";
        }
        else if (message.Contains("null", StringComparison.OrdinalIgnoreCase) && field is not null)
        {
            reason = $"the field '{field}' must not be null";
        }
        else
        {
            reason = field is null ? "it is not valid JSON" : $"it is not valid JSON at '{field}'";
        }
        return new RequestFieldException(field, $"The request body is not valid: {reason}; nothing was written.");
    }

    private static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }
        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static string Join(string? parent, string name) => string.IsNullOrEmpty(parent) || parent.EndsWith(name, StringComparison.Ordinal) ? name : $"{parent}.{name}";

    private static string Simple(string typeName) => typeName switch
    {
        "System.String" => "a string",
        "System.Int32" or "System.Int64" or "System.Nullable`1[System.Int32]" or "int?" or "int" => "a whole number",
        "bool?" or "bool" => "true or false",
        "Guid?" or "Guid" => "a GUID",
        "System.Boolean" => "true or false",
        "System.Guid" or "System.Nullable`1[System.Guid]" => "a GUID",
        "System.DateTimeOffset" or "System.Nullable`1[System.DateTimeOffset]" => "a date and time",
        "System.Byte[]" => "base64 text",
        "System.TimeSpan" => "a duration such as 00:05:00",
        _ when typeName.StartsWith("System.Collections", StringComparison.Ordinal) => "a list",
        _ when typeName.StartsWith("Flowstore.", StringComparison.Ordinal) => typeName.Contains("State", StringComparison.Ordinal) || typeName.Contains("Kind", StringComparison.Ordinal)
            ? $"one of the names of {typeName[(typeName.LastIndexOf('.') + 1)..]}"
            : "an object",
        _ => typeName,
    };

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" (Parameter", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }

    [GeneratedRegex("Failed to bind parameter \"([^\"]*) (\\w+)\" from")]
    private static partial Regex BadParameter();

    [GeneratedRegex("The JSON property '([^']*)' could not be mapped")]
    private static partial Regex UnmappedMember();

    [GeneratedRegex("missing required properties including: '([^']*)'")]
    private static partial Regex MissingRequired();

    [GeneratedRegex("could not be converted to ([^ .][^ ]*?)\\.? Path", RegexOptions.None)]
    private static partial Regex WrongType();

    [LoggerMessage(EventId = 500, Level = LogLevel.Error, Message = "Request {Method} {Path} failed")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, string path);
}

/// <summary>A bad request, naming the field at fault.</summary>
internal sealed class RequestFieldException(string? field, string message)
    : FlowstoreException(ErrorIds.RequestInvalid, FlowErrorKind.InvalidArgument, message)
{
    public string? Field { get; } = field;
}
