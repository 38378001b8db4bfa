using System.Text;
using System.Text.Json.Nodes;

namespace Flowstore;

/// <summary>
/// What changed between the storage a flow version was registered with and the one a new registration resolves,
/// in words a user can check: which setting, old value and new value. Two descriptions (<c>ToString</c>) can read the
/// same while the storage differs (e.g. the same key holding another upload), so this never prints "X -> X".
/// </summary>
public static class StorageChange
{
    /// <summary>
    /// "Local script /a.cs -> S3 script s3://b/k" when the type changed; otherwise "S3 script s3://b/k: Key a -> b;
    /// uploaded sha256 0123 -> 4567": the user settings that differ, then the bookkeeping saved with the registration.
    /// Null when nothing saved with the settings differs.
    /// </summary>
    public static string? Describe(StorageSettings before, StorageSettings after)
    {
        if (!string.Equals(before.Type, after.Type, StringComparison.OrdinalIgnoreCase))
        {
            return $"{before} -> {after}";
        }
        var changes = Changes(before, after);
        return changes.Count == 0 ? null : $"{after}: {string.Join("; ", changes)}";
    }

    /// <summary>Each differing setting as "Name old -> new" (settings first, in declaration order, then bookkeeping).</summary>
    public static IReadOnlyList<string> Changes(StorageSettings before, StorageSettings after)
    {
        var changes = new List<string>();
        var settings = StorageSettingInfo.Of(after.GetType());
        if (before.GetType() == after.GetType())
        {
            foreach (var setting in settings)
            {
                var was = setting.Display(before);
                var now = setting.Display(after);
                if (!string.Equals(was, now, StringComparison.Ordinal))
                {
                    changes.Add($"{setting.Name} {Show(was)} -> {Show(now)}");
                }
            }
        }

        // What is saved besides the settings (generated keys, digests of uploads): compared as saved.
        var old = JsonNode.Parse(before.ToJson())!.AsObject();
        var @new = JsonNode.Parse(after.ToJson())!.AsObject();
        var shown = settings.Select(s => s.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var key in old.Select(p => p.Key).Union(@new.Select(p => p.Key)).Where(k => k != "type" && !shown.Contains(k)))
        {
            var was = Text(old[key]);
            var now = Text(@new[key]);
            if (!string.Equals(was, now, StringComparison.Ordinal))
            {
                changes.Add($"{Words(key)} {Show(was)} -> {Show(now)}");
            }
        }
        return changes;
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static string Show(string value) => value.Length == 0 ? "(none)" : value;

    // "uploadedSha256" -> "uploaded sha256", "autoKeyPrefix" -> "auto key prefix".
    private static string Words(string camel)
    {
        var text = new StringBuilder();
        foreach (var c in camel)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append(' ');
            }
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }
}
