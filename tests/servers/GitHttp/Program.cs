using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

// Usage: GitHttp --root <folder of bare repositories> --token <token> [--port-file <file>] [--backend <git-http-backend>]
//
// Serves every bare repository under --root over Git's smart HTTP protocol by running git http-backend as a CGI
// program. Requests need HTTP Basic authentication whose password is --token (any user name). Pushes are allowed
// (http.receivepack) and commits can be fetched by SHA (uploadpack.allowReachableSHA1InWant); both come from a
// global configuration file, so a repository's own config can turn them off.
// A repository holding the file "flowstore-test-protocol-v0" speaks protocol v0 only.
// POST /_faults/<repo>?status=503&count=2 makes the next two requests for <repo> answer that status (tests of
// retries); DELETE /_faults/<repo> clears it.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
var root = Path.GetFullPath(builder.Configuration["root"] ?? throw new ArgumentException("--root <folder> is required"));
var token = builder.Configuration["token"] ?? throw new ArgumentException("--token <token> is required");
var backend = builder.Configuration["backend"] ?? "/usr/lib/git-core/git-http-backend";
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:0");
}
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
Directory.CreateDirectory(root);
var globalConfig = Path.Combine(Path.GetDirectoryName(root)!, "server.gitconfig");
File.WriteAllText(globalConfig, "[http]\n\treceivepack = true\n[uploadpack]\n\tallowReachableSHA1InWant = true\n\tallowAnySHA1InWant = false\n");

var faults = new ConcurrentDictionary<string, (int Status, int Count)>(StringComparer.Ordinal);
var app = builder.Build();

app.MapPost("/_faults/{**repo}", (string repo, int status, int count) =>
{
    faults[repo.Trim('/')] = (status, count);
    return Results.NoContent();
});
app.MapDelete("/_faults/{**repo}", (string repo) =>
{
    faults.TryRemove(repo.Trim('/'), out _);
    return Results.NoContent();
});
app.MapGet("/_health", () => Results.Text("ok"));

app.Map("{**path}", async (HttpContext context) =>
{
    var request = context.Request;
    var response = context.Response;
    var path = request.Path.Value ?? "/";

    foreach (var (repo, fault) in faults)
    {
        if (path.StartsWith("/" + repo + "/", StringComparison.Ordinal) && fault.Count > 0)
        {
            faults[repo] = (fault.Status, fault.Count - 1);
            response.StatusCode = fault.Status;
            await response.WriteAsync($"injected fault {fault.Status}\n");
            return;
        }
    }

    var user = Authenticate(request.Headers.Authorization.ToString(), token);
    if (user is null)
    {
        response.StatusCode = 401;
        response.Headers.WWWAuthenticate = "Basic realm=\"Flowstore test Git\"";
        return;
    }

    var start = new ProcessStartInfo(backend)
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };
    var env = start.Environment;
    env["GIT_PROJECT_ROOT"] = root;
    env["GIT_HTTP_EXPORT_ALL"] = "1";
    env["GIT_CONFIG_GLOBAL"] = globalConfig;
    env["GIT_CONFIG_NOSYSTEM"] = "1";
    env["PATH_INFO"] = path;
    env["QUERY_STRING"] = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
    env["REQUEST_METHOD"] = request.Method;
    env["CONTENT_TYPE"] = request.ContentType ?? "";
    if (request.ContentLength is { } length)
    {
        env["CONTENT_LENGTH"] = length.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
    env["REMOTE_USER"] = user;
    env["REMOTE_ADDR"] = context.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1";
    env["SERVER_PROTOCOL"] = request.Protocol;
    env["GATEWAY_INTERFACE"] = "CGI/1.1";
    if (request.Headers.ContentEncoding.ToString() is { Length: > 0 } encoding)
    {
        env["HTTP_CONTENT_ENCODING"] = encoding;
    }
    // A repository holding the file "flowstore-test-protocol-v0" is served with protocol v0 only, as older
    // servers do (in v0, fetching an unadvertised commit by SHA needs uploadpack.allowReachableSHA1InWant).
    var repoDir = path.IndexOf(".git/", StringComparison.Ordinal) is var end and > 0 ? Path.Combine(root, path[1..(end + 4)]) : null;
    var v0Only = repoDir is not null && File.Exists(Path.Combine(repoDir, "flowstore-test-protocol-v0"));
    if (!v0Only && request.Headers["Git-Protocol"].ToString() is { Length: > 0 } protocol)
    {
        env["GIT_PROTOCOL"] = protocol;
    }

    using var process = Process.Start(start)!;
    var error = process.StandardError.ReadToEndAsync();
    var copyIn = Task.Run(async () =>
    {
        try
        {
            await request.Body.CopyToAsync(process.StandardInput.BaseStream);
        }
        catch (IOException)
        {
            // The backend stopped reading; its answer says why.
        }
        finally
        {
            process.StandardInput.Close();
        }
    });

    // CGI answer: header lines, a blank line, the body.
    var output = process.StandardOutput.BaseStream;
    var headerBytes = new List<byte>();
    var one = new byte[1];
    while (await output.ReadAsync(one) == 1)
    {
        headerBytes.Add(one[0]);
        var n = headerBytes.Count;
        if ((n >= 2 && headerBytes[n - 1] == '\n' && headerBytes[n - 2] == '\n')
            || (n >= 4 && headerBytes[n - 1] == '\n' && headerBytes[n - 2] == '\r' && headerBytes[n - 3] == '\n' && headerBytes[n - 4] == '\r'))
        {
            break;
        }
    }
    foreach (var line in Encoding.ASCII.GetString(headerBytes.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    {
        var colon = line.IndexOf(':');
        if (colon <= 0)
        {
            continue;
        }
        var name = line[..colon].Trim();
        var value = line[(colon + 1)..].Trim();
        if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
        {
            response.StatusCode = int.Parse(value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            response.Headers.Append(name, value);
        }
    }
    await output.CopyToAsync(response.Body);
    await copyIn;
    await process.WaitForExitAsync();
    var stderr = await error;
    if (stderr.Length > 0)
    {
        Console.Error.WriteLine($"{request.Method} {path}: {stderr.Trim()}");
    }
});

await app.StartAsync();
var url = app.Urls.First();
Console.WriteLine($"Listening on {url}, repositories under {root}");
if (builder.Configuration["port-file"] is { } portFile)
{
    await File.WriteAllTextAsync(portFile + ".tmp", new Uri(url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    File.Move(portFile + ".tmp", portFile, overwrite: true);
}
await app.WaitForShutdownAsync();

// The user name of a Basic header whose password is the token (constant-time compare), else null.
static string? Authenticate(string header, string token)
{
    if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
    {
        return null;
    }
    string decoded;
    try
    {
        decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
    }
    catch (FormatException)
    {
        return null;
    }
    var colon = decoded.IndexOf(':');
    if (colon < 0)
    {
        return null;
    }
    var password = decoded[(colon + 1)..];
    return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(token))
        ? (colon == 0 ? "anonymous" : decoded[..colon])
        : null;
}
