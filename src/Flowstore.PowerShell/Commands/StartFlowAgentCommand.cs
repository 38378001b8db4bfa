namespace Flowstore.Commands;

/// <summary>
/// Start-FlowAgent: processes queued runs until stopped (Ctrl+C); with -Once, drains the queue and returns.
/// Several agents may share one backend: each run is claimed by exactly one of them.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "FlowAgent")]
[OutputType(typeof(FlowRunRecord))]
public sealed class StartFlowAgentCommand : FlowCmdlet
{
    /// <summary>The agent's name in run records (default: host:process id).</summary>
    [Parameter]
    public string? Name { get; set; }

    /// <summary>
    /// The agent's labels: it claims only runs of flows whose labels are all among these and its host name
    /// (FLOWSTORE_HOST_NAME, else the machine's name).
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public string[]? Label { get; set; }

    /// <summary>Run what is queued, then return.</summary>
    [Parameter]
    public SwitchParameter Once { get; set; }

    /// <summary>Output each run when it ends.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>
    /// Where runs execute: Process (default), each in a worker process, so a flow that crashes or exits ends its run only;
    /// InProcess, in this PowerShell process (lowest latency, no protection).
    /// </summary>
    // A string, not RunIsolation: a value-type field of an engine type would make PowerShell load the engine while it
    // reflects over the module's types, before the module's assembly resolver is installed.
    [Parameter]
    [ValidateSet("Process", "InProcess", IgnoreCase = true)]
    public string Isolation { get; set; } = "Process";

    /// <summary>How many runs may execute at once (default 1).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int Limit { get; set; } = 1;

    private bool InProcess => string.Equals(Isolation, "InProcess", StringComparison.OrdinalIgnoreCase);

    protected override void ProcessRecord()
    {
        var agent = string.IsNullOrWhiteSpace(Name) ? FlowClient.LocalAgent : $"{Name}@{FlowClient.LocalAgent}";
        var labels = FlowHost.AgentLabels(Label);
        WriteVerbose($"Agent '{agent}' with labels {string.Join(", ", labels)} polling {Client.Backend.Description}; " +
            $"runs execute {(InProcess ? "in this process" : "each in a worker process")}, at most {Limit} at once.");
        var progress = new RunProgress(this, $"Agent '{agent}'");
        IReadOnlyList<FlowRunRecord> runs;
        try
        {
            runs = Await(ct => Client.RunAgentAsync(agent, Once.IsPresent,
                started: r => PostVerbose($"Claimed run {r.Id} of flow '{r.FlowName}' version {r.FlowVersion}."),
                ended: r =>
                {
                    PostVerbose($"Run {r.Id} of flow '{r.FlowName}' ended {r.State}.");
                    PostAction(() =>
                    {
                        RunProgress.ReportEnd(this, r);
                        if (PassThru.IsPresent)
                        {
                            WriteObject(r);
                        }
                    });
                },
                observer: progress, cancellationToken: ct, labels: labels,
                // A server or database that goes away: the agent keeps trying and says so.
                warning: PostWarning, isolation: InProcess ? RunIsolation.InProcess : RunIsolation.Process, limit: Limit));
        }
        catch (FlowstoreException e)
        {
            Terminate(e, agent);
            return;
        }
        WriteVerbose($"Agent '{agent}' executed {runs.Count} run(s).");
    }
}
