using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Flowstore.Bench.Agents;

/// <summary>
/// An agent as a process of its own (this harness started in agent mode, <see cref="AgentHost"/>): its own runtime,
/// home and HTTP client, talking to the server as an agent on another machine would. Driven over stdin, answering
/// one JSON line per command.
/// </summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _errors = new();

    private AgentProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts the agent and waits until it says it is ready.</summary>
    public static async Task<AgentProcess> StartAsync(Uri server, string name, string home, IReadOnlyList<string> labels, string isolation,
        IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet")
        {
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }
        foreach (var arg in new[] { "agent", server.ToString(), name, home, string.Join(',', labels), isolation })
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var variable in new[] { "FLOWSTORE_SERVER_URL", "FLOWSTORE_API_KEY", "FLOWSTORE_HOME" })
        {
            start.Environment.Remove(variable);
        }
        foreach (var (variable, value) in environment)
        {
            start.Environment[variable] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("The agent process did not start.");
        var agent = new AgentProcess(process, name);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (agent._errors)
                {
                    agent._errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        await agent.ReadAnswerAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        return agent;
    }

    /// <summary>Sends a command; the answer is read with <see cref="ReadAnswerAsync"/>.</summary>
    public async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>The next answer line (JSON); throws with what the agent wrote on stderr when it ended or took too long.</summary>
    public async Task<JsonElement> ReadAnswerAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            while (await _process.StandardOutput.ReadLineAsync(limit.Token).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith(AgentHost.Marker, StringComparison.Ordinal))
                {
                    return JsonDocument.Parse(line[AgentHost.Marker.Length..]).RootElement.Clone();
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"Agent {Name} (pid {_process.Id}) did not answer within {timeout.TotalSeconds:0} s. {Errors()}");
        }
        throw new InvalidOperationException($"Agent {Name} (pid {_process.Id}) ended without answering. {Errors()}");
    }

    private string Errors()
    {
        lock (_errors)
        {
            return _errors.Length == 0 ? "" : "It wrote: " + _errors;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
