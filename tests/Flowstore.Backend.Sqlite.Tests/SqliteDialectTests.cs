using Flowstore.Backend.Relational;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite.Tests;

/// <summary>SQLite's words for the statements the relational backends share, and its values written and read back.</summary>
public sealed class SqliteDialectTests
{
    private static readonly SqliteDialect Dialect = SqliteDialect.Instance;

    [Fact]
    public void Names_compare_by_the_NOCASE_columns_and_flags_are_integers()
    {
        Assert.Equal("p.name = @project", Dialect.NameEquals("p.name", "@project"));
        Assert.Equal("f.name COLLATE NOCASE", Dialect.NameOrder("f.name"));
        Assert.Equal("f.archived = 0", Dialect.IsFalse("f.archived"));
        Assert.Equal("", Dialect.Schema);
    }

    [Fact]
    public void Filters_given_make_one_WHERE_clause_and_bind_their_values_trimmed()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        using var command = connection.CreateCommand();
        var where = new SqlConditions(Dialect, command);
        Assert.Equal("", where.ToString());

        var id = Guid.NewGuid();
        where.Name("p.name", "project", "  Data ");
        where.Equal("f.id", "id", SqlType.Guid, id);
        where.Equal("f.version", "version", SqlType.Int, null);

        Assert.Equal("WHERE p.name = @project AND f.id = @id", where.ToString());
        Assert.Equal(["@project", "@id"], command.Parameters.Cast<SqliteParameter>().Select(p => p.ParameterName));
        Assert.Equal("Data", command.Parameters["@project"].Value);
        Assert.Equal(id.ToString("D"), command.Parameters["@id"].Value);
    }

    [Fact]
    public async Task Guids_times_and_flags_read_back_as_written_times_cut_to_microseconds()
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        var id = Guid.NewGuid();
        var time = new DateTimeOffset(2026, 12, 3, 17, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT @id, @time, 1, @none, @ids;";
        Dialect.AddGuid(command, "id", id);
        Dialect.AddTime(command, "time", time);
        Dialect.AddText(command, "none", null);
        Dialect.AddGuids(command, "ids", [id]);

        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(id, Dialect.ReadGuid(reader, 0));
        Assert.Equal(time.UtcTicks - time.UtcTicks % 10, Dialect.ReadTime(reader, 1).UtcTicks);
        Assert.Equal(TimeSpan.Zero, Dialect.ReadTime(reader, 1).Offset);
        Assert.True(Dialect.ReadFlag(reader, 2));
        Assert.Null(Dialect.ReadOptionalText(reader, 3));
        Assert.Null(Dialect.ReadOptionalTime(reader, 3));
        Assert.Equal($"[\"{id:D}\"]", reader.GetString(4));
    }

    [Fact]
    public async Task A_unique_constraint_names_its_column_other_refusals_are_not_unique_violations()
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        await using var create = connection.CreateCommand();
        create.CommandText = "CREATE TABLE keys (name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE); INSERT INTO keys VALUES ('a', 'h');";
        await create.ExecuteNonQueryAsync();

        var duplicate = await Assert.ThrowsAsync<SqliteException>(() => Insert("'b', 'h'"));
        var missing = await Assert.ThrowsAsync<SqliteException>(() => Insert("NULL, 'i'"));

        Assert.Contains("keys.token_hash", Dialect.UniqueViolation(duplicate));
        Assert.Null(Dialect.UniqueViolation(missing));

        async Task Insert(string values)
        {
            await using var insert = connection.CreateCommand();
            insert.CommandText = $"INSERT INTO keys VALUES ({values});";
            await insert.ExecuteNonQueryAsync();
        }
    }
}
