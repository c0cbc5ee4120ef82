using System.Text;
using System.Text.RegularExpressions;

namespace Samsa.Broker.Security.Ssl;

/// <summary>
/// Kafka's <c>SslPrincipalMapper</c>: <c>ssl.principal.mapping.rules</c>, a comma-separated list of
/// <c>RULE:pattern/replacement/[LU]</c> and <c>DEFAULT</c>, applied in order to a client certificate's subject
/// (RFC 2253 form); the first rule whose pattern matches the whole name gives the principal name, DEFAULT keeps it.
/// </summary>
public sealed class SslPrincipalMapper
{
    private readonly IReadOnlyList<Rule> _rules;

    private SslPrincipalMapper(IReadOnlyList<Rule> rules) => _rules = rules;

    public static readonly SslPrincipalMapper Default = new([Rule.DefaultRule]);

    private sealed record Rule(Regex? Pattern, string Replacement, bool ToLower, bool ToUpper)
    {
        public static readonly Rule DefaultRule = new(null, "", false, false);
    }

    /// <summary>Parses the rules; a malformed list is a configuration error, as in Kafka.</summary>
    public static SslPrincipalMapper Parse(string? rules)
    {
        if (string.IsNullOrWhiteSpace(rules))
        {
            return Default;
        }
        var parsed = new List<Rule>();
        var i = 0;
        while (i < rules.Length)
        {
            while (i < rules.Length && (char.IsWhiteSpace(rules[i]) || rules[i] == ','))
            {
                i++;
            }
            if (i >= rules.Length)
            {
                break;
            }
            if (string.CompareOrdinal(rules, i, "DEFAULT", 0, 7) == 0)
            {
                parsed.Add(Rule.DefaultRule);
                i += 7;
                continue;
            }
            if (string.CompareOrdinal(rules, i, "RULE:", 0, 5) != 0)
            {
                throw new ArgumentException($"Invalid rule: {rules[i..]}");
            }
            i += 5;
            var pattern = ReadUntilSlash(rules, ref i);
            var replacement = ReadUntilSlash(rules, ref i);
            bool lower = false, upper = false;
            if (i < rules.Length && (rules[i] == 'L' || rules[i] == 'U'))
            {
                lower = rules[i] == 'L';
                upper = rules[i] == 'U';
                i++;
            }
            parsed.Add(new Rule(new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant), replacement, lower, upper));
        }
        return new SslPrincipalMapper(parsed);
    }

    private static string ReadUntilSlash(string rules, ref int i)
    {
        var text = new StringBuilder();
        while (i < rules.Length && rules[i] != '/')
        {
            if (rules[i] == '\\' && i + 1 < rules.Length)
            {
                text.Append(rules[i]);
                i++;
            }
            text.Append(rules[i]);
            i++;
        }
        if (i >= rules.Length)
        {
            throw new ArgumentException($"Invalid rule: missing '/' in {rules}");
        }
        i++;
        return text.ToString();
    }

    /// <summary>The principal name for <paramref name="distinguishedName"/>; throws when no rule applies (Kafka refuses such a client).</summary>
    public string GetName(string distinguishedName)
    {
        foreach (var rule in _rules)
        {
            if (rule.Pattern is null)
            {
                return distinguishedName;
            }
            if (rule.Pattern.IsMatch(distinguishedName))
            {
                var name = rule.Pattern.Replace(distinguishedName, rule.Replacement);
                return rule.ToLower ? name.ToLowerInvariant() : rule.ToUpper ? name.ToUpperInvariant() : name;
            }
        }
        throw new ArgumentException($"No rules apply to {distinguishedName}, rules {string.Join(",", _rules)}");
    }
}
