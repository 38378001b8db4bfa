using System.Data.Common;

namespace Flowstore.Backend.Relational;

/// <summary>
/// The WHERE clause of a query with optional filters: each filter given adds its condition and its parameter to the
/// command; none given, no clause. Names compare as the dialect compares names (case ignored), trimmed.
/// </summary>
internal sealed class SqlConditions(SqlDialect dialect, DbCommand command)
{
    private readonly List<string> _conditions = [];

    public void Add(string condition) => _conditions.Add(condition);

    public void Name(string column, string parameter, string? name)
    {
        if (name is not null)
        {
            _conditions.Add(dialect.NameEquals(column, "@" + parameter));
            dialect.AddText(command, parameter, name.Trim());
        }
    }

    public void Equal(string column, string parameter, SqlType type, object? value)
    {
        if (value is not null)
        {
            _conditions.Add($"{column} = @{parameter}");
            dialect.Add(command, parameter, type, value);
        }
    }

    public override string ToString() => _conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", _conditions);
}
