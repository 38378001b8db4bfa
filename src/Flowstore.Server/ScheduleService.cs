using Flowstore.Engine;

namespace Flowstore.Server;

/// <summary>
/// The server's scheduler: creates the runs of flow schedules as they fall due (<see cref="FlowScheduler"/>, a pass
/// every FLOWSTORE_SCHEDULER_INTERVAL seconds). Several server processes on one PostgreSQL database each run it; a
/// pass takes the database's scheduler lock and each occurrence is recorded once, so no run is created twice.
/// Off with Flowstore:Scheduler = Off (e.g. for a server that only answers the API).
/// </summary>
internal sealed partial class ScheduleService(IFlowBackend backend, FlowServerSettings settings, ILogger<ScheduleService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!settings.RunsScheduler || FlowScheduler.RunnerOf(backend) is not { } runner)
        {
            return Task.CompletedTask;
        }
        var scheduler = new FlowScheduler(runner, warning: message => LogWarning(logger, message))
        {
            Created = run => LogCreated(logger, run.RunId, run.FlowName, run.Project, run.FlowVersion, run.Occurrence),
        };
        return Task.Run(() => scheduler.RunAsync(stoppingToken), CancellationToken.None);
    }

    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "Scheduled run {RunId} of flow '{Flow}' (project '{Project}', version {Version}) for {Occurrence:u}")]
    private static partial void LogCreated(ILogger logger, Guid runId, string flow, string project, int version, DateTimeOffset occurrence);

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogWarning(ILogger logger, string message);
}
