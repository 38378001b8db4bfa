using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type S3 (placeholder: the parameters are being written).</summary>
public sealed class S3StorageParameters : IStorageParameters
{
    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => throw new NotImplementedException();
}
