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
    /// <summary>A file (database, key) could not be read: corrupt, unreadable.</summary>
    ReadError,
    /// <summary>A file (database, key) could not be written: read-only, full disk.</summary>
    WriteError,
    /// <summary>A local resource is busy or unavailable (a locked database, a process that cannot start).</summary>
    ResourceUnavailable,
    /// <summary>Something took longer than its time limit and was stopped.</summary>
    OperationTimeout,
    /// <summary>Something went past a limit (memory) and was stopped.</summary>
    LimitsExceeded,
}

/// <summary>
/// An error the engine reports to a user. <see cref="ErrorId"/> is stable (tests and scripts match on it);
/// the message names the file, flow, task or setting at fault and never holds a secret value. Control characters in
/// the message and target (a name such as "a&lt;ESC&gt;[31m") are shown escaped (\u001B), never raw to a terminal.
/// </summary>
public class FlowstoreException : Exception
{
    private readonly string? _target;

    public FlowstoreException(string errorId, FlowErrorKind kind, string message, Exception? inner = null)
        : base(FlowNames.PrintableMessage(message), inner)
    {
        ErrorId = errorId;
        Kind = kind;
    }

    public string ErrorId { get; }
    public FlowErrorKind Kind { get; }

    /// <summary>The thing at fault (file path, flow name, ...), used as the PowerShell error's target object.</summary>
    public string? Target { get => _target; init => _target = value is null ? null : FlowNames.Printable(value); }

    /// <summary>
    /// What the user can do about it, as data: the PowerShell layer renders it as a command line, so the
    /// message itself never names a cmdlet or parameter. Null when there is nothing to suggest.
    /// </summary>
    public FlowHint? Hint { get; init; }
}

/// <summary>The kinds of fix an error can suggest; each is rendered by the user-facing layer.</summary>
public enum FlowHintKind
{
    /// <summary>Create the project <see cref="FlowHint.Name"/> (or let registration create it).</summary>
    CreateProject,
    /// <summary>Register (a new version of) the flow in <see cref="FlowHint.Path"/> in project <see cref="FlowHint.Project"/>.</summary>
    RegisterFlow,
    /// <summary>Publish the script <see cref="FlowHint.Path"/> (when known) to its storage first.</summary>
    PublishScript,
    /// <summary>Set the secret <see cref="FlowHint.Name"/>.</summary>
    SetSecret,
    /// <summary>Start the run without pinning it to the recorded storage version.</summary>
    RunUnpinned,
    /// <summary>Set or correct the storage setting <see cref="FlowHint.Name"/> of storage type <see cref="FlowHint.StorageType"/>.</summary>
    StorageSetting,
    /// <summary>Publish to a branch (<see cref="FlowHint.Name"/> when one is known) instead of a fixed ref.</summary>
    PublishToBranch,
    /// <summary>Keep the flow as a script in storage (script storage) instead of a compiled flow.</summary>
    StoreAsScript,
    /// <summary>Pass a storage for the flow when registering it.</summary>
    PassStorage,
    /// <summary>Give only one of the storage settings <see cref="FlowHint.Name"/> (comma-separated) of storage type <see cref="FlowHint.StorageType"/>.</summary>
    StorageSettingsExclusive,
    /// <summary>Name one of the flows of the script <see cref="FlowHint.Path"/> (it holds several).</summary>
    ChooseFlow,
    /// <summary>Pass a storage to publish the script <see cref="FlowHint.Path"/> to (its flow sets none).</summary>
    PublishStorage,
    /// <summary>Restore the secret store key <see cref="FlowHint.Path"/>, or set secret <see cref="FlowHint.Name"/> starting a new key (abandoning the others).</summary>
    RestoreOrNewSecretKey,
    /// <summary>Call with an API key of role <see cref="FlowHint.Name"/> (or higher), for project <see cref="FlowHint.Project"/> when one is named.</summary>
    UseApiKeyWithRole,
    /// <summary>Get a valid API key (a new one from an admin) and connect with it; <see cref="FlowHint.Name"/> names the key at fault when known.</summary>
    GetNewApiKey,
}

/// <summary>
/// A structured suggestion attached to a <see cref="FlowstoreException"/>. It holds names only (a secret's
/// name, a setting, a path), never a secret value.
/// </summary>
/// <param name="Kind">What to do.</param>
/// <param name="Name">The secret, project, setting or branch the fix names, if any.</param>
/// <param name="Path">The script file the fix names, if any.</param>
/// <param name="Project">The project the fix names, if any.</param>
/// <param name="StorageType">The storage type a setting belongs to, if any.</param>
public sealed record FlowHint(FlowHintKind Kind, string? Name = null, string? Path = null, string? Project = null, string? StorageType = null)
{
    public static FlowHint CreateProject(string project) => new(FlowHintKind.CreateProject, Name: project);
    public static FlowHint RegisterFlow(string? path, string? project) => new(FlowHintKind.RegisterFlow, Path: path, Project: project);
    public static FlowHint PublishScript(string? path = null) => new(FlowHintKind.PublishScript, Path: path);
    public static FlowHint SetSecret(string name) => new(FlowHintKind.SetSecret, Name: name);
    public static FlowHint RunUnpinned() => new(FlowHintKind.RunUnpinned);
    public static FlowHint StorageSetting(string storageType, string setting) => new(FlowHintKind.StorageSetting, Name: setting, StorageType: storageType);
    public static FlowHint PublishToBranch(string? branch = null) => new(FlowHintKind.PublishToBranch, Name: branch);
    public static FlowHint StoreAsScript() => new(FlowHintKind.StoreAsScript);
    public static FlowHint PassStorage() => new(FlowHintKind.PassStorage);
    public static FlowHint ChooseFlow(string? path = null) => new(FlowHintKind.ChooseFlow, Path: path);
    public static FlowHint PublishStorage(string? path = null) => new(FlowHintKind.PublishStorage, Path: path);
    public static FlowHint RestoreOrNewSecretKey(string keyPath, string secret) => new(FlowHintKind.RestoreOrNewSecretKey, Name: secret, Path: keyPath);
    public static FlowHint UseApiKeyWithRole(FlowRole role, string? project = null) => new(FlowHintKind.UseApiKeyWithRole, Name: role.ToString(), Project: project);
    public static FlowHint GetNewApiKey(string? keyName = null) => new(FlowHintKind.GetNewApiKey, Name: keyName);
    public static FlowHint StorageSettingsExclusive(string storageType, params string[] settings)
        => new(FlowHintKind.StorageSettingsExclusive, Name: string.Join(",", settings), StorageType: storageType);
}

/// <summary>Stable error ids raised by the engine.</summary>
public static class ErrorIds
{
    public const string ScriptNotFound = "ScriptNotFound";
    /// <summary>A file given as a flow script is not a C# file (.cs), e.g. a README.</summary>
    public const string NotAFlowScript = "NotAFlowScript";
    public const string ScriptCompilationFailed = "ScriptCompilationFailed";
    /// <summary>
    /// A <c>#load</c> that cannot be followed: an absolute path or one that leaves the storage's root, a loaded file with
    /// top-level statements, a loaded file that loads the flow script back.
    /// </summary>
    public const string ScriptLoadInvalid = "ScriptLoadInvalid";
    public const string ScriptExecutionFailed = "ScriptExecutionFailed";
    /// <summary>Building a script's flows (its top-level statements) ran past the build time limit and was stopped.</summary>
    public const string ScriptBuildTimeout = "ScriptBuildTimeout";
    /// <summary>Building a script's flows used more memory than the build memory limit and was stopped.</summary>
    public const string ScriptBuildMemoryExceeded = "ScriptBuildMemoryExceeded";
    /// <summary>The process that builds scripts under limits could not be started, or ended without an answer.</summary>
    public const string ScriptBuildFailed = "ScriptBuildFailed";
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
    /// <summary>The secret store key could not be written (full disk, read-only home); nothing was written.</summary>
    public const string SecretKeyWriteFailed = "SecretKeyWriteFailed";
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
    /// <summary>The worker process executing a run ended before the run did (Environment.Exit, a stack overflow, out of memory, a native crash); the message names the exit code or signal.</summary>
    public const string RunProcessCrashed = "RunProcessCrashed";
    /// <summary>The worker process that executes a run could not be started (its program is missing, or the process failed to start).</summary>
    public const string RunWorkerUnavailable = "RunWorkerUnavailable";
    /// <summary>A fetched flow could not be loaded or built for a reason that is not the script's (a corrupt, truncated or empty compiled flow).</summary>
    public const string FlowLoadFailed = "FlowLoadFailed";
    /// <summary>No API key was given, or it is unknown, revoked or expired (HTTP 401). The message never holds the token.</summary>
    public const string ApiKeyInvalid = "ApiKeyInvalid";
    /// <summary>The API key's role or projects do not allow the call (HTTP 403); the message names the role needed.</summary>
    public const string AccessDenied = "AccessDenied";
    /// <summary>An API key that is not revoked already has that name.</summary>
    public const string ApiKeyExists = "ApiKeyExists";
    /// <summary>No API key has that name or id.</summary>
    public const string ApiKeyNotFound = "ApiKeyNotFound";
    /// <summary>The backend in use keeps no API keys (keys live where a server keeps its state).</summary>
    public const string ApiKeysNotSupported = "ApiKeysNotSupported";
    /// <summary>The Flowstore server could not be reached (after retries of calls that are safe to repeat); the message names its URL.</summary>
    public const string ServerUnreachable = "ServerUnreachable";
    /// <summary>The Flowstore server failed on a request for a reason of its own (its log has the details).</summary>
    public const string ServerError = "ServerError";
    /// <summary>A request to the Flowstore server was malformed: bad JSON, an unknown field, a wrong type (the field is named).</summary>
    public const string RequestInvalid = "RequestInvalid";
    /// <summary>A request to the Flowstore server was larger than its body size limit.</summary>
    public const string RequestTooLarge = "RequestTooLarge";
    /// <summary>A Flowstore server is running for that home already (Start-FlowServer); the message names its URL and process.</summary>
    public const string ServerAlreadyRunning = "ServerAlreadyRunning";
    /// <summary>No Flowstore server is running for that home.</summary>
    public const string ServerNotRunning = "ServerNotRunning";
    /// <summary>A setting of the Flowstore server (appsettings.json, Flowstore__* environment variable, argument) has a value it does not know; the message names the setting.</summary>
    public const string ServerSettingInvalid = "ServerSettingInvalid";
    /// <summary>A schedule (cron expression, time zone, interval or its parameters) is not valid; the message says what.</summary>
    public const string InvalidSchedule = "InvalidSchedule";
    /// <summary>A flow cannot be scheduled: a required parameter has no default and its schedule gives no value (the message names flow and parameter).</summary>
    public const string ScheduleParameterMissing = "ScheduleParameterMissing";
    /// <summary>A schedule's parameters name a parameter the flow does not declare.</summary>
    public const string ScheduleParameterUnknown = "ScheduleParameterUnknown";
    /// <summary>The flow has no schedule (or is not registered).</summary>
    public const string ScheduleNotFound = "ScheduleNotFound";
}
