namespace Flowstore.Engine.Tests;

/// <summary>A real backend behind a proxy that tells a test each call (member name and arguments) before forwarding it.</summary>
public class RecordingBackend : System.Reflection.DispatchProxy
{
    private IFlowBackend _inner = null!;
    private Action<string, object?[]?> _onCall = null!;

    public static IFlowBackend Wrap(IFlowBackend inner, Action<string, object?[]?> onCall)
    {
        var proxy = Create<IFlowBackend, RecordingBackend>();
        var recording = (RecordingBackend)(object)proxy;
        recording._inner = inner;
        recording._onCall = onCall;
        return proxy;
    }

    protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
    {
        lock (this)
        {
            _onCall(targetMethod!.Name, args);
        }
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
