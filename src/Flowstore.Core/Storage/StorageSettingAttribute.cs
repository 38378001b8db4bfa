namespace Flowstore;

/// <summary>How a setting that names something local is completed where the user is (New-FlowStorage resolves it).</summary>
public enum StorageSettingPath
{
    /// <summary>Not a local path.</summary>
    None,

    /// <summary>A local file or folder: a relative path is made absolute against the caller's location.</summary>
    File,

    /// <summary>A map whose keys are local files (the values are not).</summary>
    FileKeys,

    /// <summary>A URL, or a local path that becomes a file:// URL (e.g. a repository).</summary>
    UrlOrFile,
}

/// <summary>
/// Marks a property of a <see cref="StorageSettings"/> record as a setting the user gives. Everything a front end
/// shows about a storage type comes from these: New-FlowStorage's parameters (name, help, mandatory, completion,
/// validation), the settings view, and the secret names. Properties without it are computed and never asked for.
/// </summary>
/// <param name="helpMessage">One or two sentences for help and completion tooltips.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class StorageSettingAttribute(string helpMessage) : Attribute
{
    /// <summary>What the setting is, for help and completion tooltips.</summary>
    public string HelpMessage { get; } = helpMessage;

    /// <summary>The storage cannot work without it.</summary>
    public bool Mandatory { get; set; }

    /// <summary>The value is the <em>name</em> of a secret (resolved when used), never a secret value.</summary>
    public bool Secret { get; set; }

    /// <summary>Whether the value is a local path to be made absolute where it is given.</summary>
    public StorageSettingPath LocalPath { get; set; }

    /// <summary>The only values allowed (offered for completion); none: any value.</summary>
    public string[]? ValidValues { get; set; }

    /// <summary>For whole-number settings: the smallest value allowed.</summary>
    public int Minimum { get; set; } = int.MinValue;
}

/// <summary>
/// Registers a storage provider: one line per provider, in the provider's own assembly, e.g.
/// <c>[assembly: FlowStorageProvider(typeof(S3StorageProvider))]</c>. The provider has a public constructor taking a
/// <see cref="StorageEnvironment"/>, or none.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class FlowStorageProviderAttribute(Type providerType) : Attribute
{
    /// <summary>A class implementing <see cref="IStorageProvider"/>.</summary>
    public Type ProviderType { get; } = providerType;
}

/// <summary>What a provider may depend on where it runs.</summary>
/// <param name="Home">The Flowstore home folder (FLOWSTORE_HOME) of the client using the provider.</param>
public sealed record StorageEnvironment(string Home);
