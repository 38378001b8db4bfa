using System.Text;

// The one registration line of this storage type.
[assembly: Flowstore.FlowStorageProvider(typeof(Flowstore.Storage.Probe.ProbeStorageProvider))]

namespace Flowstore.Storage.Probe;

/// <summary>
/// A test-only storage: registration copies the flow script onto a shelf (a folder) and every run reads the copy
/// there, so editing the shelf's file changes what the next run does. It proves that a storage type is a folder and a
/// line: New-FlowStorage's parameters, help, completion, validation and view all come from this record.
/// </summary>
public sealed record ProbeStorage : StorageSettings
{
    /// <summary>The colours a probe may be labelled with.</summary>
    public static readonly string[] Colors = ["Blue", "Green"];

    /// <summary>For deserialisation.</summary>
    public ProbeStorage()
    {
    }

    /// <param name="shelf">The folder that holds the copies.</param>
    /// <param name="name">The copy's file name on the shelf; &lt;flow-slug&gt;.cs when null.</param>
    /// <param name="color">A label, Blue or Green.</param>
    /// <param name="tokenSecret">Name of a secret each run resolves (it must exist when named).</param>
    public ProbeStorage(string shelf, string? name = null, string? color = null, string? tokenSecret = null)
    {
        Shelf = shelf;
        Name = name;
        Color = color;
        TokenSecret = tokenSecret;
    }

    public override string Type => "Probe";

    [StorageSetting("The folder the probe keeps its script copies in.", Mandatory = true, LocalPath = StorageSettingPath.File)]
    public string Shelf { get; init; } = "";

    [StorageSetting("The copy's file name on the shelf, ending in .cs; the flow's slug when not given.")]
    public string? Name { get; init; }

    [StorageSetting("A colour label for the probe.", ValidValues = ["Blue", "Green"])]
    public string? Color { get; init; }

    [StorageSetting("Name of a secret each run resolves; the run fails when it does not exist.", Secret = true)]
    public string? TokenSecret { get; init; }

    public override bool IsScript => true;

    public override string Locator => $"probe:{Shelf}/{Name ?? "(flow slug).cs"}";

    public override string ToString() => $"Probe {Color ?? "plain"} {System.IO.Path.Combine(Shelf, Name ?? "(flow slug).cs")}";

    /// <summary>The copy is a C# file.</summary>
    protected override void ValidateSettings()
    {
        if (Name is not null && !Name.EndsWith(".cs", StringComparison.Ordinal))
        {
            throw Invalid(nameof(Name), $"Probe storage file name '{Name}' must end in .cs.", Name);
        }
    }
}

/// <summary>Copies the script onto the shelf at registration; runs read the copy.</summary>
public sealed class ProbeStorageProvider : IStorageProvider
{
    public string Type => "Probe";

    public Type SettingsType => typeof(ProbeStorage);

    public StorageSettings Resolve(StorageSettings settings, StorageRegistrationContext context)
    {
        var probe = (ProbeStorage)settings;
        probe.Validate();
        return probe with
        {
            Shelf = Path.GetFullPath(probe.Shelf, Path.GetDirectoryName(context.ScriptPath)!),
            Name = probe.Name ?? context.FlowSlug + ".cs",
        };
    }

    public async Task<PreparedStorage> PrepareRegistrationAsync(StorageSettings settings, StorageRegistrationContext context, CancellationToken cancellationToken)
    {
        var probe = (ProbeStorage)settings;
        Directory.CreateDirectory(probe.Shelf);
        var copy = Path.Combine(probe.Shelf, probe.Name!);
        await File.WriteAllTextAsync(copy, context.ScriptSource, cancellationToken).ConfigureAwait(false);
        context.Log($"Flow '{context.Flow}': copied to the probe shelf at '{copy}'.");
        return new PreparedStorage(probe);
    }

    public async Task<FetchedFlowSource> FetchAsync(StorageSettings settings, string? pinnedVersion, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        var probe = (ProbeStorage)settings;
        probe.Validate();
        if (probe.TokenSecret is { } secret)
        {
            _ = await secrets.ResolveAsync(secret, cancellationToken).ConfigureAwait(false);
        }
        var copy = Path.Combine(probe.Shelf, probe.Name!);
        var text = await File.ReadAllTextAsync(copy, cancellationToken).ConfigureAwait(false);
        var sha = FlowStructure.Sha256Hex(Encoding.UTF8.GetBytes(text));
        return new FetchedFlowSource(text, null, sha, sha[..16], copy);
    }
}
