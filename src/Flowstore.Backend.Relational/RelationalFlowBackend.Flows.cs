using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace Flowstore.Backend.Relational;

// Projects and flow versions: creation, registration (numbered without gaps), the unchanged-input check, archiving.
public abstract partial class RelationalFlowBackend
{
    public Task<ProjectInfo> CreateProjectAsync(string name, string? description, CancellationToken cancellationToken)
    {
        var projectName = ValidateName(name, "project");
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            var existing = await FindProjectAsync(session, transaction, projectName, cancellationToken);
            if (existing is not null)
            {
                throw ProjectExists(existing.Value.Name);
            }

            var project = new ProjectInfo(Guid.NewGuid(), projectName, description, Now(), FlowCount: 0);
            await using var insert = session.Command(transaction, $"""
                INSERT INTO {Dialect.Schema}projects (id, name, description, created) VALUES (@id, @name, @description, @created);
                """);
            Dialect.AddGuid(insert, "id", project.Id);
            Dialect.AddText(insert, "name", project.Name);
            Dialect.AddText(insert, "description", project.Description);
            Dialect.AddTime(insert, "created", project.Created);
            try
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (DbException e) when (Dialect.UniqueViolation(e) is not null)
            {
                throw ProjectExists(projectName);
            }
            await CommitAnsweredAsync(session, transaction, project, cancellationToken);
            return project;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ProjectInfo>> GetProjectsAsync(string? name, CancellationToken cancellationToken)
    {
        var s = Dialect.Schema;
        return WithSessionAsync<IReadOnlyList<ProjectInfo>>(async session =>
        {
            await using var command = session.Command(null, $"""
                SELECT p.id, p.name, p.description, p.created,
                       (SELECT COUNT(DISTINCT {Dialect.NameKey("f.name")}) FROM {s}flows f
                        WHERE f.project_id = p.id AND {Dialect.IsFalse("f.archived")})
                FROM {s}projects p
                {(name is null ? "" : $"WHERE {Dialect.NameEquals("p.name", "@name")}")}
                ORDER BY {Dialect.NameOrder("p.name")}, {Dialect.Exact("p.name")};
                """);
            if (name is not null)
            {
                Dialect.AddText(command, "name", name.Trim());
            }
            return await ReadAllAsync(command, reader => new ProjectInfo(
                Dialect.ReadGuid(reader, 0),
                reader.GetString(1),
                Dialect.ReadOptionalText(reader, 2),
                Dialect.ReadTime(reader, 3),
                (int)reader.GetInt64(4)), cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Makes registrations of one flow take turns until <paramref name="transaction"/> ends, so two never read the same
    /// latest version (SQLite's write transaction already does; PostgreSQL takes an advisory lock per flow).
    /// </summary>
    internal virtual Task LockFlowAsync(RelationalSession session, DbTransaction transaction, Guid projectId, string flowName,
        CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<RegistrationOutcome> RegisterFlowAsync(FlowRegistrationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var projectName = ValidateName(request.Project, "project");
        var flowName = ValidateName(request.Name, "flow");
        foreach (var label in request.Labels ?? Array.Empty<string>())
        {
            if (FlowNames.LabelProblem(label) is { } problem)
            {
                throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                    $"The label '{FlowNames.Printable(label)}' of flow '{flowName}' {problem}.") { Target = flowName };
            }
        }
        if (string.IsNullOrEmpty(request.RegistrationKey))
        {
            throw new ArgumentException("The registration key is empty.", nameof(request));
        }
        var s = Dialect.Schema;

        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            var project = await FindProjectAsync(session, transaction, projectName, cancellationToken)
                ?? throw new FlowstoreException(ErrorIds.ProjectNotFound, FlowErrorKind.ObjectNotFound,
                    $"Project '{projectName}' does not exist ({Description}); create it first, or let registration create it.")
                { Target = projectName, Hint = FlowHint.CreateProject(projectName) };
            await LockFlowAsync(session, transaction, project.Id, flowName, cancellationToken);

            FlowRecord? latest;
            await using (var select = session.Command(transaction, $"""
                SELECT {FlowColumns}
                FROM {FlowFrom}
                WHERE f.project_id = @project AND {Dialect.NameEquals("f.name", "@name")}
                ORDER BY f.version DESC
                LIMIT 1;
                """))
            {
                Dialect.AddGuid(select, "project", project.Id);
                Dialect.AddText(select, "name", flowName);
                latest = (await ReadAllAsync(select, ReadFlow, cancellationToken)).FirstOrDefault();
            }

            if (latest is { Archived: false } && !request.Force
                && string.Equals(latest.RegistrationKey, request.RegistrationKey, StringComparison.Ordinal))
            {
                // Nothing written, but the answer is kept: a retry says Skipped even after another registration.
                var skipped = new RegistrationOutcome(latest, RegistrationStatus.Skipped, null);
                await CommitAnsweredAsync(session, transaction, skipped, cancellationToken);
                return skipped;
            }

            var versionGroupId = latest?.VersionGroupId ?? Guid.NewGuid();
            int version;
            await using (var max = session.Command(transaction,
                $"SELECT COALESCE(MAX(version), 0) FROM {s}flows WHERE version_group_id = @group;"))
            {
                Dialect.AddGuid(max, "group", versionGroupId);
                version = Convert.ToInt32(await max.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) + 1;
            }

            await ArchiveAsync(session, transaction, versionGroupId, cancellationToken);

            var flow = FlowRecord.From(request, flowName, project.Name, Guid.NewGuid(), version, versionGroupId, Now());
            await using (var insert = session.Command(transaction, $"""
                INSERT INTO {s}flows (id, project_id, name, version, version_group_id, structure_json, structure_hash,
                                   registration_key, storage_type, storage_json, labels_json, archived, registered,
                                   description, script_path, script_sha256, created_by, registration_input, registration_input_flows,
                                   schedule_json)
                VALUES (@id, @project, @name, @version, @group, @structure_json, @structure_hash,
                        @registration_key, @storage_type, @storage_json, @labels_json, {Dialect.False}, @registered,
                        @description, @script_path, @script_sha256, @created_by, @registration_input, @registration_input_flows,
                        @schedule_json);
                """))
            {
                Dialect.AddGuid(insert, "id", flow.Id);
                Dialect.AddGuid(insert, "project", project.Id);
                Dialect.AddText(insert, "name", flow.Name);
                Dialect.AddInt(insert, "version", flow.Version);
                Dialect.AddGuid(insert, "group", flow.VersionGroupId);
                Dialect.AddText(insert, "structure_json", flow.StructureJson);
                Dialect.AddText(insert, "structure_hash", flow.StructureHash);
                Dialect.AddText(insert, "registration_key", flow.RegistrationKey);
                Dialect.AddText(insert, "storage_type", flow.StorageType);
                Dialect.AddText(insert, "storage_json", flow.StorageJson);
                Dialect.AddText(insert, "labels_json", JsonSerializer.Serialize(flow.Labels.ToArray()));
                Dialect.AddTime(insert, "registered", flow.Registered);
                Dialect.AddText(insert, "description", flow.Description);
                Dialect.AddText(insert, "script_path", flow.ScriptPath);
                Dialect.AddText(insert, "script_sha256", flow.ScriptSha256);
                Dialect.AddText(insert, "created_by", flow.CreatedBy);
                Dialect.AddText(insert, "registration_input", request.RegistrationInput);
                Dialect.AddInt(insert, "registration_input_flows", request.RegistrationInputFlows);
                Dialect.AddText(insert, "schedule_json", flow.ScheduleJson);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await RecordScheduleAsync(session, transaction, flow, latest, request.SchedulePaused, cancellationToken);

            var registered = new RegistrationOutcome(flow, RegistrationStatus.Registered, latest is null ? null : latest with { Archived = true });
            await CommitAnsweredAsync(session, transaction, registered, cancellationToken);
            return registered;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<UnchangedRegistration>> FindUnchangedRegistrationsAsync(string project, IReadOnlyList<string> registrationInputs,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(registrationInputs);
        var s = Dialect.Schema;
        return WithSessionAsync<IReadOnlyList<UnchangedRegistration>>(async session =>
        {
            var found = new List<UnchangedRegistration>();
            foreach (var input in registrationInputs.Distinct(StringComparer.Ordinal))
            {
                // The latest version of every flow of the project once registered from the input.
                await using var command = session.Command(null, $"""
                    SELECT {FlowColumns}, f.registration_input, f.registration_input_flows
                    FROM {FlowFrom}
                    WHERE {Dialect.NameEquals("p.name", "@project")}
                      AND {Dialect.NameKey("f.name")} IN (SELECT {Dialect.NameKey("g.name")} FROM {s}flows g
                                                        WHERE g.project_id = f.project_id AND g.registration_input = @input)
                      AND f.version = (SELECT MAX(h.version) FROM {s}flows h
                                       WHERE h.project_id = f.project_id AND {Dialect.NameKey("h.name")} = {Dialect.NameKey("f.name")})
                    ORDER BY {Dialect.NameOrder("f.name")};
                    """);
                Dialect.AddText(command, "project", project.Trim());
                Dialect.AddText(command, "input", input);
                var rows = await ReadAllAsync(command, reader => (ReadFlow(reader), Dialect.ReadOptionalText(reader, FlowColumnCount),
                    reader.IsDBNull(FlowColumnCount + 1) ? (int?)null : reader.GetInt32(FlowColumnCount + 1)), cancellationToken);
                if (UnchangedRegistrations.Check(input, rows) is { } unchanged)
                {
                    found.Add(unchanged);
                }
            }
            return found;
        }, cancellationToken);
    }

    public Task<int> ArchiveFlowAsync(Guid versionGroupId, CancellationToken cancellationToken)
        => WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            var changed = await ArchiveAsync(session, transaction, versionGroupId, cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return changed;
        }, cancellationToken);

    private async Task<int> ArchiveAsync(RelationalSession session, DbTransaction transaction, Guid versionGroupId,
        CancellationToken cancellationToken)
    {
        await using var archive = session.Command(transaction,
            $"UPDATE {Dialect.Schema}flows SET archived = {Dialect.True} WHERE version_group_id = @group AND {Dialect.IsFalse("archived")};");
        Dialect.AddGuid(archive, "group", versionGroupId);
        return await archive.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<(Guid Id, string Name)?> FindProjectAsync(RelationalSession session, DbTransaction transaction, string name,
        CancellationToken cancellationToken)
    {
        await using var command = session.Command(transaction,
            $"SELECT id, name FROM {Dialect.Schema}projects WHERE {Dialect.NameEquals("name", "@name")};");
        Dialect.AddText(command, "name", name);
        var rows = await ReadAllAsync(command, reader => (Dialect.ReadGuid(reader, 0), reader.GetString(1)), cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }
}
