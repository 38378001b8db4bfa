using System.Runtime.CompilerServices;

namespace Flowstore;

/// <summary>
/// A flow: named tasks, the data passed between them, and parameters. Creating a flow in a script only
/// <em>builds</em> it; tasks run when the flow is run (Start-FlowRun, Invoke-Flow).
/// </summary>
/// <example>
/// <code>
/// var flow = new Flow("example");
/// var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
/// flow.Task("print_data", (int[] values) => Console.WriteLine(string.Join(", ", values)), data);
/// </code>
/// </example>
public sealed partial class Flow
{
    private readonly List<FlowTask> _tasks = new();
    private readonly List<FlowParameter> _parameters = new();
    private readonly Dictionary<string, FlowTask> _tasksBySlug = new(StringComparer.Ordinal);
    private readonly List<string> _labels = new();

    /// <summary>Creates a flow. Inside a flow script the flow is collected for registration.</summary>
    public Flow(string name, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
    {
        SourceFile = sourceFile;
        SourceLine = sourceLine;
        Name = ValidateName(name, "flow", null, sourceFile, sourceLine);
        Slug = Slugify(name);
        FlowBuildContext.Current?.Add(this);
    }

    /// <summary>The flow's name; with the project it identifies the flow in a backend.</summary>
    public string Name { get; }

    /// <summary>A stable, URL- and file-safe form of the name.</summary>
    public string Slug { get; }

    /// <summary>Where the script stores this flow's source. Null means: the local file it was loaded from.</summary>
    public StorageSettings? Storage { get; set; }

    /// <summary>Labels recorded with a registration (agents may select runs by label).</summary>
    public IList<string> Labels => _labels;

    /// <summary>
    /// When the flow runs by itself (<see cref="Flowstore.Schedule.Cron"/>, <see cref="Flowstore.Schedule.Every"/>); null: only when started.
    /// Recorded at registration: a changed schedule is a new version.
    /// </summary>
    public Schedule? Schedule { get; set; }

    /// <summary>Optional description, shown by Get-Flow.</summary>
    public string? Description { get; set; }

    internal string SourceFile { get; }
    internal int SourceLine { get; }
    internal IReadOnlyList<FlowTask> Tasks => _tasks;
    internal IReadOnlyList<FlowParameter> Parameters => _parameters;

    /// <summary>Declares a parameter with a default value; the handle is usable as a task input.</summary>
    public Parameter<T> Parameter<T>(string name, T defaultValue, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddParameter<T>(name, defaultValue, required: false, sourceFile, sourceLine);

    /// <summary>Declares a required parameter (a run must give a value).</summary>
    public Parameter<T> Parameter<T>(string name, [CallerFilePath] string sourceFile = "", [CallerLineNumber] int sourceLine = 0)
        => AddParameter<T>(name, default, required: true, sourceFile, sourceLine);

    private Parameter<T> AddParameter<T>(string name, T? defaultValue, bool required, string file, int line)
    {
        name = ValidateName(name, "parameter", this, file, line);
        if (_parameters.Any(p => p.Name == name))
        {
            throw new FlowstoreException(ErrorIds.DuplicateParameterName, FlowErrorKind.InvalidData,
                $"Flow '{Name}' declares parameter '{name}' twice ({Where(file, line)}).") { Target = Name };
        }
        var parameter = new FlowParameter(this, name, typeof(T), defaultValue, required);
        _parameters.Add(parameter);
        return new Parameter<T>(parameter);
    }

    internal TaskHandle<TResult> AddTask<TResult>(string name, Delegate body, IFlowInput[] inputs, TaskOptions? options,
        Func<object?[], CancellationToken, Task<object?>> invoke, string file, int line)
    {
        var task = AddTaskCore(name, body, inputs, options, invoke, typeof(TResult), file, line);
        return new TaskHandle<TResult>(task);
    }

    internal TaskHandle AddAction(string name, Delegate body, IFlowInput[] inputs, TaskOptions? options,
        Func<object?[], CancellationToken, Task<object?>> invoke, string file, int line)
    {
        var task = AddTaskCore(name, body, inputs, options, invoke, null, file, line);
        return new TaskHandle(task);
    }

    private FlowTask AddTaskCore(string name, Delegate body, IFlowInput[] inputs, TaskOptions? options,
        Func<object?[], CancellationToken, Task<object?>> invoke, Type? resultType, string file, int line)
    {
        name = ValidateName(name, "task", this, file, line);
        var slug = Slugify(name);
        if (_tasksBySlug.TryGetValue(slug, out var existing))
        {
            throw new FlowstoreException(ErrorIds.DuplicateTaskName, FlowErrorKind.InvalidData, existing.Name == name
                ? $"Flow '{Name}' has two tasks named '{name}' ({Where(file, line)}); task names must be unique within a flow."
                : $"Flow '{Name}' has tasks '{existing.Name}' and '{name}' ({Where(file, line)}): the names differ, but both make the slug '{slug}', " +
                  "which identifies a task in runs and logs; rename one of them.") { Target = Name };
        }
        options ??= TaskOptions.Default;
        options.Validate(Name, name);

        var keys = InputKeys(body, inputs.Length);
        var bindings = new TaskInput[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = inputs[i] ?? throw new FlowstoreException(ErrorIds.ForeignHandle, FlowErrorKind.InvalidArgument,
                $"Task '{name}' in flow '{Name}' has a null input #{i + 1} ({Where(file, line)}).") { Target = Name };
            if (!ReferenceEquals(input.Flow, this))
            {
                throw new FlowstoreException(ErrorIds.ForeignHandle, FlowErrorKind.InvalidArgument,
                    $"Task '{name}' in flow '{Name}' takes input '{input.SourceName}' from flow '{input.Flow.Name}' ({Where(file, line)}); " +
                    "a task can only use tasks and parameters of its own flow.") { Target = Name };
            }
            bindings[i] = new TaskInput(keys[i], input);
        }

        var task = new FlowTask(this, name, slug, bindings, options, invoke, resultType, file, line);
        foreach (var upstream in options.After)
        {
            task.AddOrderingDependency(upstream);
        }
        _tasks.Add(task);
        _tasksBySlug.Add(slug, task);
        return task;
    }

    internal FlowTask? FindTask(string slug) => _tasksBySlug.GetValueOrDefault(slug);

    private static string[] InputKeys(Delegate body, int count)
    {
        var parameters = body.Method.GetParameters()
            .Where(p => p.ParameterType != typeof(CancellationToken))
            .ToArray();
        // Closures over no state are compiled to instance methods of a closure class: parameters line up either way.
        var keys = new string[count];
        for (var i = 0; i < count; i++)
        {
            var name = i < parameters.Length ? parameters[i].Name : null;
            keys[i] = string.IsNullOrEmpty(name) ? $"arg{i + 1}" : name!;
        }
        return keys;
    }

    /// <summary>Checks the whole flow (no cycles); called by the loader once the script has run.</summary>
    internal void Validate()
    {
        foreach (var label in _labels)
        {
            if (FlowNames.LabelProblem(label) is { } problem)
            {
                throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                    $"Flow '{Name}' has the label '{FlowNames.Printable(label)}', which {problem} ({Where(SourceFile, SourceLine)}).") { Target = Name };
            }
        }
        _ = TopologicalOrder();
    }

    /// <summary>Tasks in an order where every task comes after its upstream tasks.</summary>
    internal IReadOnlyList<FlowTask> TopologicalOrder()
    {
        var state = new Dictionary<FlowTask, int>();
        var order = new List<FlowTask>(_tasks.Count);
        var path = new Stack<FlowTask>();

        void Visit(FlowTask task)
        {
            if (state.TryGetValue(task, out var s))
            {
                if (s == 2)
                {
                    return;
                }
                var cycle = path.Reverse().SkipWhile(t => t != task).Select(t => t.Name).Append(task.Name);
                throw new FlowstoreException(ErrorIds.FlowCycle, FlowErrorKind.InvalidData,
                    $"Flow '{Name}' has a cycle: {string.Join(" -> ", cycle)}.") { Target = Name };
            }
            state[task] = 1;
            path.Push(task);
            foreach (var upstream in task.Upstream)
            {
                Visit(upstream);
            }
            path.Pop();
            state[task] = 2;
            order.Add(task);
        }

        foreach (var task in _tasks)
        {
            Visit(task);
        }
        return order;
    }

    internal static string Where(string file, int line)
        => string.IsNullOrEmpty(file) ? $"line {line}" : $"{file}:{line}";

    private static string ValidateName(string name, string what, Flow? flow, string file, int line)
    {
        if (FlowNames.Problem(name) is { } problem)
        {
            var owner = flow is null ? "" : $" in flow '{flow.Name}'";
            throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                $"A {what}{owner} has the name '{FlowNames.Printable(name)}', which {problem} ({Where(file, line)}).") { Target = flow?.Name };
        }
        return name.Trim();
    }

    /// <summary>
    /// Lower-case letters and digits of any script, other characters made single dashes: 'Get Data' → 'get-data',
    /// 'Задача 1' → 'задача-1' (see <see cref="FlowNames"/>).
    /// </summary>
    public static string Slugify(string name) => FlowNames.Slugify(name);

    public override string ToString() => $"Flow '{Name}' ({_tasks.Count} task{(_tasks.Count == 1 ? "" : "s")})";
}
