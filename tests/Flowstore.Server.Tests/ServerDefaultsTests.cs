using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Flowstore.Backend.Http;
using Flowstore.Engine;
using Microsoft.Extensions.Configuration;

namespace Flowstore.Server.Tests;

/// <summary>
/// The server executable's own defaults (a service started by systemd with appsettings.json and Flowstore__* variables):
/// API keys are required unless Flowstore:ApiKeys=None is set explicitly, and the first start over an empty key store
/// makes the admin key the way Start-FlowServer does (owner-only admin.key, its path on the console, never the key).
/// </summary>
public sealed class ServerDefaultsTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _home = new("flowstore-server-defaults");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose()
    {
        _timeout.Dispose();
        _home.Dispose();
    }

    [Fact]
    public async Task TheExecutable_WithNoApiKeysSetting_RequiresKeys_AndItsFirstStartSaysWhereTheAdminKeyIs()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Flowstore.Server.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { dll, "--Flowstore:Port=0", $"--Flowstore:Home={_home.Path}" })
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in new[] { "Flowstore__ApiKeys", "FLOWSTORE_SERVER_URL", "FLOWSTORE_API_KEY", "ASPNETCORE_URLS" })
        {
            start.Environment.Remove(name);
        }
        var console = new StringBuilder();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (console) { console.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (console) { console.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var keyFile = Path.Combine(_home.Path, FlowApiKeys.AdminKeyFileName);
        try
        {
            var serverFile = Path.Combine(_home.Path, FlowServer.ServerFileName);
            await WaitForAsync(() => File.Exists(serverFile) && Console(console).Contains(keyFile, StringComparison.Ordinal), process, console);
            var written = JsonSerializer.Deserialize<FlowServerFile>(await File.ReadAllTextAsync(serverFile, Ct), FlowstoreApi.ClientOptions)!;
            Assert.Equal("Required", written.ApiKeys);
            Assert.Equal(keyFile, written.AdminKeyFile);

            // The admin key: owner-only, never on the console (a service's journal).
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }
            var token = (await File.ReadAllTextAsync(keyFile, Ct)).Trim();
            Assert.StartsWith(ApiKeyToken.Prefix, token, StringComparison.Ordinal);
            Assert.Contains("remove the file", Console(console), StringComparison.Ordinal);
            Assert.DoesNotContain(token, Console(console), StringComparison.Ordinal);

            // No key: 401 ApiKeyInvalid; the admin key works.
            using var http = new HttpClient();
            var open = await http.GetAsync(new Uri(new Uri(written.Url), "api/v1/flows"), Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, open.StatusCode);
            Assert.Contains(ErrorIds.ApiKeyInvalid, await open.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            using var admin = new HttpFlowBackend(new Uri(written.Url), token, new HttpFlowBackendOptions { Attempts = 2 });
            await admin.CreateProjectAsync("Sales", null, Ct);
            Assert.Single(await admin.GetProjectsAsync("Sales", Ct));
        }
        finally
        {
            await FlowServerLauncher.StopAsync(_home.Path, TimeSpan.FromSeconds(30), Ct);
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public void TheShippedAppSettings_RequireApiKeys()
    {
        // The file that ships next to the executable (build.ps1 -Task Package copies the server's output).
        var path = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        Assert.True(File.Exists(path), $"{path} is not next to the server.");
        var settings = new ConfigurationBuilder().AddJsonFile(path).Build().GetSection(FlowServerSettings.Section).Get<FlowServerSettings>()!;
        Assert.True(settings.RequireApiKeys);
        Assert.True(new FlowServerSettings().RequireApiKeys); // and the class's own default, when a file leaves it out
    }

    [Theory]
    [InlineData("Yes")]
    [InlineData("Requried")]
    [InlineData("")]
    public void AnApiKeysSettingThatIsNeitherRequiredNorNone_RefusesToStart_NamingTheSetting(string value)
    {
        var error = Assert.Throws<FlowstoreException>(() => FlowServer.Create([$"--Flowstore:Home={_home.Path}", "--Flowstore:Port=0", $"--Flowstore:ApiKeys={value}"]));

        Assert.Equal(ErrorIds.ServerSettingInvalid, error.ErrorId);
        Assert.Equal("Flowstore:ApiKeys", error.Target);
        Assert.Contains("Required", error.Message, StringComparison.Ordinal);
        Assert.Contains("None", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_home.Path, SqliteDatabaseFileName)), "nothing is opened before the settings are checked");
    }

    [Fact]
    public async Task AnOpenServer_ListeningBeyondThisMachine_WarnsInItsLog()
    {
        using var server = RunningServer.WithServerDefaults("--Flowstore:ApiKeys=None", "--Flowstore:Address=0.0.0.0");
        await server.InitializeAsync();
        try
        {
            using (var client = server.Client())
            {
                await client.CreateProjectAsync("Open", null, Ct); // open: no key needed
            }
        }
        finally
        {
            await server.StopAsync();
        }

        var log = await File.ReadAllTextAsync(server.LogFile, Ct);
        Assert.Contains("API keys are off", log, StringComparison.Ordinal);
        Assert.Contains("0.0.0.0", log, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(server.Home, FlowApiKeys.AdminKeyFileName)));
    }

    private const string SqliteDatabaseFileName = Flowstore.Backend.Sqlite.SqliteFlowBackend.DefaultFileName;

    private static string Console(StringBuilder console)
    {
        lock (console)
        {
            return console.ToString();
        }
    }

    private async Task WaitForAsync(Func<bool> condition, Process process, StringBuilder console)
    {
        var deadline = DateTimeOffset.UtcNow + Deadline;
        while (!condition())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The server ended ({process.ExitCode}): {Console(console)}");
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"The server did not start within {Deadline.TotalSeconds:0} s: {Console(console)}");
            }
            await Task.Delay(50, Ct);
        }
    }
}
