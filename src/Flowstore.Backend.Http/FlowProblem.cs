using System.Net;

namespace Flowstore.Backend.Http;

/// <summary>
/// An error answer of the API (RFC 9457 problem details): <c>type</c> is <c>urn:flowstore:errors:&lt;id&gt;</c>, <c>detail</c>
/// the message, and the extensions carry what a <see cref="FlowstoreException"/> holds (id, kind, target, hint) plus the
/// request field at fault for a bad request. The server writes one from an exception; the client turns it back into
/// the same exception, so an error reads alike locally and remotely. Never a key, a secret value or a stack trace.
/// </summary>
public sealed record FlowProblem
{
    public required string Type { get; init; }
    public required string Title { get; init; }
    public required int Status { get; init; }
    public required string Detail { get; init; }
    public required string ErrorId { get; init; }
    public required FlowErrorKind Kind { get; init; }
    public string? Target { get; init; }
    public FlowHint? Hint { get; init; }

    /// <summary>The request field at fault (a JSON path such as <c>tasks[0].state</c>), for a bad request.</summary>
    public string? Field { get; init; }

    /// <summary>The answer to an engine or backend error.</summary>
    public static FlowProblem From(FlowstoreException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new FlowProblem
        {
            Type = FlowstoreApi.ErrorTypePrefix + error.ErrorId,
            Title = error.ErrorId,
            Status = (int)StatusOf(error),
            Detail = error.Message,
            ErrorId = error.ErrorId,
            Kind = error.Kind,
            Target = error.Target,
            Hint = error.Hint,
        };
    }

    /// <summary>The same exception the server raised (id, kind, message, target, hint).</summary>
    public FlowstoreException ToException() => new(ErrorId, Kind, Detail) { Target = Target, Hint = Hint };

    /// <summary>The HTTP status of an error: by id where one has its own, else by kind.</summary>
    public static HttpStatusCode StatusOf(FlowstoreException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.ErrorId switch
        {
            ErrorIds.RequestTooLarge => HttpStatusCode.RequestEntityTooLarge,
            ErrorIds.BackendUnavailable => HttpStatusCode.ServiceUnavailable,
            ErrorIds.ServerError => HttpStatusCode.InternalServerError,
            ErrorIds.ApiKeyInvalid => HttpStatusCode.Unauthorized,
            ErrorIds.AccessDenied => HttpStatusCode.Forbidden,
            _ => error.Kind switch
            {
                FlowErrorKind.InvalidArgument or FlowErrorKind.InvalidData => HttpStatusCode.BadRequest,
                FlowErrorKind.ObjectNotFound => HttpStatusCode.NotFound,
                FlowErrorKind.ResourceExists or FlowErrorKind.InvalidOperation or FlowErrorKind.OperationStopped => HttpStatusCode.Conflict,
                FlowErrorKind.PermissionDenied => HttpStatusCode.Forbidden,
                FlowErrorKind.NotImplemented => HttpStatusCode.NotImplemented,
                FlowErrorKind.ResourceUnavailable or FlowErrorKind.ConnectionError => HttpStatusCode.ServiceUnavailable,
                FlowErrorKind.OperationTimeout => HttpStatusCode.GatewayTimeout,
                FlowErrorKind.LimitsExceeded => HttpStatusCode.UnprocessableEntity,
                _ => HttpStatusCode.InternalServerError,
            },
        };
    }
}
