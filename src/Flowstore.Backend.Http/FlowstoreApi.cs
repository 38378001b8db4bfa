using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flowstore.Backend.Http;

/// <summary>What the server and its client agree on: the API version, routes, headers and JSON settings.</summary>
public static class FlowstoreApi
{
    /// <summary>The prefix of every API route.</summary>
    public const string Prefix = "api/v1";

    /// <summary>The health endpoint (checks the database).</summary>
    public const string HealthPath = "health";

    /// <summary>The OpenAPI document.</summary>
    public const string OpenApiPath = "openapi/v1.json";

    /// <summary>A client-chosen key that makes a retried POST safe: the server answers a repeat with the first answer.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The problem-details <c>type</c> of an error id: <c>urn:flowstore:errors:ProjectExists</c>.</summary>
    public const string ErrorTypePrefix = "urn:flowstore:errors:";

    /// <summary>The media type of error answers (RFC 9457).</summary>
    public const string ProblemMediaType = "application/problem+json";

    /// <summary>
    /// The JSON settings of the API: camelCase, enums as names. <paramref name="strict"/> (the server reading a request)
    /// also refuses unknown fields, missing required fields and nulls where the type has none, so a typo is a 400
    /// naming the field instead of a silently ignored value.
    /// </summary>
    public static void Configure(JsonSerializerOptions options, bool strict)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.PropertyNameCaseInsensitive = false;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        if (!options.Converters.OfType<JsonStringEnumConverter>().Any())
        {
            options.Converters.Add(new JsonStringEnumConverter());
        }
        if (strict)
        {
            options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            options.RespectNullableAnnotations = true;
            options.RespectRequiredConstructorParameters = true;
        }
    }

    /// <summary>The settings a client uses: lenient when reading, so a newer server's extra fields do no harm.</summary>
    public static JsonSerializerOptions ClientOptions { get; } = Create(strict: false);

    private static JsonSerializerOptions Create(bool strict)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Configure(options, strict);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
