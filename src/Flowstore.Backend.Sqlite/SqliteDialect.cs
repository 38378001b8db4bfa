using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Flowstore.Backend.Relational;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

/// <summary>
/// SQLite's words: tables in the main schema, names in COLLATE NOCASE columns, flags as 0/1, GUIDs and times as
/// fixed-width text (so comparing the text compares the times), write transactions as BEGIN IMMEDIATE.
/// </summary>
internal sealed class SqliteDialect : SqlDialect
{
    public static readonly SqliteDialect Instance = new();

    public override string Schema => "";

    public override string True => "1";

    public override string False => "0";

    public override string IsFalse(string column) => $"{column} = 0";

    public override string NameKey(string column) => column;

    public override string NameOrder(string column) => $"{column} COLLATE NOCASE";

    public override string Exact(string column) => column;

    public override string InsertionOrder => "rowid";

    public override string InGuids(string column, string parameter) => $"{column} IN (SELECT value FROM json_each(@{parameter}))";

    public override string RowLock(string clause) => "";

    public override string JsonArrayWithin(string column, string parameter)
        => $"NOT EXISTS (SELECT 1 FROM json_each({column}) e WHERE e.value NOT IN (SELECT value FROM json_each(@{parameter})))";

    public override Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken)
        => Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override DbParameter AddParameter(DbCommand command, string name, SqlType type)
        => ((SqliteCommand)command).Parameters.Add("@" + name, type switch
        {
            SqlType.Int => SqliteType.Integer,
            SqlType.Blob => SqliteType.Blob,
            _ => SqliteType.Text,
        });

    public override object ToDb(SqlType type, object? value) => value switch
    {
        null => DBNull.Value,
        Guid id => GuidText(id),
        DateTimeOffset time => TimestampText(time),
        _ => value,
    };

    public override void AddGuids(DbCommand command, string name, IEnumerable<Guid> ids)
        => AddText(command, name, JsonSerializer.Serialize(ids.Select(GuidText).ToArray()));

    public override string? UniqueViolation(DbException exception)
        => exception is SqliteException { SqliteExtendedErrorCode: 2067 /* SQLITE_CONSTRAINT_UNIQUE */ } ? exception.Message : null;

    public override Guid ReadGuid(DbDataReader reader, int ordinal) => ParseGuid(reader.GetString(ordinal));

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => ParseTimestamp(reader.GetString(ordinal));

    public override bool ReadFlag(DbDataReader reader, int ordinal) => reader.GetInt64(ordinal) != 0;

    public static string TimestampText(DateTimeOffset value) => RelationalFlowBackend.TimestampText(value);

    public static DateTimeOffset ParseTimestamp(string text)
        => DateTimeOffset.ParseExact(text, RelationalFlowBackend.TimestampFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string GuidText(Guid id) => id.ToString("D");

    public static Guid ParseGuid(string text) => Guid.ParseExact(text, "D");
}
