using System.Globalization;
using System.Text;

namespace Samsa.Broker.Config;

/// <summary>
/// Reads and writes the <c>java.util.Properties</c> text format that <c>server.properties</c> and
/// <c>meta.properties</c> use: <c>#</c>/<c>!</c> comment lines, <c>key=value</c>, <c>key: value</c> or
/// <c>key value</c>, backslash escapes (<c>\t \n \r \f \uXXXX</c>, any other escaped character stands for
/// itself), and lines continued by an odd number of trailing backslashes. Kept apart from the options types
/// so the format has one home.
/// </summary>
public static class JavaProperties
{
    /// <summary>Parses properties text. Entries keep file order; a repeated key keeps its last value, as Java does.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text)
    {
        var entries = new List<KeyValuePair<string, string>>();
        var indexByKey = new Dictionary<string, int>(StringComparer.Ordinal);
        var position = 0;
        var lineNumber = 0;
        while (position < text.Length)
        {
            var logical = ReadLogicalLine(text, ref position, ref lineNumber, out var startLine);
            if (logical is null)
            {
                continue;
            }
            var (key, value) = SplitKeyValue(logical, startLine);
            if (indexByKey.TryGetValue(key, out var index))
            {
                entries[index] = new(key, value);
            }
            else
            {
                indexByKey[key] = entries.Count;
                entries.Add(new(key, value));
            }
        }
        return entries;
    }

    /// <summary>Reads and parses a file as UTF-8 (a superset of the ASCII that properties files hold in practice).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ReadFile(string path) => Parse(File.ReadAllText(path, Encoding.UTF8));

    /// <summary>
    /// Returns one logical line with comments and blank lines dropped and continuations joined (escapes still in
    /// place), or null for a line that holds nothing.
    /// </summary>
    private static string? ReadLogicalLine(string text, ref int position, ref int lineNumber, out int startLine)
    {
        var builder = new StringBuilder();
        var first = true;
        startLine = lineNumber + 1;
        while (position < text.Length)
        {
            var end = position;
            while (end < text.Length && text[end] != '\n' && text[end] != '\r')
            {
                end++;
            }
            var natural = text.AsSpan(position, end - position);
            // A line ends at \n, \r or \r\n.
            position = end < text.Length && text[end] == '\r' && end + 1 < text.Length && text[end + 1] == '\n' ? end + 2 : end + 1;
            lineNumber++;

            var trimmed = natural.TrimStart(" \t\f");
            if (first)
            {
                if (trimmed.IsEmpty || trimmed[0] == '#' || trimmed[0] == '!')
                {
                    return null;
                }
            }
            first = false;

            var trailingBackslashes = 0;
            for (var i = trimmed.Length - 1; i >= 0 && trimmed[i] == '\\'; i--)
            {
                trailingBackslashes++;
            }
            if (trailingBackslashes % 2 == 1)
            {
                builder.Append(trimmed[..^1]);
                continue;
            }
            builder.Append(trimmed);
            break;
        }
        return builder.ToString();
    }

    private static (string Key, string Value) SplitKeyValue(string line, int lineNumber)
    {
        var keyEnd = 0;
        var valueStart = line.Length;
        var hasSeparator = false;
        while (keyEnd < line.Length)
        {
            var c = line[keyEnd];
            if (c == '\\')
            {
                keyEnd += 2;
                continue;
            }
            if (c is '=' or ':')
            {
                valueStart = keyEnd + 1;
                hasSeparator = true;
                break;
            }
            if (c is ' ' or '\t' or '\f')
            {
                valueStart = keyEnd + 1;
                break;
            }
            keyEnd++;
        }
        keyEnd = Math.Min(keyEnd, line.Length);
        // After the key: whitespace, then at most one '=' or ':' (if the key ended at whitespace), then whitespace.
        while (valueStart < line.Length && line[valueStart] is ' ' or '\t' or '\f')
        {
            valueStart++;
        }
        if (!hasSeparator && valueStart < line.Length && line[valueStart] is '=' or ':')
        {
            valueStart++;
            while (valueStart < line.Length && line[valueStart] is ' ' or '\t' or '\f')
            {
                valueStart++;
            }
        }
        var key = Unescape(line.AsSpan(0, keyEnd), lineNumber);
        var value = valueStart < line.Length ? Unescape(line.AsSpan(valueStart), lineNumber) : string.Empty;
        return (key, value);
    }

    private static string Unescape(ReadOnlySpan<char> raw, int lineNumber)
    {
        if (!raw.Contains('\\'))
        {
            return raw.ToString();
        }
        var builder = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c != '\\' || i + 1 >= raw.Length)
            {
                // A lone trailing backslash (only possible at the very end of input) is dropped, as Java does.
                if (c != '\\')
                {
                    builder.Append(c);
                }
                continue;
            }
            var next = raw[++i];
            switch (next)
            {
                case 't': builder.Append('\t'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 'f': builder.Append('\f'); break;
                case 'u':
                    if (i + 4 >= raw.Length
                        || !ushort.TryParse(raw.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new ConfigException($"Malformed \\uxxxx escape on line {lineNumber}");
                    }
                    builder.Append((char)code);
                    i += 4;
                    break;
                default: builder.Append(next); break;
            }
        }
        return builder.ToString();
    }

    /// <summary>
    /// Writes entries as <c>Properties.store</c> does: a <c>#</c> line per comment line, a <c>#</c> timestamp line
    /// in Java's <c>Date.toString()</c> form, then <c>key=value</c> lines with separators, comment characters and
    /// leading spaces escaped.
    /// </summary>
    public static string Write(IEnumerable<KeyValuePair<string, string>> entries, string? comment, DateTimeOffset timestamp)
    {
        var builder = new StringBuilder();
        if (comment is not null)
        {
            foreach (var line in comment.Split('\n'))
            {
                builder.Append('#').Append(line).Append('\n');
            }
        }
        builder.Append('#').Append(JavaDateString(timestamp)).Append('\n');
        foreach (var (key, value) in entries)
        {
            Escape(builder, key, isKey: true);
            builder.Append('=');
            Escape(builder, value, isKey: false);
            builder.Append('\n');
        }
        return builder.ToString();
    }

    /// <summary>Java's <c>Date.toString()</c>: <c>EEE MMM dd HH:mm:ss zzz yyyy</c>, here always in UTC.</summary>
    public static string JavaDateString(DateTimeOffset timestamp) =>
        timestamp.UtcDateTime.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture);

    private static void Escape(StringBuilder builder, string text, bool isKey)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case ' ' when i == 0 || isKey: builder.Append("\\ "); break;
                case '\t': builder.Append("\\t"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\f': builder.Append("\\f"); break;
                case '=' or ':' or '#' or '!' or '\\': builder.Append('\\').Append(c); break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }
                    break;
            }
        }
    }
}
