namespace Flowstore.Engine.Tests;

/// <summary>What flow scripts may name: the settings classes and the shared bases they derive from.</summary>
public sealed class BuiltInStorageTests
{
    [Fact]
    public void Flow_scripts_reference_the_assembly_of_a_shared_settings_base()
    {
        var assemblies = BuiltInStorage.SettingsAssemblies;

        // GitLabStorage and BitbucketStorage derive from GitHostStorageSettings, which lives in the Git hosts' own assembly.
        Assert.Contains(typeof(GitHostStorageSettings).Assembly, assemblies);
        Assert.Contains(typeof(GitLabStorage).Assembly, assemblies);
        Assert.DoesNotContain(typeof(StorageSettings).Assembly, assemblies);
    }
}
