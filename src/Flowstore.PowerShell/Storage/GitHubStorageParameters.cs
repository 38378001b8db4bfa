using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type GitHub (placeholder: the parameters are being written).</summary>
public sealed class GitHubStorageParameters : IStorageParameters
{
    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => throw new NotImplementedException();
}
