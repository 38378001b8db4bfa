using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type GitLab (placeholder: the parameters are being written).</summary>
public sealed class GitLabStorageParameters : IStorageParameters
{
    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => throw new NotImplementedException();
}
