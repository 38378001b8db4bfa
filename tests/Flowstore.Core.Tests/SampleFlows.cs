namespace Flowstore.Core.Tests;

/// <summary>Flows shared by the structure tests and the child-process helper in <see cref="Program"/>.</summary>
internal static class SampleFlows
{
    /// <summary>The example flow (examples/flows/my_flow.cs).</summary>
    public static Flow Seed()
    {
        var flow = new Flow("example");
        var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
        flow.Task("print_data", (int[] values) => Console.WriteLine(string.Join(", ", values)), data);
        return flow;
    }

    /// <summary>
    /// A flow with everything culture or hashing could disturb: fractional seconds, a double and a decimal
    /// default, an enum, names with 'I' (Turkish casing) and non-ASCII letters.
    /// </summary>
    public static Flow Rich()
    {
        var flow = new Flow("Rich Flow");
        var ratio = flow.Parameter("ratio", 1.5);
        var price = flow.Parameter("price", 1234.5m);
        var day = flow.Parameter("day", DayOfWeek.Friday);
        var title = flow.Parameter<string>("TITLE");
        var import = flow.Task("IMPORT Items", (double r, decimal p) => r * (double)p, ratio, price,
            new TaskOptions { Retries = 2, RetryDelay = TimeSpan.FromSeconds(1.5), Timeout = TimeSpan.FromMilliseconds(250) });
        var größe = flow.Task("Größe", (double v, string t, DayOfWeek d) => $"{t}{v}{d}", import, title, day);
        flow.Task("İstanbul", () => { }).After(größe, import);
        return flow;
    }
}
