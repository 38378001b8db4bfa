namespace Flowstore.Engine;

/// <summary>
/// The storage providers every <see cref="FlowClient"/> has: one line per provider. A provider brings its
/// settings class (registered for saved JSON and visible to flow scripts) and its fetch/publish code.
/// </summary>
internal static class BuiltInStorage
{
    public static IEnumerable<IStorageProvider> Providers(string home) =>
    [
        new LocalStorageProvider(Path.Combine(home, "flows")),
        new Storage.GitHub.GitHubStorageProvider(),
        new Storage.GitLab.GitLabStorageProvider(),
        new Storage.Bitbucket.BitbucketStorageProvider(),
        new Storage.Git.GitStorageProvider(Path.Combine(home, "cache", "git")),
        new Storage.S3.S3StorageProvider(),
        new Storage.Gcs.GcsStorageProvider(),
        new Storage.Docker.DockerStorageProvider(),
    ];

    /// <summary>The assemblies of the settings classes, referenced by flow scripts (new S3Storage(...)).</summary>
    public static IReadOnlyList<System.Reflection.Assembly> SettingsAssemblies { get; } = Providers(Path.GetTempPath())
        .Select(p => p.SettingsType.Assembly)
        .Where(a => a != typeof(StorageSettings).Assembly)
        .Distinct()
        .ToArray();
}
