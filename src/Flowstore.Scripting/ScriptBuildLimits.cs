using System.Globalization;

namespace Flowstore.Scripting;

/// <summary>
/// How long building a script's flows (running its top-level statements) may take, and how much memory (GC heap) it
/// may use. Defaults: 30 seconds, 1024 MB; the environment variables <see cref="TimeoutVariable"/> (seconds) and
/// <see cref="MemoryVariable"/> (megabytes) change them.
/// </summary>
public sealed record ScriptBuildLimits(TimeSpan Timeout, long MemoryBytes)
{
    /// <summary>The build time limit in seconds (a number, e.g. 30 or 2.5).</summary>
    public const string TimeoutVariable = "FLOWSTORE_BUILD_TIMEOUT";

    /// <summary>The build memory limit in megabytes (the GC heap of the build process).</summary>
    public const string MemoryVariable = "FLOWSTORE_BUILD_MEMORY_MB";

    public static ScriptBuildLimits Default { get; } = new(TimeSpan.FromSeconds(30), 1024L * 1024 * 1024);

    /// <summary>The defaults, changed by the environment variables; an invalid value is an error naming the variable.</summary>
    public static ScriptBuildLimits FromEnvironment()
    {
        var limits = Default;
        if (Environment.GetEnvironmentVariable(TimeoutVariable) is { Length: > 0 } timeout)
        {
            if (!double.TryParse(timeout, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || seconds > 86400)
            {
                throw new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                    $"The environment variable {TimeoutVariable} is '{timeout}'; give the build time limit in seconds (a number above 0, at most 86400).") { Target = TimeoutVariable };
            }
            limits = limits with { Timeout = TimeSpan.FromSeconds(seconds) };
        }
        if (Environment.GetEnvironmentVariable(MemoryVariable) is { Length: > 0 } memory)
        {
            if (!long.TryParse(memory, NumberStyles.Integer, CultureInfo.InvariantCulture, out var megabytes) || megabytes < 32 || megabytes > 1024 * 1024)
            {
                throw new FlowstoreException(ErrorIds.ParameterInvalid, FlowErrorKind.InvalidArgument,
                    $"The environment variable {MemoryVariable} is '{memory}'; give the build memory limit in megabytes (at least 32).") { Target = MemoryVariable };
            }
            limits = limits with { MemoryBytes = megabytes * 1024 * 1024 };
        }
        return limits;
    }

    /// <summary>The time limit as people write it ("30 s", "2.5 s").</summary>
    public string TimeoutText => $"{Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";

    /// <summary>The memory limit as people write it ("1024 MB").</summary>
    public string MemoryText => $"{MemoryBytes / (1024 * 1024)} MB";
}
