using System.Text;
using System.Text.Json;

namespace Flowstore;

/// <summary>
/// The idempotency key of a registration: structure + storage locator (never a secret) + labels + project
/// + flow name. It never includes the client's version or task bodies, so re-registering an unchanged flow
/// from any machine is recognised as unchanged.
/// </summary>
public static class RegistrationKey
{
    public static string Compute(string project, string flowName, string structureHash, string storageLocator, IEnumerable<string> labels,
        string? scheduleJson = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("project", project);
            w.WriteString("flow", flowName);
            w.WriteString("structure", structureHash);
            w.WriteString("storage", storageLocator);
            w.WriteStartArray("labels");
            foreach (var label in labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                w.WriteStringValue(label);
            }
            w.WriteEndArray();
            // Only a flow with a schedule has it in its key: keys of flows recorded before schedules existed stay the same.
            if (scheduleJson is not null)
            {
                w.WriteString("schedule", scheduleJson);
            }
            w.WriteEndObject();
        }
        return FlowStructure.Sha256Hex(buffer.ToArray());
    }
}
