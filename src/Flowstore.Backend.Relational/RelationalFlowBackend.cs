using System.Data.Common;
using System.Text.Json;

namespace Flowstore.Backend.Relational;

/// <summary>
/// What the SQLite and PostgreSQL backends share: the statements of the store (written once, with the
/// <see cref="SqlDialect"/>'s words where the databases differ), the reading of rows into records, and the checks and
/// messages of what callers hand in. A backend brings its dialect, its connections (<see cref="WithSessionAsync"/>:
/// opening, retrying, mapping its driver's errors) and the steps only it takes (SQLite's write lock, PostgreSQL's
/// advisory locks and SKIP LOCKED claims).
/// </summary>
public abstract partial class RelationalFlowBackend
{
    internal const string FlowColumns = """
        f.id, f.name, p.name, f.version, f.version_group_id, f.structure_json, f.structure_hash,
        f.registration_key, f.storage_type, f.storage_json, f.labels_json, f.archived, f.registered,
        f.description, f.script_path, f.script_sha256, f.created_by, f.schedule_json
        """;

    /// <summary>How many columns <see cref="FlowColumns"/> has (what a query selects after them starts here).</summary>
    internal const int FlowColumnCount = 18;

    internal RelationalFlowBackend(SqlDialect dialect)
    {
        Dialect = dialect;
    }

    /// <summary>What the backend is, for messages (never a password).</summary>
    public abstract string Description { get; }

    internal SqlDialect Dialect { get; }

    /// <summary>Runs <paramref name="operation"/> on a connection of the backend's, its failures as Flowstore errors.</summary>
    internal abstract Task<T> WithSessionAsync<T>(Func<RelationalSession, Task<T>> operation, CancellationToken cancellationToken);

    private string FlowFrom => $"{Dialect.Schema}flows f JOIN {Dialect.Schema}projects p ON p.id = f.project_id";

    public Task<IReadOnlyList<FlowRecord>> GetFlowsAsync(FlowQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return WithSessionAsync<IReadOnlyList<FlowRecord>>(async session =>
        {
            await using var command = session.Command(null, "");
            var where = new SqlConditions(Dialect, command);
            where.Name("p.name", "project", query.Project);
            where.Name("f.name", "name", query.Name);
            where.Equal("f.id", "id", SqlType.Guid, query.Id);
            where.Equal("f.version", "version", SqlType.Int, query.Version);
            if (!query.IncludeArchived)
            {
                where.Add(Dialect.IsFalse("f.archived"));
            }
            command.CommandText = $"""
                SELECT {FlowColumns}
                FROM {FlowFrom}
                {where}
                ORDER BY {Dialect.NameOrder("p.name")}, {Dialect.NameOrder("f.name")}, f.version DESC;
                """;
            return await ReadAllAsync(command, ReadFlow, cancellationToken);
        }, cancellationToken);
    }

    internal FlowRecord ReadFlow(DbDataReader reader) => new()
    {
        Id = Dialect.ReadGuid(reader, 0),
        Name = reader.GetString(1),
        Project = reader.GetString(2),
        Version = reader.GetInt32(3),
        VersionGroupId = Dialect.ReadGuid(reader, 4),
        StructureJson = reader.GetString(5),
        StructureHash = reader.GetString(6),
        RegistrationKey = reader.GetString(7),
        StorageType = reader.GetString(8),
        StorageJson = reader.GetString(9),
        Labels = JsonSerializer.Deserialize<string[]>(reader.GetString(10)) ?? Array.Empty<string>(),
        Archived = Dialect.ReadFlag(reader, 11),
        Registered = Dialect.ReadTime(reader, 12),
        Description = Dialect.ReadOptionalText(reader, 13),
        ScriptPath = Dialect.ReadOptionalText(reader, 14),
        ScriptSha256 = Dialect.ReadOptionalText(reader, 15),
        CreatedBy = Dialect.ReadOptionalText(reader, 16),
        ScheduleJson = Dialect.ReadOptionalText(reader, 17),
    };

    /// <summary>A project, flow, secret or key name as stored: trimmed; <see cref="ErrorIds.InvalidName"/> naming what is wrong.</summary>
    internal static string ValidateName(string? name, string what)
    {
        if (FlowNames.VisibleNameProblem(name) is { } problem)
        {
            throw new FlowstoreException(ErrorIds.InvalidName, FlowErrorKind.InvalidArgument,
                $"The {what} name '{FlowNames.Printable(name)}' {problem}.") { Target = name };
        }
        return name!.Trim();
    }

    internal FlowstoreException ProjectExists(string existingName)
        => new(ErrorIds.ProjectExists, FlowErrorKind.ResourceExists,
            $"A project named '{existingName}' already exists ({Description}); project names ignore case.")
        { Target = existingName };

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>Every row of the command's result, read by <paramref name="read"/>.</summary>
    internal static async Task<List<T>> ReadAllAsync<T>(DbCommand command, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }
        return rows;
    }

    /// <summary>How times are written in messages, and kept in SQLite's text columns (so comparing the text compares the times).</summary>
    internal const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    /// <summary>A time as <see cref="TimestampFormat"/> writes it, UTC.</summary>
    internal static string TimestampText(DateTimeOffset value)
        => value.UtcDateTime.ToString(TimestampFormat, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>UTC now at microsecond precision: what both databases keep exactly.</summary>
    internal static DateTimeOffset Now() => Truncate(DateTimeOffset.UtcNow);

    /// <summary>A time at the databases' precision (microseconds, cut rather than rounded), UTC.</summary>
    internal static DateTimeOffset Truncate(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - ticks % 10, TimeSpan.Zero);
    }

    public override string ToString() => Description;
}
