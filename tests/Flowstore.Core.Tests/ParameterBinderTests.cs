namespace Flowstore.Core.Tests;

public class ParameterBinderTests
{
    public enum Mode { Fast, Careful }

    private static Flow Declare()
    {
        var flow = new Flow("params");
        flow.Parameter("count", 3);
        flow.Parameter<string>("name");
        flow.Parameter("ids", new[] { 1 });
        flow.Parameter("mode", Mode.Fast);
        return flow;
    }

    private static Dictionary<string, object?> With(params (string Key, object? Value)[] values)
        => values.ToDictionary(v => v.Key, v => v.Value);

    [Fact]
    public void Defaults_fill_what_was_not_given()
    {
        var values = ParameterBinder.Bind(Declare(), With(("name", "x")));

        Assert.Equal(3, values["count"]);
        Assert.Equal("x", values["name"]);
        Assert.Equal(new[] { 1 }, values["ids"]);
        Assert.Equal(Mode.Fast, values["mode"]);
    }

    [Fact]
    public void A_missing_required_parameter_is_ParameterMissing()
    {
        var e = Assert.Throws<FlowstoreException>(() => ParameterBinder.Bind(Declare(), With(("count", 1))));

        Assert.Equal(ErrorIds.ParameterMissing, e.ErrorId);
        Assert.Contains("'name'", e.Message);
        Assert.Contains("'params'", e.Message);
    }

    [Fact]
    public void An_unknown_parameter_is_ParameterUnknown_and_lists_the_declared_ones()
    {
        var e = Assert.Throws<FlowstoreException>(() => ParameterBinder.Bind(Declare(), With(("name", "x"), ("cuont", 1))));

        Assert.Equal(ErrorIds.ParameterUnknown, e.ErrorId);
        Assert.Contains("'cuont'", e.Message);
        Assert.Contains("count", e.Message);
    }

    [Fact]
    public void A_value_that_does_not_convert_is_ParameterInvalid_naming_the_parameter_and_type()
    {
        var e = Assert.Throws<FlowstoreException>(() => ParameterBinder.Bind(Declare(), With(("name", "x"), ("count", "abc"))));

        Assert.Equal(ErrorIds.ParameterInvalid, e.ErrorId);
        Assert.Contains("'count'", e.Message);
        Assert.Contains("int", e.Message);
        Assert.Contains("abc", e.Message);
    }

    [Theory]
    [InlineData("Sometimes")]
    [InlineData(null)]
    public void A_bad_enum_name_or_null_for_a_value_type_is_ParameterInvalid(string? value)
    {
        var e = Assert.Throws<FlowstoreException>(() => ParameterBinder.Bind(Declare(), With(("name", "x"), ("mode", value))));
        Assert.Equal(ErrorIds.ParameterInvalid, e.ErrorId);
        Assert.Contains("'mode'", e.Message);
    }

    [Fact]
    public void Values_are_converted_to_the_declared_types()
    {
        var values = ParameterBinder.Bind(Declare(), With(
            ("name", "x"),
            ("count", "42"),
            ("ids", new object[] { 1L, "2", 3 }),
            ("mode", "careful")));

        Assert.Equal(42, Assert.IsType<int>(values["count"]));
        Assert.Equal(new[] { 1, 2, 3 }, Assert.IsType<int[]>(values["ids"]));
        Assert.Equal(Mode.Careful, Assert.IsType<Mode>(values["mode"]));
    }

    [Fact]
    public void A_long_becomes_an_int()
    {
        // PowerShell and JSON hand over Int64 for whole numbers.
        var values = ParameterBinder.Bind(Declare(), With(("name", "x"), ("count", 7L)));
        Assert.Equal(7, Assert.IsType<int>(values["count"]));
    }

    [Fact]
    public void A_long_that_does_not_fit_an_int_is_ParameterInvalid()
    {
        var e = Assert.Throws<FlowstoreException>(() => ParameterBinder.Bind(Declare(), With(("name", "x"), ("count", long.MaxValue))));
        Assert.Equal(ErrorIds.ParameterInvalid, e.ErrorId);
    }

    [Fact]
    public void Parameter_names_match_case_insensitively()
    {
        var values = ParameterBinder.Bind(Declare(), With(("NAME", "x"), ("Count", 5)));
        Assert.Equal("x", values["name"]);
        Assert.Equal(5, values["count"]);
    }

    [Fact]
    public void ConvertTo_handles_lists_and_json()
    {
        Assert.Equal(new List<int> { 1, 2 }, ParameterBinder.ConvertTo(new object[] { "1", 2L }, typeof(List<int>)));
        Assert.Equal(2.5, ParameterBinder.ConvertTo("2.5", typeof(double)));
        Assert.Equal(TimeSpan.FromMinutes(90), ParameterBinder.ConvertTo("01:30:00", typeof(TimeSpan)));
        Assert.Equal(true, ParameterBinder.ConvertTo("true", typeof(bool)));
        Assert.Null(ParameterBinder.ConvertTo(null, typeof(int?)));
    }

    [Theory]
    [InlineData("int", typeof(int))]
    [InlineData("string[]", typeof(string[]))]
    [InlineData("long?", typeof(long?))]
    [InlineData("List<DateTimeOffset>", typeof(List<DateTimeOffset>))]
    [InlineData("IReadOnlyList<double?>", typeof(IReadOnlyList<double?>))]
    [InlineData("Guid", typeof(Guid))]
    [InlineData("Mode", null)]
    [InlineData("Dictionary<string,int>", null)]
    [InlineData("int[,]", null)]
    public void Registered_type_names_resolve_to_the_types_known_without_the_script(string name, Type? expected)
    {
        Assert.Equal(expected, ParameterBinder.KnownType(name));
        if (expected is not null)
        {
            Assert.Equal(name, FlowStructure.TypeName(expected));
        }
    }

    [Fact]
    public void Values_are_checked_against_a_registered_structure_without_the_script()
    {
        var structure = FlowStructure.FromFlow(Declare());

        var e = Assert.Throws<FlowstoreException>(() => ParameterBinder.CheckDeclared("params", structure.Parameters, With(("name", "x"), ("count", "many"))));
        ParameterBinder.CheckDeclared("params", structure.Parameters, With(("name", "x"), ("count", "12"), ("mode", "anything"), ("IDS", new object[] { "1", 2L })));

        Assert.Equal(ErrorIds.ParameterInvalid, e.ErrorId);
        Assert.Equal("Parameter 'count' of flow 'params' must be int; the value 'many' does not convert", e.Message[..e.Message.IndexOf(" (", StringComparison.Ordinal)]);
        Assert.Equal(ErrorIds.ParameterMissing, Assert.Throws<FlowstoreException>(() => ParameterBinder.CheckDeclared("params", structure.Parameters, With(("count", 1)))).ErrorId);
    }
}
