using Flowstore.Backend.Relational;
using Npgsql;
using NpgsqlTypes;

namespace Flowstore.Backend.Postgres.Tests;

/// <summary>PostgreSQL's words for the statements the relational backends share, and the values it is given.</summary>
public sealed class PostgresDialectTests
{
    private static readonly PostgresDialect Dialect = PostgresDialect.Instance;

    [Fact]
    public void Names_compare_by_their_ASCII_lower_case_in_the_flowstore_schema()
    {
        Assert.Equal("""lower(p.name COLLATE "C") = lower(@project COLLATE "C")""", Dialect.NameEquals("p.name", "@project"));
        Assert.Equal("""lower(f.name COLLATE "C")""", Dialect.NameOrder("f.name"));
        Assert.Equal("""slug COLLATE "C" """.TrimEnd(), Dialect.Exact("slug"));
        Assert.Equal("NOT f.archived", Dialect.IsFalse("f.archived"));
        Assert.Equal("flowstore.", Dialect.Schema);
    }

    [Fact]
    public void Parameters_are_typed_text_keeps_no_NUL_and_times_are_UTC_microseconds()
    {
        using var command = new NpgsqlCommand();
        var where = new SqlConditions(Dialect, command);
        where.Name("f.name", "name", " etl ");
        Dialect.AddTime(command, "when", new DateTimeOffset(2026, 12, 3, 17, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567));
        Dialect.AddText(command, "error", "bad\0byte");
        Dialect.AddGuid(command, "none", null);

        Assert.Equal("""WHERE lower(f.name COLLATE "C") = lower(@name COLLATE "C")""", where.ToString());
        Assert.Equal(("etl", NpgsqlDbType.Text), (command.Parameters["name"].Value, command.Parameters["name"].NpgsqlDbType));
        var when = Assert.IsType<DateTime>(command.Parameters["when"].Value);
        Assert.Equal((DateTimeKind.Utc, 15, 1_234_560L), (when.Kind, when.Hour, when.Ticks % 10_000_000));
        Assert.Equal(NpgsqlDbType.TimestampTz, command.Parameters["when"].NpgsqlDbType);
        Assert.Equal("bad\uFFFDbyte", command.Parameters["error"].Value);
        Assert.Equal((DBNull.Value, NpgsqlDbType.Uuid), (command.Parameters["none"].Value, command.Parameters["none"].NpgsqlDbType));
    }

    [Fact]
    public void Only_a_unique_violation_is_one()
    {
        Assert.Equal("", Dialect.UniqueViolation(new PostgresException("duplicate key", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation)));
        Assert.Null(Dialect.UniqueViolation(new PostgresException("null value", "ERROR", "ERROR", PostgresErrorCodes.NotNullViolation)));
        Assert.Null(Dialect.UniqueViolation(new NpgsqlException("connection lost")));
    }
}
