using System.Text.Json.Serialization;

namespace Flowstore;

/// <summary>
/// Local storage. As a script (<see cref="StoredAsScript"/>), every run reads the file at <see cref="Path"/>.
/// Frozen (the default for an explicit LocalStorage, as in the seed), registration copies the compiled flow
/// into <see cref="Directory"/> and runs use that copy.
/// </summary>
public sealed record LocalStorage : StorageSettings
{
    /// <summary>For deserialisation.</summary>
    public LocalStorage()
    {
    }

    /// <param name="path">The script file (script mode); defaults to the registered file.</param>
    /// <param name="directory">Where frozen flows are copied; defaults to $FLOWSTORE_HOME/flows.</param>
    /// <param name="storedAsScript">True: runs read the script file. False: runs use the compiled copy.</param>
    public LocalStorage(string? path = null, string? directory = null, bool storedAsScript = false)
    {
        Path = path;
        Directory = directory;
        StoredAsScript = storedAsScript;
    }

    public override string Type => "Local";

    /// <summary>The script file runs read (absolute once registered).</summary>
    [StorageSetting("The script file runs read (script storage); defaults to the registered file.", LocalPath = StorageSettingPath.File)]
    public string? Path { get; init; }

    /// <summary>The folder that holds frozen flows.</summary>
    [StorageSetting("Where frozen flows are copied; defaults to $FLOWSTORE_HOME/flows.", LocalPath = StorageSettingPath.File)]
    public string? Directory { get; init; }

    /// <summary>Opt-in script storage, as in the seed.</summary>
    [StorageSetting("Runs read the script file instead of a compiled copy.")]
    public bool StoredAsScript { get; init; }

    /// <summary>The copied compiled flow (frozen mode), set at registration.</summary>
    [JsonInclude]
    internal string? ArtifactPath { get; init; }

    public override bool IsScript => StoredAsScript;

    public override string Locator => StoredAsScript
        ? $"local:{Path}"
        : $"local-frozen:{ArtifactPath ?? Directory}";

    public override string ToString() => StoredAsScript
        ? $"Local script {Path ?? "(the registered file)"}"
        : $"Local frozen {ArtifactPath ?? Directory ?? "($FLOWSTORE_HOME/flows)"}";
}
