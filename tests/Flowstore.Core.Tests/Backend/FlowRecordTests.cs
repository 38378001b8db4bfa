namespace Flowstore.Core.Tests.Backend;

public class FlowRecordTests
{
    [Fact]
    public void A_recorded_version_keeps_every_content_setting_of_its_request_under_its_number()
    {
        var request = new FlowRegistrationRequest
        {
            Name = "  etl ",
            Project = "data",
            StructureJson = """{"tasks":[]}""",
            StructureHash = "structure-hash",
            RegistrationKey = "registration-key",
            StorageType = "Local",
            StorageJson = """{"Type":"Local"}""",
            Labels = ["nightly", "team-a"],
            Description = "loads the warehouse",
            ScriptPath = "/flows/etl.ps1",
            ScriptSha256 = "script-sha",
            CreatedBy = "ci-key",
            RegistrationInput = "input",
            RegistrationInputFlows = 2,
            Force = true,
        };
        var id = Guid.NewGuid();
        var group = Guid.NewGuid();
        var registered = new DateTimeOffset(2026, 12, 3, 16, 0, 0, TimeSpan.Zero);

        var flow = FlowRecord.From(request, "etl", "Data", id, 7, group, registered);

        Assert.Equal((id, "etl", "Data", 7, group, registered, false),
            (flow.Id, flow.Name, flow.Project, flow.Version, flow.VersionGroupId, flow.Registered, flow.Archived));
        // Every other property of the shared content is the request's: a property added to FlowVersionContent later
        // is carried without a change here.
        foreach (var property in typeof(FlowVersionContent).GetProperties())
        {
            if (property.Name is nameof(FlowVersionContent.Name) or nameof(FlowVersionContent.Project))
            {
                continue;
            }
            var expected = property.GetValue(request);
            var actual = property.GetValue(flow);
            Assert.True(expected is IEnumerable<string> list ? list.SequenceEqual((IEnumerable<string>)actual!) : Equals(expected, actual),
                $"{property.Name}: expected '{expected}', got '{actual}'");
        }
        Assert.NotSame(request.Labels, flow.Labels);
    }

    [Fact]
    public void A_request_without_labels_records_none()
    {
        var request = new FlowRegistrationRequest
        {
            Name = "etl", Project = "data", StructureJson = "{}", StructureHash = "h", RegistrationKey = "k",
            StorageType = "Local", StorageJson = "{}", Labels = null!,
        };

        var flow = FlowRecord.From(request, "etl", "data", Guid.NewGuid(), 1, Guid.NewGuid(), DateTimeOffset.UnixEpoch);

        Assert.Empty(flow.Labels);
    }
}
