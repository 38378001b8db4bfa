// Task overloads of Flow: 0 to 4 inputs, for functions and actions, synchronous and asynchronous
// (with or without a CancellationToken). Kept by hand; each one only adapts the body to one invoker shape.
using System.Runtime.CompilerServices;

namespace Flowstore;

public sealed partial class Flow
{

    /// <summary>Declares a task that returns a value.</summary>
    public TaskHandle<TResult> Task<TResult>(string name, Func<TResult> body, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, Array.Empty<IFlowInput>(), options, (a, ct) => System.Threading.Tasks.Task.FromResult<object?>(body()), sourceFile, sourceLine);

    /// <summary>Declares a task that returns nothing.</summary>
    public TaskHandle Task(string name, Action body, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, Array.Empty<IFlowInput>(), options, (a, ct) => { body(); return System.Threading.Tasks.Task.FromResult<object?>(null); }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns a value.</summary>
    public TaskHandle<TResult> Task<TResult>(string name, Func<Task<TResult>> body, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, Array.Empty<IFlowInput>(), options, async (a, ct) => await body().ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns nothing.</summary>
    public TaskHandle Task(string name, Func<Task> body, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, Array.Empty<IFlowInput>(), options, async (a, ct) => { await body().ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns a value. The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle<TResult> Task<TResult>(string name, Func<CancellationToken, Task<TResult>> body, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, Array.Empty<IFlowInput>(), options, async (a, ct) => await body(ct).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns nothing. The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle Task(string name, Func<CancellationToken, Task> body, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, Array.Empty<IFlowInput>(), options, async (a, ct) => { await body(ct).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares a task that returns a value. Inputs are passed in order to the body's 1 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, TResult>(string name, Func<T1, TResult> body, IFlowInput<T1> input1, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1 }, options, (a, ct) => System.Threading.Tasks.Task.FromResult<object?>(body((T1)a[0]!)), sourceFile, sourceLine);

    /// <summary>Declares a task that returns nothing. Inputs are passed in order to the body's 1 argument(s).</summary>
    public TaskHandle Task<T1>(string name, Action<T1> body, IFlowInput<T1> input1, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1 }, options, (a, ct) => { body((T1)a[0]!); return System.Threading.Tasks.Task.FromResult<object?>(null); }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns a value. Inputs are passed in order to the body's 1 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, TResult>(string name, Func<T1, Task<TResult>> body, IFlowInput<T1> input1, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1 }, options, async (a, ct) => await body((T1)a[0]!).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns nothing. Inputs are passed in order to the body's 1 argument(s).</summary>
    public TaskHandle Task<T1>(string name, Func<T1, Task> body, IFlowInput<T1> input1, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1 }, options, async (a, ct) => { await body((T1)a[0]!).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns a value. Inputs are passed in order to the body's 1 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle<TResult> Task<T1, TResult>(string name, Func<T1, CancellationToken, Task<TResult>> body, IFlowInput<T1> input1, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1 }, options, async (a, ct) => await body((T1)a[0]!, ct).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns nothing. Inputs are passed in order to the body's 1 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle Task<T1>(string name, Func<T1, CancellationToken, Task> body, IFlowInput<T1> input1, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1 }, options, async (a, ct) => { await body((T1)a[0]!, ct).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares a task that returns a value. Inputs are passed in order to the body's 2 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, T2, TResult>(string name, Func<T1, T2, TResult> body, IFlowInput<T1> input1, IFlowInput<T2> input2, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2 }, options, (a, ct) => System.Threading.Tasks.Task.FromResult<object?>(body((T1)a[0]!, (T2)a[1]!)), sourceFile, sourceLine);

    /// <summary>Declares a task that returns nothing. Inputs are passed in order to the body's 2 argument(s).</summary>
    public TaskHandle Task<T1, T2>(string name, Action<T1, T2> body, IFlowInput<T1> input1, IFlowInput<T2> input2, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2 }, options, (a, ct) => { body((T1)a[0]!, (T2)a[1]!); return System.Threading.Tasks.Task.FromResult<object?>(null); }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns a value. Inputs are passed in order to the body's 2 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, T2, TResult>(string name, Func<T1, T2, Task<TResult>> body, IFlowInput<T1> input1, IFlowInput<T2> input2, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2 }, options, async (a, ct) => await body((T1)a[0]!, (T2)a[1]!).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns nothing. Inputs are passed in order to the body's 2 argument(s).</summary>
    public TaskHandle Task<T1, T2>(string name, Func<T1, T2, Task> body, IFlowInput<T1> input1, IFlowInput<T2> input2, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2 }, options, async (a, ct) => { await body((T1)a[0]!, (T2)a[1]!).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns a value. Inputs are passed in order to the body's 2 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle<TResult> Task<T1, T2, TResult>(string name, Func<T1, T2, CancellationToken, Task<TResult>> body, IFlowInput<T1> input1, IFlowInput<T2> input2, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2 }, options, async (a, ct) => await body((T1)a[0]!, (T2)a[1]!, ct).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns nothing. Inputs are passed in order to the body's 2 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle Task<T1, T2>(string name, Func<T1, T2, CancellationToken, Task> body, IFlowInput<T1> input1, IFlowInput<T2> input2, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2 }, options, async (a, ct) => { await body((T1)a[0]!, (T2)a[1]!, ct).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares a task that returns a value. Inputs are passed in order to the body's 3 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, TResult> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2, input3 }, options, (a, ct) => System.Threading.Tasks.Task.FromResult<object?>(body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!)), sourceFile, sourceLine);

    /// <summary>Declares a task that returns nothing. Inputs are passed in order to the body's 3 argument(s).</summary>
    public TaskHandle Task<T1, T2, T3>(string name, Action<T1, T2, T3> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2, input3 }, options, (a, ct) => { body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!); return System.Threading.Tasks.Task.FromResult<object?>(null); }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns a value. Inputs are passed in order to the body's 3 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, Task<TResult>> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2, input3 }, options, async (a, ct) => await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns nothing. Inputs are passed in order to the body's 3 argument(s).</summary>
    public TaskHandle Task<T1, T2, T3>(string name, Func<T1, T2, T3, Task> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2, input3 }, options, async (a, ct) => { await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns a value. Inputs are passed in order to the body's 3 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle<TResult> Task<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, CancellationToken, Task<TResult>> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2, input3 }, options, async (a, ct) => await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, ct).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns nothing. Inputs are passed in order to the body's 3 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle Task<T1, T2, T3>(string name, Func<T1, T2, T3, CancellationToken, Task> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2, input3 }, options, async (a, ct) => { await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, ct).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares a task that returns a value. Inputs are passed in order to the body's 4 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, T2, T3, T4, TResult>(string name, Func<T1, T2, T3, T4, TResult> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, IFlowInput<T4> input4, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2, input3, input4 }, options, (a, ct) => System.Threading.Tasks.Task.FromResult<object?>(body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, (T4)a[3]!)), sourceFile, sourceLine);

    /// <summary>Declares a task that returns nothing. Inputs are passed in order to the body's 4 argument(s).</summary>
    public TaskHandle Task<T1, T2, T3, T4>(string name, Action<T1, T2, T3, T4> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, IFlowInput<T4> input4, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2, input3, input4 }, options, (a, ct) => { body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, (T4)a[3]!); return System.Threading.Tasks.Task.FromResult<object?>(null); }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns a value. Inputs are passed in order to the body's 4 argument(s).</summary>
    public TaskHandle<TResult> Task<T1, T2, T3, T4, TResult>(string name, Func<T1, T2, T3, T4, Task<TResult>> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, IFlowInput<T4> input4, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2, input3, input4 }, options, async (a, ct) => await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, (T4)a[3]!).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous task that returns nothing. Inputs are passed in order to the body's 4 argument(s).</summary>
    public TaskHandle Task<T1, T2, T3, T4>(string name, Func<T1, T2, T3, T4, Task> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, IFlowInput<T4> input4, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2, input3, input4 }, options, async (a, ct) => { await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, (T4)a[3]!).ConfigureAwait(false); return null; }, sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns a value. Inputs are passed in order to the body's 4 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle<TResult> Task<T1, T2, T3, T4, TResult>(string name, Func<T1, T2, T3, T4, CancellationToken, Task<TResult>> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, IFlowInput<T4> input4, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddTask<TResult>(name, body, new IFlowInput[] { input1, input2, input3, input4 }, options, async (a, ct) => await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, (T4)a[3]!, ct).ConfigureAwait(false), sourceFile, sourceLine);

    /// <summary>Declares an asynchronous, cancellable task that returns nothing. Inputs are passed in order to the body's 4 argument(s). The token is cancelled on timeout or when the run is stopped.</summary>
    public TaskHandle Task<T1, T2, T3, T4>(string name, Func<T1, T2, T3, T4, CancellationToken, Task> body, IFlowInput<T1> input1, IFlowInput<T2> input2, IFlowInput<T3> input3, IFlowInput<T4> input4, TaskOptions? options = null, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddAction(name, body, new IFlowInput[] { input1, input2, input3, input4 }, options, async (a, ct) => { await body((T1)a[0]!, (T2)a[1]!, (T3)a[2]!, (T4)a[3]!, ct).ConfigureAwait(false); return null; }, sourceFile, sourceLine);
}
