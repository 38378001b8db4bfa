using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Docker (placeholder: the parameters are being written).</summary>
public sealed class DockerStorageParameters : IStorageParameters
{
    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => throw new NotImplementedException();
}
