using Flowstore.StandIns;

// Usage: Flowstore.StandIns --root <repos folder> --token <accepted token> [--port-file <file>] [--urls http://127.0.0.1:0]
var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
var root = builder.Configuration["root"] ?? throw new ArgumentException("--root <folder> is required");
var token = builder.Configuration["token"] ?? throw new ArgumentException("--token <token> is required");
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:0");
}
var store = new RepoStore(Path.GetFullPath(root));
var auth = new StandInAuth(token);
var faults = new FaultInjector();

var app = builder.Build();
app.Use(faults.Middleware);
faults.MapControl(app);
auth.MapControl(app);
app.MapGitHub(store, auth);
app.MapGitLab(store, auth);
app.MapBitbucket(store, auth);
app.MapFallback((HttpContext c) => Results.Json(new { message = $"Not Found: {c.Request.Method} {c.Request.Path}" }, statusCode: 404));

await app.StartAsync();
var url = app.Urls.First();
Console.WriteLine($"Listening on {url}");
if (builder.Configuration["port-file"] is { } portFile)
{
    await File.WriteAllTextAsync(portFile + ".tmp", new Uri(url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    File.Move(portFile + ".tmp", portFile, overwrite: true);
}
await app.WaitForShutdownAsync();
