using System.Threading.Channels;

namespace Flowstore.Commands;

/// <summary>
/// Base of every Flowstore cmdlet: runs engine calls off the pipeline thread while all Write* calls stay on
/// it, cancels on Ctrl+C (StopProcessing), and maps engine errors to error records with stable ids.
/// </summary>
public abstract class FlowCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<Action> _messages = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private FlowClient? _client;

    /// <summary>
    /// The engine client (embedded backend in $FLOWSTORE_HOME), created on first use. A SecretManagement vault
    /// is the last secret source; it is looked for only when the store and the environment miss.
    /// </summary>
    protected FlowClient Client => _client ??= new FlowClient(new FlowClientOptions
    {
        SecretSources = new ISecretSource[] { new VaultSecretSource() },
    });

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        base.EndProcessing();
        DisposeClient();
    }

    /// <summary>Runs engine work, pumping its verbose/progress messages onto the pipeline thread until done.</summary>
    protected T Await<T>(Func<CancellationToken, Task<T>> work)
    {
        var task = Task.Run(() => work(_stop.Token));
        var reader = _messages.Reader;
        try
        {
            while (!task.IsCompleted)
            {
                var ready = reader.WaitToReadAsync().AsTask();
                Task.WaitAny(task, ready);
                Drain();
            }
            Drain();
        }
        catch
        {
            // A message's Write* threw (an agent's failed-run error under -ErrorAction Stop, a downstream
            // Select-Object -First, Ctrl+C): stop the engine work and let it end before the client is disposed,
            // so that a claimed run records its end instead of being left Running by a half-disposed backend.
            _stop.Cancel();
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
            }
            throw;
        }
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>Like <see cref="Await{T}"/>, but an engine error ends the whole call with its stable id.</summary>
    protected T RunOrTerminate<T>(Func<CancellationToken, Task<T>> work, object? target = null)
    {
        try
        {
            return Await(work);
        }
        catch (FlowstoreException e)
        {
            Terminate(e, target);
            throw; // not reached: Terminate throws
        }
    }

    /// <summary>
    /// The flow a cmdlet acts on: the one piped in (<paramref name="given"/>, read again by its id so it is current) or
    /// the one named by flow, project and version (the latest when null). Engine errors are thrown.
    /// </summary>
    protected FlowRecord ReadFlow(FlowInfo? given, string name, string project, int? version)
        => given is { } flow
            ? Await(ct => Client.Catalog.GetFlowAsync(flow.Id, ct))
            : Await(ct => Client.GetFlowAsync(name, project, version, ct));

    protected void Await(Func<CancellationToken, Task> work) => Await<bool>(async ct =>
    {
        await work(ct).ConfigureAwait(false);
        return true;
    });

    private void Drain()
    {
        while (_messages.Reader.TryRead(out var message))
        {
            message();
        }
    }

    /// <summary>Queues a verbose message from any thread; it is written on the pipeline thread.</summary>
    /// <summary>Queues any action for the pipeline thread (e.g. WriteObject from an engine callback).</summary>
    internal void PostAction(Action action) => _messages.Writer.TryWrite(action);

    internal void PostVerbose(string message) => _messages.Writer.TryWrite(() => WriteVerbose(message));

    internal void PostWarning(string message) => _messages.Writer.TryWrite(() => WriteWarning(message));

    internal void PostProgress(ProgressRecord record) => _messages.Writer.TryWrite(() => WriteProgress(record));

    /// <summary>Queues text shown like Write-Host (information stream, tag PSHOST): task output during runs.</summary>
    internal void PostHost(string message) => _messages.Writer.TryWrite(() =>
        WriteInformation(new HostInformationMessage { Message = message, NoNewLine = false }, new[] { "PSHOST", "FlowOutput" }));

    /// <summary>
    /// Queues an error line of a running flow (a task that failed, a task's standard error, Log.Error), shown like
    /// Write-Host in red as "ERROR: ..." on the information stream (tags PSHOST, FlowError): it reads as an error, yet
    /// it is not an error record, so that -ErrorAction Stop does not cut a run short at a task's first error line (a
    /// failed run still writes one error record when it ends).
    /// </summary>
    internal void PostHostError(string message) => _messages.Writer.TryWrite(() =>
        WriteInformation(new HostInformationMessage { Message = "ERROR: " + message, NoNewLine = false, ForegroundColor = ConsoleColor.Red },
            new[] { "PSHOST", "FlowError" }));

    /// <summary>
    /// ShouldProcess where -Force skips the confirmation prompt of a high-impact operation; -WhatIf still only
    /// describes, and an explicit -Confirm still asks.
    /// </summary>
    protected bool ShouldProcessOrForce(string target, string action, bool force)
    {
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) ? ((SwitchParameter)w).IsPresent
            : SessionState.PSVariable.GetValue("WhatIfPreference") is { } pref && LanguagePrimitives.IsTrue(pref);
        var confirm = MyInvocation.BoundParameters.TryGetValue("Confirm", out var c) && ((SwitchParameter)c).IsPresent;
        if (force && !whatIf && !confirm)
        {
            WriteVerbose($"Performing the operation \"{action}\" on target \"{target}\" (-Force).");
            return true;
        }
        return ShouldProcess(target, action);
    }

    /// <summary>An error record for an engine exception: its stable id, a matching category, the item at fault.</summary>
    internal static ErrorRecord ToErrorRecord(Exception exception, object? target = null)
    {
        if (SecretRedaction.Contains(exception.ToString()))
        {
            // A storage or library echoed a resolved secret: keep the id and kind, blank the value, drop the chain.
            exception = exception is FlowstoreException leaked
                ? new FlowstoreException(leaked.ErrorId, leaked.Kind, SecretRedaction.Redact(leaked.Message)) { Target = leaked.Target is null ? null : SecretRedaction.Redact(leaked.Target), Hint = leaked.Hint }
                : new InvalidOperationException(SecretRedaction.Redact(exception.Message));
        }
        if (exception is FlowstoreException fe)
        {
            // A database fault is about the database file, whatever item the cmdlet was working on.
            var isBackend = fe.ErrorId is ErrorIds.BackendUnavailable or ErrorIds.BackendSchemaTooNew && fe.Target is not null;
            return new ErrorRecord(fe, fe.ErrorId, Category(fe.Kind), isBackend ? fe.Target : target ?? fe.Target) { ErrorDetails = RecommendedActions.Details(fe) };
        }
        if (exception is UnauthorizedAccessException or IOException)
        {
            return new ErrorRecord(exception, "FlowstoreIOError", ErrorCategory.WriteError, target);
        }
        return new ErrorRecord(exception, "FlowstoreUnexpectedError", ErrorCategory.NotSpecified, target);
    }

    protected static ErrorCategory Category(FlowErrorKind kind) => kind switch
    {
        FlowErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        FlowErrorKind.InvalidData => ErrorCategory.InvalidData,
        FlowErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        FlowErrorKind.ResourceExists => ErrorCategory.ResourceExists,
        FlowErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        FlowErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        FlowErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        FlowErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        FlowErrorKind.NotImplemented => ErrorCategory.NotImplemented,
        FlowErrorKind.ReadError => ErrorCategory.ReadError,
        FlowErrorKind.WriteError => ErrorCategory.WriteError,
        FlowErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        FlowErrorKind.OperationTimeout => ErrorCategory.OperationTimeout,
        FlowErrorKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>Throws a terminating error for an engine exception (the whole call is invalid).</summary>
    protected void Terminate(Exception exception, object? target = null) => ThrowTerminatingError(ToErrorRecord(exception, target));

    /// <summary>Turns a PowerShell hashtable into engine parameter values (unwrapping PSObjects).</summary>
    protected static IReadOnlyDictionary<string, object?> ToDictionary(IDictionary? table)
    {
        var result = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        if (table is null)
        {
            return result;
        }
        foreach (DictionaryEntry entry in table)
        {
            result[entry.Key?.ToString() ?? ""] = Unwrap(entry.Value);
        }
        return result;
    }

    private static object? Unwrap(object? value) => value switch
    {
        PSObject ps => Unwrap(ps.BaseObject),
        object[] array => array.Select(Unwrap).ToArray(),
        _ => value,
    };

    private void DisposeClient()
    {
        _client?.Dispose();
        _client = null;
    }

    public void Dispose()
    {
        DisposeClient();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
