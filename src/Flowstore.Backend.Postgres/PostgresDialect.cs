using System.Data.Common;
using Flowstore.Backend.Relational;
using Npgsql;
using NpgsqlTypes;

namespace Flowstore.Backend.Postgres;

/// <summary>
/// PostgreSQL's words: tables in the schema <c>flowstore</c>, names compared by their ASCII lower case (collation
/// "C", whatever the database's), booleans, uuid and timestamptz columns, text without U+0000.
/// </summary>
internal sealed class PostgresDialect : SqlDialect
{
    public static readonly PostgresDialect Instance = new();

    public override string Schema => "flowstore.";

    public override string True => "true";

    public override string False => "false";

    public override string IsFalse(string column) => $"NOT {column}";

    public override string NameKey(string column) => $"lower({column} COLLATE \"C\")";

    public override string NameOrder(string column) => NameKey(column);

    public override string Exact(string column) => $"{column} COLLATE \"C\"";

    public override string InsertionOrder => "seq";

    public override string InGuids(string column, string parameter) => $"{column} = ANY(@{parameter})";

    public override string RowLock(string clause) => clause;

    public override string JsonArrayWithin(string column, string parameter) => $"@{parameter}::jsonb @> {column}::jsonb";

    public override async Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken)
        => await connection.BeginTransactionAsync(cancellationToken);

    public override DbParameter AddParameter(DbCommand command, string name, SqlType type)
    {
        var parameter = new NpgsqlParameter(name, type switch
        {
            SqlType.Guid => NpgsqlDbType.Uuid,
            SqlType.Int => NpgsqlDbType.Integer,
            SqlType.Time => NpgsqlDbType.TimestampTz,
            SqlType.Blob => NpgsqlDbType.Bytea,
            _ => NpgsqlDbType.Text,
        });
        command.Parameters.Add(parameter);
        return parameter;
    }

    public override object ToDb(SqlType type, object? value) => value switch
    {
        null => DBNull.Value,
        string text => Storable(text)!,
        DateTimeOffset time => DateTime.SpecifyKind(RelationalFlowBackend.Truncate(time).UtcDateTime, DateTimeKind.Utc),
        _ => value,
    };

    public override void AddGuids(DbCommand command, string name, IEnumerable<Guid> ids)
        => command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids.ToArray() });

    public override string? UniqueViolation(DbException exception)
        => exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } e ? e.ConstraintName ?? "" : null;

    public override Guid ReadGuid(DbDataReader reader, int ordinal) => reader.GetGuid(ordinal);

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal)
        => new(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc));

    public override bool ReadFlag(DbDataReader reader, int ordinal) => reader.GetBoolean(ordinal);

    /// <summary>
    /// PostgreSQL text cannot hold U+0000 (SQLite's can): a NUL in a log line, error or description is kept as U+FFFD
    /// rather than failing the write. Names never contain one (they are validated).
    /// </summary>
    public static string? Storable(string? value)
        => value is null || !value.Contains('\0', StringComparison.Ordinal) ? value : value.Replace('\0', '\uFFFD');
}
