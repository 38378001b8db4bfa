using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Git (placeholder: the parameters are being written).</summary>
public sealed class GitStorageParameters : IStorageParameters
{
    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => throw new NotImplementedException();
}
