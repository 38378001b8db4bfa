namespace Flowstore.Commands;

/// <summary>
/// Stop-FlowServer: stops the Flowstore server started for a home by Start-FlowServer (it shuts down cleanly; killed when
/// it does not within the grace period).
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "FlowServer", SupportsShouldProcess = true)]
[OutputType(typeof(FlowServerProcess))]
public sealed class StopFlowServerCommand : FlowCmdlet
{
    /// <summary>The server's home; default: this session's Flowstore home. Accepts the output of Start-FlowServer.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? Home { get; set; }

    /// <summary>Output the stopped server.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var home = Home is null ? FlowstoreHome.Path : GetUnresolvedProviderPathFromPSPath(Home);
        var running = FlowServerLauncher.Running(home);
        if (running is null)
        {
            WriteError(ToErrorRecord(new FlowstoreException(ErrorIds.ServerNotRunning, FlowErrorKind.ObjectNotFound,
                $"No Flowstore server is running for the home '{home}'.") { Target = home }, home));
            return;
        }
        if (!ShouldProcess($"{running.Url} (process {running.ProcessId})", "Stop the Flowstore server"))
        {
            return;
        }
        var stopped = RunOrTerminate(ct => FlowServerLauncher.StopAsync(home, TimeSpan.FromSeconds(10), ct), home);
        if (PassThru && stopped is not null)
        {
            WriteObject(stopped);
        }
    }
}
