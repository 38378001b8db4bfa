using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>The storage types New-FlowStorage can create.</summary>
public enum FlowStorageType
{
    Local,
    GitHub,
    GitLab,
    Bitbucket,
    Git,
    S3,
    Gcs,
    Docker,
}

/// <summary>
/// New-FlowStorage: creates a storage settings object for Register-Flow (and, later, Publish-FlowScript).
/// Each -Type offers only its own parameters (dynamic parameters), so tab completion shows what applies.
/// </summary>
[Cmdlet(VerbsCommon.New, "FlowStorage")]
[OutputType(typeof(LocalStorage), typeof(GitHubStorage), typeof(GitLabStorage), typeof(BitbucketStorage), typeof(GitStorage),
    typeof(S3Storage), typeof(GcsStorage), typeof(DockerStorage))]
public sealed class NewFlowStorageCommand : FlowCmdlet, IDynamicParameters
{
    private static readonly Dictionary<FlowStorageType, Func<IStorageParameters>> ParameterSets = new()
    {
        [FlowStorageType.Local] = () => new LocalStorageParameters(),
        [FlowStorageType.GitHub] = () => new GitHubStorageParameters(),
        [FlowStorageType.GitLab] = () => new GitLabStorageParameters(),
        [FlowStorageType.Bitbucket] = () => new BitbucketStorageParameters(),
        [FlowStorageType.Git] = () => new GitStorageParameters(),
        [FlowStorageType.S3] = () => new S3StorageParameters(),
        [FlowStorageType.Gcs] = () => new GcsStorageParameters(),
        [FlowStorageType.Docker] = () => new DockerStorageParameters(),
    };

    private IStorageParameters? _parameters;

    [Parameter(Mandatory = true, Position = 0)]
    public FlowStorageType Type { get; set; }

    public object? GetDynamicParameters() => _parameters = ParameterSets[Type]();

    protected override void ProcessRecord()
    {
        var parameters = _parameters ?? ParameterSets[Type]();
        StorageSettings storage;
        try
        {
            storage = parameters.Create(this);
        }
        catch (FlowstoreException e)
        {
            // Contradictory or malformed settings (-Branch with -Tag, a repo that is not owner/name, ...): the
            // whole call is invalid.
            Terminate(e);
            return;
        }
        WriteObject(storage);
    }
}

/// <summary>The parameters of one storage type; Create throws a FlowstoreException for invalid settings.</summary>
internal interface IStorageParameters
{
    StorageSettings Create(PSCmdlet cmdlet);
}

/// <summary>-Type Local.</summary>
public sealed class LocalStorageParameters : IStorageParameters
{
    /// <summary>The script file runs read (script storage); defaults to the registered file.</summary>
    [Parameter]
    public string? Path { get; set; }

    /// <summary>Where frozen flows are copied; defaults to $FLOWSTORE_HOME/flows.</summary>
    [Parameter]
    public string? Directory { get; set; }

    /// <summary>Runs read the script file instead of a compiled copy.</summary>
    [Parameter]
    public SwitchParameter StoredAsScript { get; set; }

    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => new LocalStorage(
        Path is null ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(Path),
        Directory is null ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(Directory),
        StoredAsScript.IsPresent);
}
