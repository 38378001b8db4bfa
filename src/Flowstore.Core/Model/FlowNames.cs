using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Flowstore;

/// <summary>
/// Names of flows, tasks, parameters, projects and labels: what a valid name is, the slug made of it, the ASCII form
/// used for file names, object keys and image names, and how a name is shown in a message.
/// </summary>
/// <remarks>
/// A name may use the letters and digits of any script ("フロー", "задача", "get_data"). The slug keeps those letters
/// and digits (lower-cased), and every run of other characters becomes one '-'. Where a slug must be ASCII (a file
/// name, an S3 or GCS key, a Docker image name), <see cref="ToAsciiSlug"/> encodes it with Punycode (RFC 3492, as
/// internationalised domain names are), behind the prefix "xn--" that no plain slug can have: two different slugs
/// never share an ASCII form.
/// </remarks>
public static class FlowNames
{
    /// <summary>ASCII slugs longer than this are shortened to a prefix and a hash (file names have limits).</summary>
    public const int MaxAsciiSlugLength = 100;

    private const string EncodedPrefix = "xn--";
    private const string HashedMarker = "--h";

    /// <summary>
    /// Lower-case letters and digits of any script, with every run of other characters made one '-': 'Get Data' →
    /// 'get-data', 'Задача 1' → 'задача-1'. Empty when the name has no letter or digit.
    /// </summary>
    public static string Slugify(string name)
    {
        var text = name.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();
        var slug = new StringBuilder(text.Length);
        var pendingDash = false;
        foreach (var rune in text.EnumerateRunes())
        {
            var keep = Rune.GetUnicodeCategory(rune) switch
            {
                UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                    or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                    or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
                // Vowel signs and accents belong to the letter before them (Devanagari, Thai, decomposed Latin).
                UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => slug.Length > 0 && !pendingDash,
                _ => false,
            };
            if (!keep)
            {
                pendingDash = slug.Length > 0;
                continue;
            }
            if (pendingDash)
            {
                slug.Append('-');
                pendingDash = false;
            }
            slug.Append(rune.ToString());
        }
        return slug.ToString();
    }

    /// <summary>
    /// The ASCII form of a slug for file names, object keys and image names: a slug of [a-z0-9-] as it is, any other
    /// slug as "xn--" + its Punycode. Names Windows reserves for devices ('con', 'nul', 'com1', ...) are encoded too,
    /// and a form longer than <see cref="MaxAsciiSlugLength"/> is shortened to a prefix, "--h" and a SHA-256 prefix.
    /// Different slugs never share an ASCII form (plain slugs have no "--"; shortened ones are longer than any other).
    /// </summary>
    public static string ToAsciiSlug(string slug)
    {
        var ascii = IsPlain(slug) && !IsWindowsDeviceName(slug) ? slug : EncodedPrefix + Punycode(slug);
        if (ascii.Length <= MaxAsciiSlugLength)
        {
            return ascii;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(slug)))[..16];
        // One character longer than the limit, so that a shortened form can never equal a form that was not shortened.
        var keep = MaxAsciiSlugLength + 1 - HashedMarker.Length - hash.Length;
        return ascii[..keep] + HashedMarker + hash;
    }

    /// <summary>
    /// Why a flow, task or parameter name is not valid, or null when it is. A name is visible text with at least one
    /// letter or digit (of any script); control characters (NUL, BEL, newline, ESC, ...) are refused.
    /// </summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "is empty";
        }
        if (FirstUnsafe(name) is { } c)
        {
            return $"contains the control character U+{(int)c:X4}; a name is visible text";
        }
        if (Slugify(name).Length == 0)
        {
            return "has no letter or digit; a name needs at least one (of any script, e.g. 'get_data', 'フロー', 'задача')";
        }
        return null;
    }

    /// <summary>Why a label is not valid, or null when it is: a label holds no control characters.</summary>
    public static string? LabelProblem(string? label)
        => label is not null && FirstUnsafe(label) is { } c ? $"contains the control character U+{(int)c:X4}; it must be visible text" : null;

    /// <summary>Why a project, flow or secret name is not valid, or null when it is: visible text, not empty.</summary>
    public static string? VisibleNameProblem(string? name)
        => string.IsNullOrWhiteSpace(name) ? "is empty" : LabelProblem(name);

    /// <summary>
    /// The text as it may appear inside a message: every control character (and the bidirectional overrides that
    /// reorder what a terminal shows) written as \uXXXX, so a message never carries a raw one to a terminal.
    /// </summary>
    public static string Printable(string? text) => EscapeWhere(text, IsUnsafe);

    /// <summary>
    /// A whole message made safe for a terminal: like <see cref="Printable"/>, but line breaks and tabs, which
    /// messages use for layout, are kept (a Windows line break as '\n').
    /// </summary>
    public static string PrintableMessage(string? text)
        => EscapeWhere(text?.Replace("\r\n", "\n", StringComparison.Ordinal), c => c is not ('\n' or '\t') && IsUnsafe(c));

    /// <summary>Control characters, line and paragraph separators, and bidirectional embedding/override/isolate characters.</summary>
    public static bool IsUnsafe(char c)
        => char.IsControl(c) || c is '\u2028' or '\u2029' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private static char? FirstUnsafe(string text)
    {
        foreach (var c in text)
        {
            if (IsUnsafe(c))
            {
                return c;
            }
        }
        return null;
    }

    private static string EscapeWhere(string? text, Func<char, bool> escape)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(escape))
        {
            return text ?? "";
        }
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (escape(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    private static bool IsPlain(string slug)
        => slug.Length > 0 && slug.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') && !slug.Contains("--", StringComparison.Ordinal);

    private static bool IsWindowsDeviceName(string slug)
        => slug is "con" or "prn" or "aux" or "nul"
            || (slug.Length == 4 && (slug.StartsWith("com", StringComparison.Ordinal) || slug.StartsWith("lpt", StringComparison.Ordinal)) && slug[3] is >= '1' and <= '9');

    // RFC 3492 Punycode encoding (the algorithm behind IDNA's "xn--" labels), without IDNA's mapping or length rules.
    private const int Base = 36, TMin = 1, TMax = 26, Skew = 38, Damp = 700, InitialBias = 72, InitialN = 128;

    internal static string Punycode(string input)
    {
        var codePoints = input.EnumerateRunes().Select(r => r.Value).ToArray();
        var output = new StringBuilder();
        foreach (var cp in codePoints.Where(cp => cp < InitialN))
        {
            output.Append((char)cp);
        }
        var basic = output.Length;
        var handled = basic;
        if (basic > 0)
        {
            output.Append('-');
        }
        long n = InitialN, delta = 0;
        var bias = InitialBias;
        while (handled < codePoints.Length)
        {
            var m = codePoints.Where(cp => cp >= n).Min();
            delta += (m - n) * (handled + 1);
            n = m;
            foreach (var cp in codePoints)
            {
                if (cp < n)
                {
                    delta++;
                }
                if (cp != n)
                {
                    continue;
                }
                var q = delta;
                for (var k = Base; ; k += Base)
                {
                    var t = k <= bias ? TMin : k >= bias + TMax ? TMax : k - bias;
                    if (q < t)
                    {
                        break;
                    }
                    output.Append(Digit((int)(t + (q - t) % (Base - t))));
                    q = (q - t) / (Base - t);
                }
                output.Append(Digit((int)q));
                bias = Adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled++;
            }
            delta++;
            n++;
        }
        return output.ToString();
    }

    private static char Digit(int d) => (char)(d < 26 ? 'a' + d : '0' + d - 26);

    private static int Adapt(long delta, int points, bool first)
    {
        delta = first ? delta / Damp : delta / 2;
        delta += delta / points;
        var k = 0;
        while (delta > (Base - TMin) * TMax / 2)
        {
            delta /= Base - TMin;
            k += Base;
        }
        return (int)(k + (Base - TMin + 1) * delta / (delta + Skew));
    }
}
