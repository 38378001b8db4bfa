using System.Net;
using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Backend.Postgres;
using Flowstore.Backend.Sqlite;
using Flowstore.Engine;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Flowstore.Server;

/// <summary>
/// Builds and runs the Flowstore server: Kestrel on <see cref="FlowServerSettings.Address"/>:<see cref="FlowServerSettings.Port"/>,
/// the /api/v1 endpoints over one backend, /health (checks the database), the OpenAPI document at /openapi/v1.json, a
/// structured log line per request, problem details for every error, and the <see cref="IApiKeyAuthenticator"/> hook.
/// Tests build it in-process on port 0 and talk to it over a real socket.
/// </summary>
public static partial class FlowServer
{
    /// <summary>The file in the server's home that says where a started server listens (url, process id, backend).</summary>
    public const string ServerFileName = "server.json";

    /// <summary>Builds the server from arguments, appsettings.json and the environment; <paramref name="configure"/> may add services (an authenticator).</summary>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var settings = builder.Configuration.GetSection(FlowServerSettings.Section).Get<FlowServerSettings>() ?? new FlowServerSettings();
        var requireApiKeys = settings.RequireApiKeys; // a setting it does not know refuses the start, before anything is opened
        _ = settings.RunsScheduler;
        var home = FlowstoreHome.EnsureDirectory(settings.ResolveHome());
        builder.Services.AddSingleton(settings);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = (long)(settings.MaxRequestBodyMegabytes * 1024 * 1024);
            switch (settings.Address.Trim())
            {
                case "*" or "0.0.0.0" or "+":
                    kestrel.ListenAnyIP(settings.Port);
                    break;
                case "localhost":
                    kestrel.ListenLocalhost(settings.Port);
                    break;
                case var address:
                    kestrel.Listen(IPAddress.Parse(address), settings.Port);
                    break;
            }
        });

        builder.Logging.ClearProviders();
        if (string.Equals(settings.LogFormat, "None", StringComparison.OrdinalIgnoreCase))
        {
            // No console (a detached server started by Start-FlowServer): the log file only.
        }
        else if (string.Equals(settings.LogFormat, "Json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = false);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' "; o.UseUtcTimestamp = true; });
        }
        if (!string.IsNullOrWhiteSpace(settings.LogFile))
        {
            builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(home, settings.LogFile)));
        }

        builder.Services.ConfigureHttpJsonOptions(o => FlowstoreApi.Configure(o.SerializerOptions, strict: true));
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddSingleton<IFlowBackend>(_ => OpenBackend(settings, home));
        // The server's secrets are encrypted with its own key, an owner-only file of its home, as the embedded store does.
        builder.Services.AddSingleton(services => new SecretStore(services.GetRequiredService<IFlowBackend>, Path.Combine(home, SecretStore.KeyFileName)));
        builder.Services.AddHealthChecks().AddCheck<BackendHealthCheck>("backend");
        builder.Services.AddHostedService<IdempotentAnswerSweeper>();
        builder.Services.AddHostedService<ScheduleService>();
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Flowstore";
            document.Info.Description = "The Flowstore server's API: projects, flows and their versions, registrations, runs and their logs, " +
                "and secrets (encrypted with the server's key; values go to the agent executing a run only). Errors are RFC 9457 problem details whose type is urn:flowstore:errors:<error id>.";
            return Task.CompletedTask;
        }));
        if (requireApiKeys)
        {
            builder.Services.AddSingleton(services => new ApiKeyAuthenticator(KeyStore(services.GetRequiredService<IFlowBackend>())));
            builder.Services.AddSingleton<IApiKeyAuthenticator, ApiKeyStoreAuthenticator>();
        }
        configure?.Invoke(builder);

        var app = builder.Build();
        var backend = app.Services.GetRequiredService<IFlowBackend>(); // open (and migrate) the database now: a bad one fails the start
        BootstrapAdminKey? firstKey = null;
        var startLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FlowServer).FullName!);
        if (requireApiKeys
            && (firstKey = FlowApiKeys.EnsureAdminKeyAsync(KeyStore(backend), home).GetAwaiter().GetResult()) is { } first)
        {
            // The token is in the owner-only file only: never in a log.
            LogFirstKey(startLog, first.Key.Name, first.Path);
        }
        else if (!requireApiKeys && !settings.IsLoopbackOnly)
        {
            LogOpenToTheNetwork(startLog, settings.Address, FlowServerSettings.Section);
        }

        app.UseMiddleware<RequestLogMiddleware>();
        app.UseMiddleware<ProblemMiddleware>();
        app.UseRouting();
        app.UseMiddleware<ApiKeyAuthenticationMiddleware>();
        app.UseMiddleware<IdempotencyMiddleware>();

        app.MapFlowApi();
        app.MapSecretApi();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthChecks("/" + FlowstoreApi.HealthPath, new HealthCheckOptions { ResponseWriter = WriteHealthAsync });

        var serverFile = Path.Combine(home, ServerFileName);
        var adminKeyFile = firstKey?.Path; // only its path: Start-FlowServer reads the key from the owner-only file
        app.Lifetime.ApplicationStarted.Register(() => WriteServerFile(app, serverFile, settings, adminKeyFile));
        app.Lifetime.ApplicationStopping.Register(() => RemoveServerFile(serverFile));
        return app;
    }

    /// <summary>Runs the server until it is stopped (Ctrl+C, SIGTERM); 1 when it cannot start.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        WebApplication app;
        try
        {
            app = Create(args);
        }
        catch (FlowstoreException e)
        {
            await Console.Error.WriteLineAsync($"Flowstore server cannot start: {e.ErrorId}: {e.Message}");
            return 1;
        }
        await using (app)
        {
            await app.RunAsync();
        }
        return 0;
    }

    /// <summary>The URL a started server listens on (the real port when it was given 0).</summary>
    public static Uri Url(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server is not listening.");
        var url = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return new Uri(url.GetLeftPart(UriPartial.Authority) + "/");
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "The first API key, '{KeyName}' (Admin), was written to {Path} (owner-only): read it once to connect (Connect-FlowServer -ApiKey, or FLOWSTORE_API_KEY), make your own keys with it, then remove the file")]
    private static partial void LogFirstKey(ILogger logger, string keyName, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "API keys are off ({Section}:ApiKeys=None) and the server listens on {Address}: anyone who reaches it may do anything; set {Section}:ApiKeys=Required for a team")]
    private static partial void LogOpenToTheNetwork(ILogger logger, string address, string section);

    private static IApiKeyStore KeyStore(IFlowBackend backend) => backend as IApiKeyStore
        ?? throw new FlowstoreException(ErrorIds.ApiKeysNotSupported, FlowErrorKind.InvalidOperation,
            $"The backend {backend.Description} keeps no API keys; use Sqlite or Postgres, or the setting {FlowServerSettings.Section}:ApiKeys=None.");

    private static IFlowBackend OpenBackend(FlowServerSettings settings, string home)
    {
        switch (settings.Backend.Trim().ToLowerInvariant())
        {
            case "sqlite":
                var path = string.IsNullOrWhiteSpace(settings.ConnectionString)
                    ? Path.Combine(home, SqliteFlowBackend.DefaultFileName)
                    : Path.GetFullPath(FlowstoreHome.ExpandTilde(settings.ConnectionString.Trim()), home);
                return new SqliteFlowBackend(path);
            case "postgres" or "postgresql":
                return string.IsNullOrWhiteSpace(settings.ConnectionString)
                    ? throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidArgument,
                        $"The Postgres backend needs a connection string (the setting {FlowServerSettings.Section}:ConnectionString, " +
                        $"or the environment variable {FlowServerSettings.Section}__ConnectionString).") { Target = "ConnectionString" }
                    : new PostgresFlowBackend(settings.ConnectionString);
            default:
                throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidArgument,
                    $"The server backend '{settings.Backend}' is not known; use Sqlite or Postgres.") { Target = settings.Backend };
        }
    }

    private static Task WriteHealthAsync(HttpContext context, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        var backend = context.RequestServices.GetRequiredService<IFlowBackend>();
        var entry = report.Entries.Values.FirstOrDefault();
        var answer = new HealthAnswer(report.Status.ToString(), backend.Description,
            report.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy ? null : entry.Description);
        context.Response.ContentType = "application/json";
        var options = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        return JsonSerializer.SerializeAsync(context.Response.Body, answer, options, context.RequestAborted);
    }

    private static void WriteServerFile(WebApplication app, string path, FlowServerSettings settings, string? adminKeyFile)
    {
        var info = new FlowServerFile(Url(app).ToString(), Environment.ProcessId, settings.Backend, DateTimeOffset.UtcNow,
            settings.RequireApiKeys ? "Required" : "None", adminKeyFile);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(info, FlowstoreApi.ClientOptions));
        File.Move(temporary, path, overwrite: true);
    }

    private static void RemoveServerFile(string path)
    {
        try
        {
            if (File.Exists(path) && JsonSerializer.Deserialize<FlowServerFile>(File.ReadAllText(path), FlowstoreApi.ClientOptions)?.ProcessId == Environment.ProcessId)
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            // Another server took the file over, or it is gone: nothing to clean up.
        }
    }
}

/// <summary>What <see cref="FlowServer.ServerFileName"/> holds: where the server of a home listens.</summary>
/// <param name="Url">Its base URL.</param>
/// <param name="ProcessId">Its process.</param>
/// <param name="Backend">Sqlite or Postgres.</param>
/// <param name="Started">When it started.</param>
/// <param name="ApiKeys">Required or None.</param>
/// <param name="AdminKeyFile">The owner-only file holding the admin key this start made (a first start over an empty key
/// table); null when this start made none. Only the path: the key is in that file alone.</param>
public sealed record FlowServerFile(string Url, int ProcessId, string Backend, DateTimeOffset Started, string ApiKeys = "None", string? AdminKeyFile = null);
