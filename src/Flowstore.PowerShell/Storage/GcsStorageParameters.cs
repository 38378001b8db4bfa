using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Gcs (placeholder: the parameters are being written).</summary>
public sealed class GcsStorageParameters : IStorageParameters
{
    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => throw new NotImplementedException();
}
