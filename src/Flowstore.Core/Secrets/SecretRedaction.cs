namespace Flowstore;

/// <summary>
/// A last line of defence: every secret value this process has resolved, so error messages and run records
/// can be blanked of them even when a storage service or library echoes a credential back. Values are kept
/// in memory only (where they already are) and never written anywhere.
/// <para>
/// A value of <see cref="SubstringMinimumLength"/> characters or more is masked wherever it appears. A shorter
/// one would blank ordinary text that happens to contain it (a secret <c>nope</c> in the path <c>flows/nope.cs</c>),
/// so it is masked only where it stands alone: the whole text of a field, or a word of its own, between the
/// start or end of the text, white space, quotes, brackets, <c>=</c>, <c>:</c>, <c>,</c>, <c>;</c>, <c>&amp;</c>,
/// <c>@</c>, or a full stop that ends a sentence; never inside a path, a file name or a longer word.
/// </para>
/// </summary>
public static class SecretRedaction
{
    /// <summary>What a secret value is replaced with.</summary>
    public const string Mask = "***";

    /// <summary>Values at least this long are masked wherever they appear, also inside other text.</summary>
    public const int SubstringMinimumLength = 8;

    /// <summary>
    /// Values shorter than this (one or two characters) are masked only where they are a field's whole text: as a
    /// word of their own they would blank every "a" or "1" of a message.
    /// </summary>
    public const int WordMinimumLength = 3;

    private static readonly HashSet<string> Values = new(StringComparer.Ordinal);

    /// <summary>Remembers a value handed out by a secret resolver.</summary>
    public static void Add(string value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }
        lock (Values)
        {
            Values.Add(value);
        }
    }

    /// <summary>The text with every remembered secret value masked (see the class's rules).</summary>
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
        return Redact(text, values);
    }

    /// <summary>The text with each of <paramref name="values"/> (longest first) masked by the class's rules.</summary>
    public static string Redact(string text, IEnumerable<string> values)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }
        foreach (var value in values.Where(v => !string.IsNullOrEmpty(v)).Distinct(StringComparer.Ordinal).OrderByDescending(v => v.Length))
        {
            if (string.Equals(text.Trim(), value, StringComparison.Ordinal))
            {
                return Mask;
            }
            if (value.Length >= SubstringMinimumLength)
            {
                text = text.Replace(value, Mask, StringComparison.Ordinal);
            }
            else if (value.Length >= WordMinimumLength)
            {
                text = MaskWords(text, value);
            }
        }
        return text;
    }

    /// <summary>True when the text holds a remembered secret value where <see cref="Redact(string)"/> masks it.</summary>
    public static bool Contains(string text)
        => !string.IsNullOrEmpty(text) && !string.Equals(Redact(text), text, StringComparison.Ordinal);

    /// <summary>Masks the occurrences of a short value that stand alone (a word of their own).</summary>
    private static string MaskWords(string text, string value)
    {
        var result = new System.Text.StringBuilder(text.Length);
        var start = 0;
        while (start <= text.Length - value.Length)
        {
            var at = text.IndexOf(value, start, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }
            var end = at + value.Length;
            if (OpensWord(text, at) && ClosesWord(text, end))
            {
                result.Append(text, start, at - start).Append(Mask);
            }
            else
            {
                result.Append(text, start, end - start);
            }
            start = end;
        }
        return result.Append(text, start, text.Length - start).ToString();
    }

    private static bool OpensWord(string text, int at)
        => at == 0 || char.IsWhiteSpace(text[at - 1]) || "'\"`=:([{<,;|".Contains(text[at - 1], StringComparison.Ordinal);

    private static bool ClosesWord(string text, int end)
    {
        if (end == text.Length || char.IsWhiteSpace(text[end]) || "'\"`)]}>,;|&@".Contains(text[end], StringComparison.Ordinal))
        {
            return true;
        }
        // A full stop (or : ! ?) ends the word only where the sentence ends: "flows/nope.cs" keeps its file name.
        return ".:!?".Contains(text[end], StringComparison.Ordinal) && (end + 1 == text.Length || char.IsWhiteSpace(text[end + 1]));
    }
}
