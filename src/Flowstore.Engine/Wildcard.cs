using System.Text;
using System.Text.RegularExpressions;

namespace Flowstore.Engine;

/// <summary>
/// Name patterns as PowerShell users write them, case-insensitive: <c>*</c> any run of characters, <c>?</c> one
/// character, <c>[abc]</c> / <c>[a-z]</c> one of a set, a backtick makes the next character literal.
/// </summary>
public sealed class Wildcard
{
    private readonly Regex _regex;

    private Wildcard(string pattern, Regex regex)
    {
        Pattern = pattern;
        _regex = regex;
    }

    public string Pattern { get; }

    /// <summary>True when the pattern has an unescaped <c>*</c>, <c>?</c>, <c>[</c> or <c>]</c>: it matches by pattern, not by name.</summary>
    public static bool HasWildcards(string pattern)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '`':
                    i++;
                    break;
                case '*' or '?' or '[' or ']':
                    return true;
            }
        }
        return false;
    }

    public static Wildcard Parse(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length)
            {
                regex.Append(Regex.Escape(pattern[++i].ToString()));
            }
            else if (c == '*')
            {
                regex.Append(".*");
            }
            else if (c == '?')
            {
                regex.Append('.');
            }
            else if (c == '[' && pattern.IndexOf(']', i + 1) is var end and > 0)
            {
                regex.Append('[');
                foreach (var member in pattern.AsSpan(i + 1, end - i - 1))
                {
                    regex.Append(member == '-' ? "-" : Regex.Escape(member.ToString()).Replace("]", "\\]"));
                }
                regex.Append(']');
                i = end;
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }
        regex.Append('$');
        return new Wildcard(pattern, new Regex(regex.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline));
    }

    public bool IsMatch(string name) => _regex.IsMatch(name);
}
