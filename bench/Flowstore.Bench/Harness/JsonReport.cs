using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flowstore.Bench.Harness;

/// <summary>Writes the machine-readable results: out/bench/&lt;UTC timestamp&gt;.json.</summary>
public static class JsonReport
{
    public static string Write(string directory, DateTimeOffset started, BenchOptions options, IReadOnlyList<SuiteResult> suites)
    {
        var root = new JsonObject
        {
            ["schema"] = 1,
            ["started"] = started.ToString("O", CultureInfo.InvariantCulture),
            ["commit"] = GitCommit(),
            ["machine"] = new JsonObject
            {
                ["os"] = RuntimeInformation.OSDescription,
                ["arch"] = RuntimeInformation.OSArchitecture.ToString(),
                ["cores"] = Environment.ProcessorCount,
                ["runtime"] = RuntimeInformation.FrameworkDescription,
                ["serverGc"] = System.Runtime.GCSettings.IsServerGC,
            },
            ["options"] = new JsonObject
            {
                ["repetitions"] = options.Repetitions,
                ["files"] = options.Files,
                ["warmupFiles"] = options.WarmupFiles,
                ["tasks"] = options.Tasks,
                ["startRuns"] = options.StartRuns,
                ["profile"] = options.Profile,
            },
            ["suites"] = new JsonArray(suites.Select(Suite).ToArray()),
        };

        Directory.CreateDirectory(directory);
        var name = started.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var path = Path.Combine(directory, name + ".json");
        for (var i = 2; File.Exists(path); i++)
        {
            path = Path.Combine(directory, $"{name}-{i}.json");
        }
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,   // a file, not HTML: keep '+' readable
        }) + "\n");
        return path;
    }

    private static JsonNode Suite(SuiteResult s) => new JsonObject
    {
        ["name"] = s.Name,
        ["description"] = s.Description,
        ["wallSeconds"] = Round(s.WallSeconds),
        ["loadAverages"] = new JsonArray(s.LoadAverages.Select(l => (JsonNode)JsonValue.Create(l)).ToArray()),
        ["parameters"] = JsonSerializer.SerializeToNode(s.Parameters.ToDictionary(p => p.Key, p => p.Value)),
        ["cases"] = new JsonArray(s.Cases.Select(c => (JsonNode)new JsonObject
        {
            ["id"] = c.Id,
            ["title"] = c.Title,
            ["operations"] = c.Operations,
            ["operation"] = c.OperationName,
            ["medianMs"] = Round(c.MedianMs),
            ["minMs"] = Round(c.MinMs),
            ["maxMs"] = Round(c.MaxMs),
            ["samplesMs"] = new JsonArray(c.Samples.Select(x => (JsonNode)JsonValue.Create(Round(x.ElapsedMs))).ToArray()),
            ["medianCpuMs"] = Round(c.MedianCpuMs),
            ["samplesCpuMs"] = new JsonArray(c.Samples.Select(x => (JsonNode)JsonValue.Create(Round(x.CpuMs))).ToArray()),
            ["details"] = c.Samples.Any(x => x.Details is not null)
                ? new JsonArray(c.Samples.Select(x => x.Details is null ? null : (JsonNode)new JsonObject(x.Details.Select(d =>
                    KeyValuePair.Create(d.Key, (JsonNode?)new JsonArray(d.Value.Select(v => (JsonNode)JsonValue.Create(Round(v))).ToArray()))))).ToArray())
                : null,
            ["phasesMedianMs"] = c.Phases is null ? null
                : new JsonObject(c.Phases.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(Round(p.Value))))),
        }).ToArray()),
        ["comparisons"] = new JsonArray(s.Comparisons.Select(c => (JsonNode)new JsonObject
        {
            ["label"] = c.Label,
            ["value"] = Math.Round(c.Value, 4),
            ["unit"] = c.Unit,
            ["target"] = c.Target,
            ["pass"] = c.Pass,
            ["pairedMedian"] = c.PairedMedian is { } p ? Math.Round(p, 4) : null,
            ["cpuValue"] = c.CpuValue is { } cpu ? Math.Round(cpu, 4) : null,
        }).ToArray()),
    };

    private static double Round(double v) => Math.Round(v, 3);

    /// <summary>The 1-minute load average (Linux), to judge how busy the shared machine was.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static string? GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null)
            {
                return null;
            }
            var text = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? text : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
