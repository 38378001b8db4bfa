using System.Diagnostics;
using System.Globalization;

namespace Flowstore.Core.Tests;

public class FlowStructureTests
{
    private const string SeedJson =
        "{\"format\":1," +
        "\"tasks\":[" +
        "{\"name\":\"get_data\",\"slug\":\"get-data\",\"retries\":0,\"retryDelaySeconds\":0,\"timeoutSeconds\":null}," +
        "{\"name\":\"print_data\",\"slug\":\"print-data\",\"retries\":0,\"retryDelaySeconds\":0,\"timeoutSeconds\":null}]," +
        "\"edges\":[{\"upstream\":\"get-data\",\"downstream\":\"print-data\",\"key\":\"values\",\"kind\":\"data\"}]," +
        "\"parameters\":[]}";

    // sha256 of SeedJson; a change here means every registered flow looks changed to its users.
    private const string SeedHash = "9305c52953259f8add7703b65cc4fd25a2cda1f5b3b7cdaeec42b9e4d514847d";

    /// <summary>A small flow; each switch changes one aspect of its structure or its code.</summary>
    private static FlowStructure Build(
        bool extraTask = false, string loadName = "load", int retries = 0, string inputName = "rows",
        bool orderEdge = false, int limitDefault = 10, bool limitRequired = false, int bodyVariant = 0,
        double? timeoutSeconds = null)
    {
        var flow = new Flow("etl");
        var extract = flow.Task("extract", () => bodyVariant == 0 ? new[] { 1, 2 } : new[] { 3, 4, 5 },
            new TaskOptions { Retries = retries, Timeout = timeoutSeconds is { } t ? TimeSpan.FromSeconds(t) : null });
        var limit = limitRequired ? flow.Parameter<int>("limit") : flow.Parameter("limit", limitDefault);
        var load = inputName == "rows"
            ? flow.Task(loadName, (int[] rows, int max) => rows.Take(max).Sum(), extract, limit)
            : flow.Task(loadName, (int[] items, int max) => items.Take(max).Sum(), extract, limit);
        var report = flow.Task("report", () => { });
        if (orderEdge)
        {
            report.After(load);
        }
        if (extraTask)
        {
            flow.Task("notify", () => { });
        }
        return FlowStructure.FromFlow(flow);
    }

    [Fact]
    public void Canonical_json_is_deterministic()
    {
        Assert.Equal(Build().CanonicalJson, Build().CanonicalJson);
        Assert.Equal(Build().Hash, Build().Hash);
        Assert.Matches("^[0-9a-f]{64}$", Build().Hash);
        Assert.DoesNotContain(" ", FlowStructure.FromFlow(SampleFlows.Seed()).CanonicalJson);
    }

    [Fact]
    public void Canonical_json_does_not_depend_on_declaration_order()
    {
        var one = new Flow("order");
        var a1 = one.Task("alpha", () => 1);
        var b1 = one.Task("beta", () => 2);
        var n1 = one.Parameter("n", 1);
        var s1 = one.Parameter("s", "x");
        var c1 = one.Task("gamma", (int x, int y) => x + y, a1, n1).After(b1);
        one.Task("delta", (string text) => text, s1).After(c1, a1);

        var two = new Flow("order");
        var s2 = two.Parameter("s", "x");
        var n2 = two.Parameter("n", 1);
        var b2 = two.Task("beta", () => 2);
        var a2 = two.Task("alpha", () => 1);
        var d2 = two.Task("delta", (string text) => text, s2);
        var c2 = two.Task("gamma", (int x, int y) => x + y, a2, n2);
        c2.After(b2);
        d2.After(a2, c2);

        Assert.Equal(FlowStructure.FromFlow(one).CanonicalJson, FlowStructure.FromFlow(two).CanonicalJson);
        Assert.Equal(FlowStructure.FromFlow(one).Hash, FlowStructure.FromFlow(two).Hash);
    }

    [Fact]
    public void The_hash_changes_with_every_structural_change()
    {
        var baseline = Build().Hash;
        var variants = new Dictionary<string, string>
        {
            ["task added"] = Build(extraTask: true).Hash,
            ["task renamed"] = Build(loadName: "store").Hash,
            ["task renamed, same slug"] = Build(loadName: "Load").Hash,
            ["retries changed"] = Build(retries: 2).Hash,
            ["timeout changed"] = Build(timeoutSeconds: 30).Hash,
            ["input key changed"] = Build(inputName: "items").Hash,
            ["ordering edge added"] = Build(orderEdge: true).Hash,
            ["parameter default changed"] = Build(limitDefault: 20).Hash,
            ["parameter now required"] = Build(limitRequired: true).Hash,
        };

        foreach (var (change, hash) in variants)
        {
            Assert.True(hash != baseline, $"{change}: hash did not change");
        }
        Assert.Equal(variants.Count, variants.Values.Distinct().Count());
    }

    [Fact]
    public void A_change_of_task_body_keeps_the_hash()
    {
        Assert.Equal(Build().Hash, Build(bodyVariant: 1).Hash);
        Assert.Equal(Build().CanonicalJson, Build(bodyVariant: 1).CanonicalJson);
    }

    [Fact]
    public void FromJson_round_trips_to_the_same_json_and_hash()
    {
        foreach (var structure in new[] { FlowStructure.FromFlow(SampleFlows.Seed()), FlowStructure.FromFlow(SampleFlows.Rich()), Build(orderEdge: true) })
        {
            var back = FlowStructure.FromJson(structure.CanonicalJson);
            Assert.Equal(structure.CanonicalJson, back.CanonicalJson);
            Assert.Equal(structure.Hash, back.Hash);
            Assert.Equal(structure.Tasks, back.Tasks);
            Assert.Equal(structure.Edges, back.Edges);
            Assert.Equal(structure.Parameters, back.Parameters);
        }
    }

    [Fact]
    public void Golden_seed_example_structure_and_hash()
    {
        var structure = FlowStructure.FromFlow(SampleFlows.Seed());

        Assert.Equal(SeedJson, structure.CanonicalJson);
        Assert.Equal(SeedHash, structure.Hash);
        Assert.Equal(SeedHash, FlowStructure.Sha256Hex(SeedJson));
    }

    [Fact]
    public void Rich_structure_records_options_and_parameters_in_invariant_form()
    {
        var json = FlowStructure.FromFlow(SampleFlows.Rich()).CanonicalJson;

        Assert.Contains("\"retryDelaySeconds\":1.5", json);
        Assert.Contains("\"timeoutSeconds\":0.25", json);
        Assert.Contains("{\"name\":\"ratio\",\"type\":\"double\",\"default\":1.5,\"required\":false}", json);
        Assert.Contains("{\"name\":\"price\",\"type\":\"decimal\",\"default\":1234.5,\"required\":false}", json);
        Assert.Contains("{\"name\":\"TITLE\",\"type\":\"string\",\"default\":null,\"required\":true}", json);
        Assert.Contains("\"slug\":\"import-items\"", json);
    }

    [Theory]
    [InlineData("de-DE")]
    [InlineData("tr-TR")]
    [InlineData("fr-FR")]
    public void Canonical_json_and_hash_do_not_depend_on_the_current_culture(string culture)
    {
        var (seedInvariant, richInvariant, _) = Under(CultureInfo.InvariantCulture);
        var (seed, rich, formatted) = Under(new CultureInfo(culture));

        // The culture really was in effect (1.5 formats as "1,5"), so culture-dependent formatting would show.
        Assert.Equal("1,5", formatted);
        Assert.Equal(seedInvariant.CanonicalJson, seed.CanonicalJson);
        Assert.Equal(richInvariant.CanonicalJson, rich.CanonicalJson);
        Assert.Equal(richInvariant.Hash, rich.Hash);
        Assert.Equal(SeedHash, seed.Hash);
    }

    [Fact]
    public void Turkish_casing_does_not_change_slugs()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("tr-TR");
            Assert.NotEqual("import", "IMPORT".ToLower()); // the culture's own casing would break slugs
            Assert.Equal("import-items", Flow.Slugify("IMPORT Items"));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public async Task A_separate_process_computes_the_same_canonical_json()
    {
        var expected = FlowStructure.FromFlow(SampleFlows.Seed()).CanonicalJson + "\n" + FlowStructure.FromFlow(SampleFlows.Rich()).CanonicalJson;

        // Another process (its own string hashing seed), a Turkish culture with ICU, and invariant-globalization mode.
        var turkish = await RunHelperAsync("tr-TR", invariantGlobalization: false);
        var invariant = await RunHelperAsync("invariant", invariantGlobalization: true);

        Assert.Equal(expected, turkish);
        Assert.Equal(expected, invariant);
    }

    private static (FlowStructure Seed, FlowStructure Rich, string OnePointFive) Under(CultureInfo culture)
    {
        var previous = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = culture;
            return (FlowStructure.FromFlow(SampleFlows.Seed()), FlowStructure.FromFlow(SampleFlows.Rich()), 1.5.ToString());
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = previous;
        }
    }

    private static async Task<string> RunHelperAsync(string culture, bool invariantGlobalization)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add("structure");
        start.ArgumentList.Add(culture);
        start.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = invariantGlobalization ? "1" : "0";
        start.Environment["LANG"] = invariantGlobalization ? "C" : "tr_TR.UTF-8";

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(process.ExitCode == 0, $"helper exited with {process.ExitCode}: {await stderr}");
        return (await stdout).ReplaceLineEndings("\n").TrimEnd('\n');
    }
}
