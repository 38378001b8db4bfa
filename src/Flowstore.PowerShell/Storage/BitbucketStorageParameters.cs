using System.Management.Automation;

namespace Flowstore.Commands;

/// <summary>-Type Bitbucket (placeholder: the parameters are being written).</summary>
public sealed class BitbucketStorageParameters : IStorageParameters
{
    StorageSettings IStorageParameters.Create(PSCmdlet cmdlet) => throw new NotImplementedException();
}
