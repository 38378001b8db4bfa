namespace Flowstore.Backend.Sqlite.Tests;

[CollectionDefinition(nameof(EnvironmentCollection), DisableParallelization = true)]
public sealed class EnvironmentCollection;

/// <summary>FLOWSTORE_HOME and the default database path. Changes the process environment, so runs alone.</summary>
[Collection(nameof(EnvironmentCollection))]
public sealed class FlowstoreHomeTests : IDisposable
{
    private readonly string? _saved = Environment.GetEnvironmentVariable(FlowstoreHome.EnvironmentVariable);
    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(FlowstoreHome.EnvironmentVariable, _saved);
        _directory.Dispose();
    }

    [Fact]
    public void Path_WithTheVariableSet_IsTheVariablesFullPath()
    {
        Environment.SetEnvironmentVariable(FlowstoreHome.EnvironmentVariable, _directory.File("home"));

        Assert.Equal(_directory.File("home"), FlowstoreHome.Path);
        Assert.Equal(Path.Combine(_directory.File("home"), "flowstore.db"), SqliteFlowBackend.DefaultDatabasePath);
        Assert.False(Directory.Exists(_directory.File("home"))); // reading the path creates nothing
    }

    [Fact]
    public void Path_WithoutTheVariable_IsDotFlowstoreInTheUsersHome()
    {
        Environment.SetEnvironmentVariable(FlowstoreHome.EnvironmentVariable, null);

        var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(profile, ".flowstore"), FlowstoreHome.Path);
        Assert.Equal(Path.Combine(profile, ".flowstore", "flowstore.db"), SqliteFlowBackend.DefaultDatabasePath);
    }

    [Fact]
    public void Path_WithALeadingTilde_ExpandsToTheUsersHome()
    {
        Environment.SetEnvironmentVariable(FlowstoreHome.EnvironmentVariable, "~/somewhere/fs");

        var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(profile, "somewhere", "fs"), FlowstoreHome.Path);
    }

    [Fact]
    public void Ensure_CreatesTheFolderOwnerOnly()
    {
        var home = Path.Combine(_directory.Path, "nested", "home");
        Environment.SetEnvironmentVariable(FlowstoreHome.EnvironmentVariable, home);

        Assert.Equal(home, FlowstoreHome.Ensure());

        Assert.True(Directory.Exists(home));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                File.GetUnixFileMode(home));
        }
        Assert.Equal(home, FlowstoreHome.Ensure()); // again: no error
    }

    [Fact]
    public async Task OpenDefault_CreatesTheDatabaseInTheHome()
    {
        var home = _directory.File("home");
        Environment.SetEnvironmentVariable(FlowstoreHome.EnvironmentVariable, home);

        using (var backend = SqliteFlowBackend.OpenDefault())
        {
            Assert.Equal(Path.Combine(home, "flowstore.db"), backend.DatabasePath);
            await backend.CreateProjectAsync("p", null, CancellationToken.None);
        }

        Assert.True(File.Exists(Path.Combine(home, "flowstore.db")));
    }
}
