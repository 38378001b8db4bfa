using System.Text;
using Flowstore.Backend.Sqlite;

namespace Flowstore.Engine.Tests;

/// <summary>API keys in the engine: making, revoking, authenticating a bearer token, and a server's first admin key.</summary>
public sealed class ApiKeyTests : EngineTestBase
{
    private IApiKeyStore Store => (IApiKeyStore)Client.Backend;

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task A_key_made_authenticates_as_its_name_role_and_projects_from_a_bearer_header()
    {
        var made = await Client.ApiKeys.CreateAsync("ci", FlowRole.Registrar, [Project.ToLowerInvariant()], TimeSpan.FromDays(30), "admin");
        var authenticator = new ApiKeyAuthenticator(Store);

        var principal = await authenticator.AuthenticateHeaderAsync("Bearer " + made.Token);
        var lowerScheme = await authenticator.AuthenticateHeaderAsync("bearer   " + made.Token + " ");

        Assert.Equal(new ApiPrincipal(made.Key.Id, "ci", FlowRole.Registrar, [Project]), principal);
        Assert.Equal(principal.KeyId, lowerScheme.KeyId);
        Assert.Equal([Project], made.Key.Projects);
        Assert.Equal("admin", made.Key.CreatedBy);
        Assert.DoesNotContain(made.Token, made.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_malformed_unknown_revoked_or_expired_key_is_ApiKeyInvalid_and_no_message_holds_what_was_sent()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var authenticator = new ApiKeyAuthenticator(Store, clock);
        var revoked = await Client.ApiKeys.CreateAsync("old-ci", FlowRole.Registrar, null, null, null);
        await Client.ApiKeys.RevokeAsync(revoked.Key.Id);
        var expiring = await Client.ApiKeys.CreateAsync("temp", FlowRole.Reader, null, TimeSpan.FromHours(1), null);
        clock.Now = clock.Now.AddHours(2);
        var unknown = ApiKeyToken.Generate();
        const string password = "hunter2-not-a-key";

        var cases = new (Func<Task> Call, string Sent, string Expected)[]
        {
            (() => authenticator.AuthenticateHeaderAsync(null), "", "No API key was given"),
            (() => authenticator.AuthenticateHeaderAsync("Basic " + unknown), unknown, "does not carry an API key"),
            (() => authenticator.AuthenticateHeaderAsync("Bearer " + password), password, "is not a Flowstore API key (those start with 'fsk_'"),
            (() => authenticator.AuthenticateAsync(unknown), unknown, "is not known here"),
            (() => authenticator.AuthenticateAsync(revoked.Token), revoked.Token, "The API key 'old-ci' was revoked at"),
            (() => authenticator.AuthenticateAsync(expiring.Token), expiring.Token, "The API key 'temp' expired at"),
        };
        foreach (var (call, sent, expected) in cases)
        {
            var error = await Assert.ThrowsAsync<FlowstoreException>(call);
            Assert.Equal(ErrorIds.ApiKeyInvalid, error.ErrorId);
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
            Assert.Equal(FlowHintKind.GetNewApiKey, error.Hint!.Kind);
            if (sent.Length > 0)
            {
                Assert.DoesNotContain(sent, error.ToString(), StringComparison.Ordinal);
                Assert.DoesNotContain(sent[..12], error.Message + error.Target, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Last_use_is_recorded_at_most_once_per_interval()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var made = await Client.ApiKeys.CreateAsync("agent-1", FlowRole.Agent, null, null, null);
        var authenticator = new ApiKeyAuthenticator(Store, clock) { TouchInterval = TimeSpan.FromMinutes(1) };

        await authenticator.AuthenticateAsync(made.Token);
        var first = (await Client.ApiKeys.ListAsync()).Single().LastUsed;
        clock.Now = clock.Now.AddSeconds(30);
        await authenticator.AuthenticateAsync(made.Token);
        var unchanged = (await Client.ApiKeys.ListAsync()).Single().LastUsed;
        clock.Now = clock.Now.AddSeconds(31);
        await authenticator.AuthenticateAsync(made.Token);
        var moved = (await Client.ApiKeys.ListAsync()).Single().LastUsed;

        Assert.NotNull(first);
        Assert.Equal(first, unchanged);
        Assert.True(moved > first);
    }

    [Fact]
    public async Task Making_a_key_checks_its_projects_and_expiry_and_revoking_an_unknown_id_is_ApiKeyNotFound()
    {
        var noProject = await Assert.ThrowsAsync<FlowstoreException>(() => Client.ApiKeys.CreateAsync("ci", FlowRole.Registrar, ["nope"], null, null));
        var badExpiry = await Assert.ThrowsAsync<FlowstoreException>(() => Client.ApiKeys.CreateAsync("ci", FlowRole.Registrar, null, TimeSpan.FromDays(-1), null));
        var unknown = await Assert.ThrowsAsync<FlowstoreException>(() => Client.ApiKeys.RevokeAsync(Guid.NewGuid()));

        Assert.Equal(ErrorIds.ProjectNotFound, noProject.ErrorId);
        Assert.Contains("'nope'", noProject.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorIds.ParameterInvalid, badExpiry.ErrorId);
        Assert.Equal(ErrorIds.ApiKeyNotFound, unknown.ErrorId);
        Assert.Empty(await Client.ApiKeys.ListAsync());
    }

    [Fact]
    public async Task The_first_start_over_an_empty_key_table_makes_one_admin_key_in_an_owner_only_file()
    {
        var serverHome = Temp.File("server-home");

        var attempts = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => FlowApiKeys.EnsureAdminKeyAsync(Store, serverHome))));
        var again = await FlowApiKeys.EnsureAdminKeyAsync(Store, serverHome);

        var admin = Assert.Single(attempts, a => a is not null)!;
        Assert.Null(again);
        Assert.Equal(Path.Combine(serverHome, "admin.key"), admin.Path);
        Assert.Equal(admin.Token, File.ReadAllText(admin.Path).Trim());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(admin.Path));
        }
        Assert.Equal(["admin.key"], Directory.GetFiles(serverHome).Select(Path.GetFileName));
        var principal = await new ApiKeyAuthenticator(Store).AuthenticateAsync(admin.Token);
        Assert.Equal(("admin", FlowRole.Admin), (principal.Name, principal.Role));
        Assert.False(principal.IsLimitedToProjects);
        Assert.DoesNotContain(admin.Token, admin.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Canary_a_token_is_in_no_file_of_the_home_but_the_admin_key_file_and_in_no_error_or_listing()
    {
        var admin = (await Client.ApiKeys.EnsureAdminKeyAsync(Home))!;
        var made = await Client.ApiKeys.CreateAsync("ci", FlowRole.Registrar, [Project], TimeSpan.FromDays(1), "admin");
        var agent = await Client.ApiKeys.CreateAsync("agent", FlowRole.Agent, null, null, "admin");
        await Client.ApiKeys.RevokeAsync(agent.Key.Id);
        var authenticator = new ApiKeyAuthenticator(Store);
        var seen = new StringBuilder();
        foreach (var token in new[] { admin.Token, made.Token, agent.Token, made.Token + "x", made.Token[..^1] })
        {
            try
            {
                seen.AppendLine((await authenticator.AuthenticateHeaderAsync("Bearer " + token)).ToString());
            }
            catch (FlowstoreException e)
            {
                seen.AppendLine(e.ToString()).AppendLine(e.Target);
            }
        }
        try
        {
            await Client.ApiKeys.CreateAsync("ci", FlowRole.Admin, null, null, null);
        }
        catch (FlowstoreException e)
        {
            seen.AppendLine(e.ToString());
        }
        foreach (var key in await Client.ApiKeys.ListAsync())
        {
            seen.AppendLine(key.ToString()).AppendLine(System.Text.Json.JsonSerializer.Serialize(key));
        }
        Client.Dispose();
        SqliteFlowBackend.ClearConnectionPools();

        var tokens = new[] { admin.Token, made.Token, agent.Token };
        foreach (var file in Directory.EnumerateFiles(Home, "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var token in tokens)
            {
                var found = Contains(bytes, Encoding.UTF8.GetBytes(token[4..])) || Contains(bytes, Encoding.Unicode.GetBytes(token[4..]));
                Assert.True(!found || (file == admin.Path && token == admin.Token), $"A key token is in clear in {file}.");
            }
        }
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token[4..16], seen.ToString(), StringComparison.Ordinal);
        }
        Assert.True(File.Exists(Path.Combine(Home, SqliteFlowBackend.DefaultFileName)));
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
