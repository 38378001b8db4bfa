using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Flowstore.Server;

/// <summary>/health: healthy when the backend answers a query (the database is reachable and readable).</summary>
internal sealed class BackendHealthCheck(IFlowBackend backend) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await backend.GetProjectsAsync("flowstore-health-check", cancellationToken);
            return HealthCheckResult.Healthy(backend.Description);
        }
        catch (FlowstoreException e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{backend.Description}: {e.ErrorId}: {e.Message}");
        }
    }
}
