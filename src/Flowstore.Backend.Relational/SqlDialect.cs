using System.Data.Common;

namespace Flowstore.Backend.Relational;

/// <summary>The kinds of values the relational backends store, each kept in the column type its database has for it.</summary>
internal enum SqlType
{
    Text,
    Guid,
    Int,
    Time,
    Blob,
}

/// <summary>
/// What differs between the databases under <see cref="RelationalFlowBackend"/>: where the tables are, how names
/// compare ignoring case, how a flag, a GUID or a time is written and read back, how a write transaction starts.
/// Statements are written once with <c>@name</c> parameters (both SQLite and PostgreSQL read them); a dialect turns
/// the values into what its driver and columns take.
/// </summary>
internal abstract class SqlDialect
{
    /// <summary>The prefix of every table name ("" or "flowstore.").</summary>
    public abstract string Schema { get; }

    /// <summary>The literal of a true flag.</summary>
    public abstract string True { get; }

    /// <summary>The literal of a false flag.</summary>
    public abstract string False { get; }

    /// <summary>The condition that a flag column is false.</summary>
    public abstract string IsFalse(string column);

    /// <summary>
    /// What a name compares by: names are equal when these are equal (case ignored as the database's name columns
    /// ignore it).
    /// </summary>
    public abstract string NameKey(string column);

    /// <summary>The ordering of names that ignores case (ties keep <see cref="Exact"/> order where it is added).</summary>
    public abstract string NameOrder(string column);

    /// <summary>The column compared by its exact characters (ordinal).</summary>
    public abstract string Exact(string column);

    /// <summary>The column that orders rows of a table by insertion.</summary>
    public abstract string InsertionOrder { get; }

    /// <summary>The condition that <paramref name="column"/> is one of the GUIDs <see cref="AddGuids"/> put in <paramref name="parameter"/>.</summary>
    public abstract string InGuids(string column, string parameter);

    /// <summary>
    /// <paramref name="clause"/> (FOR UPDATE, FOR UPDATE SKIP LOCKED, ...) where a SELECT locks the rows it reads until
    /// commit; "" where a write transaction holds the whole database already (SQLite's BEGIN IMMEDIATE).
    /// </summary>
    public abstract string RowLock(string clause);

    /// <summary>
    /// The condition that every element of the JSON array of strings in <paramref name="column"/> is one of the JSON
    /// array of strings in <paramref name="parameter"/>.
    /// </summary>
    public abstract string JsonArrayWithin(string column, string parameter);

    /// <summary>Starts a transaction that writes (SQLite takes the write lock at once: BEGIN IMMEDIATE).</summary>
    public abstract Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Adds a parameter of <paramref name="type"/> named <paramref name="name"/> (without '@'), its value not set.</summary>
    public abstract DbParameter AddParameter(DbCommand command, string name, SqlType type);

    /// <summary>A value as the database keeps it (DBNull for null).</summary>
    public abstract object ToDb(SqlType type, object? value);

    public abstract Guid ReadGuid(DbDataReader reader, int ordinal);

    public abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    public abstract bool ReadFlag(DbDataReader reader, int ordinal);

    /// <summary>
    /// When <paramref name="exception"/> is a unique constraint refusing a row: what names the constraint (its name, or
    /// the driver's message naming the columns); otherwise null.
    /// </summary>
    public abstract string? UniqueViolation(DbException exception);

    /// <summary>Adds the GUIDs as one parameter that <see cref="InGuids"/> reads.</summary>
    public abstract void AddGuids(DbCommand command, string name, IEnumerable<Guid> ids);

    /// <summary>The condition that two names are the same (case ignored).</summary>
    public string NameEquals(string column, string parameter) => $"{NameKey(column)} = {NameKey(parameter)}";

    public DbParameter Add(DbCommand command, string name, SqlType type, object? value)
    {
        var parameter = AddParameter(command, name, type);
        parameter.Value = ToDb(type, value);
        return parameter;
    }

    public void AddText(DbCommand command, string name, string? value) => Add(command, name, SqlType.Text, value);

    public void AddGuid(DbCommand command, string name, Guid? value) => Add(command, name, SqlType.Guid, value);

    public void AddInt(DbCommand command, string name, int? value) => Add(command, name, SqlType.Int, value);

    public void AddTime(DbCommand command, string name, DateTimeOffset? value) => Add(command, name, SqlType.Time, value);

    /// <summary>Sets a parameter <see cref="AddParameter"/> added (a statement run for several rows).</summary>
    public void Set(DbParameter parameter, SqlType type, object? value) => parameter.Value = ToDb(type, value);

    public string? ReadOptionalText(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public Guid? ReadOptionalGuid(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : ReadGuid(reader, ordinal);

    public DateTimeOffset? ReadOptionalTime(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : ReadTime(reader, ordinal);
}
