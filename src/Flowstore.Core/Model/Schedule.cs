using System.Globalization;
using System.Text.Json;
using Cronos;

namespace Flowstore;

/// <summary>What a scheduler does with occurrences that fell due while no scheduler ran (downtime).</summary>
public enum MissedRuns
{
    /// <summary>Run the latest missed occurrence once, not the others (the default).</summary>
    Latest,

    /// <summary>Run every missed occurrence, oldest first (at most <see cref="Schedule.MaxCatchUp"/>).</summary>
    All,
}

/// <summary>
/// When a flow runs by itself: a cron expression in a time zone (<see cref="Cron"/>), or a fixed interval
/// (<see cref="Every"/>), with parameter values for the runs it creates. Set it in the script
/// (<c>flow.Schedule = Schedule.Cron("0 6 * * 1-5", "Europe/Berlin");</c>) or at registration; the schedule is
/// recorded with the flow version, so a changed schedule is a new version.
/// </summary>
/// <remarks>
/// Cron expressions have five fields (minute hour day-of-month month day-of-week) or six with seconds first, and the
/// macros @hourly, @daily, @weekly, @monthly, @yearly; they are parsed and evaluated by Cronos. Around a daylight
/// saving change, as Cronos defines: an occurrence in the skipped hour runs once at the jump; in the repeated hour, an
/// occurrence runs once (at its first instance), while expressions that fire every hour or more often run in both.
/// </remarks>
public sealed record Schedule
{
    /// <summary>At most this many missed occurrences are run under <see cref="MissedRuns.All"/> (the latest ones).</summary>
    public const int MaxCatchUp = 100;

    private const int FormatVersion = 1;
    private CronExpression? _cron;
    private TimeZoneInfo? _zone;

    private Schedule()
    {
    }

    /// <summary>"cron" or "interval".</summary>
    public string Kind { get; private init; } = "cron";

    /// <summary>The cron expression (for <see cref="Kind"/> cron).</summary>
    public string? Expression { get; private init; }

    /// <summary>The interval (for <see cref="Kind"/> interval).</summary>
    public TimeSpan? Interval { get; private init; }

    /// <summary>Where intervals are counted from (UTC; default 2000-01-01 00:00 UTC, so 15 minutes is :00, :15, :30, :45).</summary>
    public DateTimeOffset? Anchor { get; private init; }

    /// <summary>The time zone cron expressions are read in (an IANA or Windows id); UTC by default.</summary>
    public string TimeZone { get; private init; } = "UTC";

    /// <summary>The parameter values of the runs the schedule creates, as a JSON object with sorted names.</summary>
    public string ParametersJson { get; private init; } = "{}";

    /// <summary>What a scheduler does with occurrences missed while it was down.</summary>
    public MissedRuns MissedRuns { get; private init; } = MissedRuns.Latest;

    /// <summary>The parameter values of the runs the schedule creates.</summary>
    public IReadOnlyDictionary<string, object?> Parameters => RunParameters.Read(ParametersJson);

    /// <summary>
    /// A cron schedule: <paramref name="expression"/> (5 fields, or 6 with seconds first) read in
    /// <paramref name="timeZone"/> (an IANA id such as "Europe/Zurich"; null: UTC). <paramref name="parameters"/>: the
    /// values the runs get (an anonymous object or a dictionary), for parameters without a default or to override one.
    /// </summary>
    public static Schedule Cron(string expression, string? timeZone = null, object? parameters = null)
    {
        var schedule = new Schedule
        {
            Kind = "cron",
            Expression = expression?.Trim(),
            TimeZone = string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone.Trim(),
            ParametersJson = ToParametersJson(parameters),
        };
        schedule.Check();
        return schedule;
    }

    /// <summary>
    /// A schedule every <paramref name="interval"/> (at least one second), counted from <paramref name="anchor"/>
    /// (default 2000-01-01 00:00 UTC).
    /// </summary>
    public static Schedule Every(TimeSpan interval, DateTimeOffset? anchor = null, object? parameters = null)
    {
        var schedule = new Schedule
        {
            Kind = "interval",
            Interval = interval,
            Anchor = anchor?.ToUniversalTime(),
            ParametersJson = ToParametersJson(parameters),
        };
        schedule.Check();
        return schedule;
    }

    /// <summary>The same schedule whose runs get these parameter values (an anonymous object or a dictionary).</summary>
    public Schedule WithParameters(object? parameters) => this with { ParametersJson = ToParametersJson(parameters) };

    /// <summary>The same schedule with another policy for occurrences missed while no scheduler ran.</summary>
    public Schedule WithMissedRuns(MissedRuns missedRuns) => Enum.IsDefined(missedRuns)
        ? this with { MissedRuns = missedRuns }
        : throw Invalid($"the missed-runs policy {(int)missedRuns} is not one of {string.Join(", ", Enum.GetNames<MissedRuns>())}");

    /// <summary>The same schedule read in another time zone (cron schedules).</summary>
    public Schedule InTimeZone(string? timeZone)
    {
        var schedule = this with { TimeZone = string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone.Trim() };
        schedule.Check();
        return schedule;
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null when there is none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after)
    {
        if (Kind == "interval")
        {
            var anchor = (Anchor ?? DefaultAnchor).UtcTicks;
            var step = Interval!.Value.Ticks;
            // The first anchor + k * step later than 'after' (k may be negative: floor division).
            var k = Math.DivRem(after.UtcTicks - anchor, step, out var rest);
            if (rest < 0)
            {
                k--;
            }
            return new DateTimeOffset(anchor + (k + 1) * step, TimeSpan.Zero);
        }
        return CronExpression.GetNextOccurrence(after.ToUniversalTime(), Zone, inclusive: false)?.ToUniversalTime();
    }

    /// <summary>The occurrences in (<paramref name="after"/>, <paramref name="until"/>], oldest first.</summary>
    public IEnumerable<DateTimeOffset> Between(DateTimeOffset after, DateTimeOffset until)
    {
        var at = after;
        while (NextAfter(at) is { } next && next <= until)
        {
            yield return next;
            at = next;
        }
    }

    /// <summary>The next <paramref name="count"/> occurrences after <paramref name="after"/>.</summary>
    public IReadOnlyList<DateTimeOffset> Next(DateTimeOffset after, int count)
    {
        var list = new List<DateTimeOffset>();
        var at = after;
        while (list.Count < count && NextAfter(at) is { } next)
        {
            list.Add(next);
            at = next;
        }
        return list;
    }

    /// <summary>Canonical JSON (fixed property order, no whitespace): what registration records and compares.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("format", FormatVersion);
            w.WriteString("kind", Kind);
            if (Kind == "interval")
            {
                w.WriteNumber("intervalSeconds", (long)Interval!.Value.TotalSeconds);
                if (Anchor is { } anchor)
                {
                    w.WriteString("anchor", anchor.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
                }
            }
            else
            {
                w.WriteString("cron", Expression);
                w.WriteString("timeZone", TimeZone);
            }
            w.WritePropertyName("parameters");
            w.WriteRawValue(ParametersJson);
            if (MissedRuns != MissedRuns.Latest)
            {
                w.WriteString("missedRuns", MissedRuns.ToString());
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote; <see cref="ErrorIds.InvalidSchedule"/> when it is not a schedule.</summary>
    public static Schedule FromJson(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var kind = root.GetProperty("kind").GetString();
            var parameters = root.TryGetProperty("parameters", out var p) ? p.GetRawText() : "{}";
            var schedule = kind switch
            {
                "interval" => new Schedule
                {
                    Kind = "interval",
                    Interval = TimeSpan.FromSeconds(root.GetProperty("intervalSeconds").GetDouble()),
                    Anchor = root.TryGetProperty("anchor", out var a) ? DateTimeOffset.Parse(a.GetString()!, CultureInfo.InvariantCulture) : null,
                },
                "cron" => new Schedule
                {
                    Kind = "cron",
                    Expression = root.GetProperty("cron").GetString(),
                    TimeZone = root.TryGetProperty("timeZone", out var z) ? z.GetString() ?? "UTC" : "UTC",
                },
                _ => throw Invalid($"the kind '{kind}' is not cron or interval"),
            };
            schedule = schedule with
            {
                ParametersJson = ToParametersJson(parameters),
                MissedRuns = root.TryGetProperty("missedRuns", out var m) && Enum.TryParse<MissedRuns>(m.GetString(), out var missed) ? missed : MissedRuns.Latest,
            };
            schedule.Check();
            return schedule;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Invalid($"'{json}' cannot be read: {e.Message}");
        }
    }

    /// <summary>"cron '0 6 * * 1-5' in Europe/Berlin", "every 15m", with the parameters when there are any.</summary>
    public override string ToString()
    {
        var what = Kind == "interval"
            ? $"every {Describe(Interval!.Value)}" + (Anchor is { } a ? $" from {a:yyyy-MM-dd HH:mm:ss}Z" : "")
            : $"cron '{Expression}'" + (TimeZone == "UTC" ? "" : $" in {TimeZone}");
        if (ParametersJson != "{}")
        {
            what += $" with {ParametersJson}";
        }
        if (MissedRuns != MissedRuns.Latest)
        {
            what += $", missed runs: {MissedRuns}";
        }
        return what;
    }

    /// <summary>A schedule's description from its JSON, or the JSON itself when it cannot be read (null: "none").</summary>
    public static string Describe(string? json)
    {
        if (json is null)
        {
            return "none";
        }
        try
        {
            return FromJson(json).ToString();
        }
        catch (FlowstoreException)
        {
            return json;
        }
    }

    private static string Describe(TimeSpan interval)
    {
        if (interval.Ticks % TimeSpan.TicksPerDay == 0) return $"{interval.TotalDays:0}d";
        if (interval.Ticks % TimeSpan.TicksPerHour == 0) return $"{interval.TotalHours:0}h";
        if (interval.Ticks % TimeSpan.TicksPerMinute == 0) return $"{interval.TotalMinutes:0}m";
        return $"{interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
    }

    public bool Equals(Schedule? other) => other is not null && ToJson() == other.ToJson();

    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);

    private static readonly DateTimeOffset DefaultAnchor = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private CronExpression CronExpression => _cron ??= ParseCron(Expression!);

    private TimeZoneInfo Zone => _zone ??= FindZone(TimeZone);

    private void Check()
    {
        if (Kind == "interval")
        {
            if (Interval is not { } interval || interval < TimeSpan.FromSeconds(1))
            {
                throw Invalid($"the interval {Interval} is shorter than one second");
            }
            if (interval.Ticks % TimeSpan.TicksPerSecond != 0)
            {
                throw Invalid($"the interval {interval} is not a whole number of seconds");
            }
            return;
        }
        if (string.IsNullOrWhiteSpace(Expression))
        {
            throw Invalid("the cron expression is empty");
        }
        _cron = ParseCron(Expression);
        _zone = FindZone(TimeZone);
    }

    private static CronExpression ParseCron(string expression)
    {
        var fields = expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        try
        {
            return CronExpression.Parse(expression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw Invalid($"the cron expression '{expression}' is not valid: {e.Message}", e);
        }
    }

    private static TimeZoneInfo FindZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw Invalid($"the time zone '{id}' is not known on this machine (use an IANA id such as 'Europe/Zurich')", e);
        }
    }

    /// <summary>Canonical JSON object of parameter values: names sorted, values as JSON writes them.</summary>
    private static string ToParametersJson(object? parameters)
    {
        if (parameters is null)
        {
            return "{}";
        }
        JsonElement root;
        try
        {
            var json = parameters as string ?? JsonSerializer.Serialize(parameters, parameters.GetType());
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw Invalid($"its parameters cannot be written as JSON: {e.Message}", e);
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("its parameters are not an object of names and values (give an anonymous object or a dictionary)");
        }
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            foreach (var property in root.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                w.WritePropertyName(property.Name);
                property.Value.WriteTo(w);
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static FlowstoreException Invalid(string problem, Exception? inner = null)
        => new(ErrorIds.InvalidSchedule, FlowErrorKind.InvalidArgument, $"The schedule is not valid: {problem}.", inner);
}
