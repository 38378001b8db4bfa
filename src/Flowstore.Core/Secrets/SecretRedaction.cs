namespace Flowstore;

/// <summary>
/// A last line of defence: every secret value this process has resolved, so error messages and run records
/// can be blanked of them even when a storage service or library echoes a credential back. Values are kept
/// in memory only (where they already are) and never written anywhere.
/// </summary>
public static class SecretRedaction
{
    /// <summary>What a secret value is replaced with.</summary>
    public const string Mask = "***";

    // Very short values would blank ordinary words; secrets that short are not worth the damage.
    private const int MinimumLength = 4;

    private static readonly HashSet<string> Values = new(StringComparer.Ordinal);

    /// <summary>Remembers a value handed out by a secret resolver.</summary>
    public static void Add(string value)
    {
        if (value.Length < MinimumLength)
        {
            return;
        }
        lock (Values)
        {
            Values.Add(value);
        }
    }

    /// <summary>The text with every remembered secret value (longest first) replaced by <see cref="Mask"/>.</summary>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }
        string[] values;
        lock (Values)
        {
            if (Values.Count == 0)
            {
                return text;
            }
            values = Values.ToArray();
        }
        foreach (var value in values.OrderByDescending(v => v.Length))
        {
            text = text.Replace(value, Mask, StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary>True when the text holds a remembered secret value.</summary>
    public static bool Contains(string text)
    {
        lock (Values)
        {
            return Values.Count > 0 && !string.IsNullOrEmpty(text) && Values.Any(v => text.Contains(v, StringComparison.Ordinal));
        }
    }
}
