namespace Flowstore;

/// <summary>What kind of failure an error is; the PowerShell layer maps it to an ErrorCategory.</summary>
public enum FlowErrorKind
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    ResourceExists,
    InvalidOperation,
    PermissionDenied,
    ConnectionError,
    OperationStopped,
    NotImplemented,
}

/// <summary>
/// An error the engine reports to a user. <see cref="ErrorId"/> is stable (tests and scripts match on it);
/// the message names the file, flow, task or setting at fault and never holds a secret value.
/// </summary>
public class FlowstoreException : Exception
{
    public FlowstoreException(string errorId, FlowErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
    }

    public string ErrorId { get; }
    public FlowErrorKind Kind { get; }

    /// <summary>The thing at fault (file path, flow name, ...), used as the PowerShell error's target object.</summary>
    public string? Target { get; init; }
}

/// <summary>Stable error ids raised by the engine.</summary>
public static class ErrorIds
{
    public const string ScriptNotFound = "ScriptNotFound";
    public const string ScriptCompilationFailed = "ScriptCompilationFailed";
    public const string ScriptExecutionFailed = "ScriptExecutionFailed";
    public const string NoFlowsFound = "NoFlowsFound";
    public const string FlowNotFoundInScript = "FlowNotFoundInScript";
    public const string DuplicateFlowName = "DuplicateFlowName";
    public const string DuplicateTaskName = "DuplicateTaskName";
    public const string InvalidName = "InvalidName";
    public const string FlowCycle = "FlowCycle";
    public const string ForeignHandle = "ForeignHandle";
    public const string InvalidTaskOption = "InvalidTaskOption";
    public const string DuplicateParameterName = "DuplicateParameterName";
    public const string ProjectNotFound = "ProjectNotFound";
    public const string ProjectExists = "ProjectExists";
    public const string FlowNotFound = "FlowNotFound";
    public const string StorageTypeUnknown = "StorageTypeUnknown";
    public const string StorageInvalid = "StorageInvalid";
    public const string StorageFetchFailed = "StorageFetchFailed";
    /// <summary>The repository, bucket, object, image or path the storage names does not exist.</summary>
    public const string StorageNotFound = "StorageNotFound";
    /// <summary>The storage refused the credentials (401) or access (403).</summary>
    public const string StorageAccessDenied = "StorageAccessDenied";
    /// <summary>The storage's API rate limit is exhausted; the message gives the reset time.</summary>
    public const string StorageRateLimited = "StorageRateLimited";
    /// <summary>The storage could not be reached (after retries): network failure, 5xx, timeout.</summary>
    public const string StorageUnavailable = "StorageUnavailable";
    /// <summary>Publishing (upload, commit, build, push) failed.</summary>
    public const string StoragePublishFailed = "StoragePublishFailed";
    /// <summary>This storage type has no publish step.</summary>
    public const string StoragePublishNotSupported = "StoragePublishNotSupported";
    /// <summary>The script the storage holds does not match the one being registered (flow missing, structure differs).</summary>
    public const string StoredScriptMismatch = "StoredScriptMismatch";
    public const string SecretNotFound = "SecretNotFound";
    public const string SecretKeyMissing = "SecretKeyMissing";
    public const string SecretKeyInvalid = "SecretKeyInvalid";
    public const string SecretKeyMismatch = "SecretKeyMismatch";
    public const string SecretOutsideRun = "SecretOutsideRun";
    public const string BackendSchemaTooNew = "BackendSchemaTooNew";
    public const string BackendUnavailable = "BackendUnavailable";
    public const string ParameterMissing = "ParameterMissing";
    public const string ParameterUnknown = "ParameterUnknown";
    public const string ParameterInvalid = "ParameterInvalid";
    public const string StructureChanged = "StructureChanged";
    public const string RunNotFound = "RunNotFound";
    public const string RunAlreadyEnded = "RunAlreadyEnded";
    public const string RunWaitTimedOut = "RunWaitTimedOut";
    public const string PinnedVersionUnavailable = "PinnedVersionUnavailable";
    public const string RunAgentLost = "RunAgentLost";
}
