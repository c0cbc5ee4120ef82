using System.Text;

namespace Samsa.Broker.Security.Sasl.OAuthBearer;

/// <summary>
/// The client's first (and only) OAUTHBEARER message, RFC 7628 section 3.1 as Kafka's
/// <c>OAuthBearerClientInitialResponse</c> reads it: a GS2 header <c>n,[a=authzid],</c> then <c>\x01</c>, then
/// <c>key=value\x01</c> pairs, then a final <c>\x01</c>. The <c>auth</c> pair is <c>Bearer &lt;token&gt;</c>; every
/// other pair is a SASL extension (KIP-342): keys <c>[A-Za-z]+</c>, values of printable ASCII, space, tab, CR and LF.
/// The authzid is taken as sent (Kafka does not decode its <c>=2C</c> / <c>=3D</c> escapes either).
/// </summary>
public sealed record OAuthBearerClientInitialResponse(string TokenValue, string AuthorizationId, IReadOnlyDictionary<string, string> Extensions)
{
    private const char Separator = '\u0001';
    public const string AuthKey = "auth";
    private const string InvalidMessage = "Invalid OAUTHBEARER client first message";

    /// <summary>Parses <paramref name="response"/>; throws <see cref="SaslAuthenticationException"/> with Kafka's message when malformed.</summary>
    public static OAuthBearerClientInitialResponse Parse(ReadOnlySpan<byte> response)
    {
        // Every legal byte is ASCII; anything else fails the grammar below.
        foreach (var b in response)
        {
            if (b > 0x7F)
            {
                throw new SaslAuthenticationException(InvalidMessage);
            }
        }
        var text = Encoding.ASCII.GetString(response);
        if (!text.StartsWith("n,", StringComparison.Ordinal))
        {
            throw new SaslAuthenticationException(InvalidMessage);
        }
        var comma = text.IndexOf(',', 2);
        if (comma < 0)
        {
            throw new SaslAuthenticationException(InvalidMessage);
        }
        var authzid = text[2..comma];
        if (authzid.Length > 0)
        {
            authzid = authzid.StartsWith("a=", StringComparison.Ordinal) && IsSaslName(authzid.AsSpan(2)) ? authzid[2..] : throw new SaslAuthenticationException(InvalidMessage);
        }
        // After the header: \x01, pairs each ending in \x01, and one more \x01.
        var rest = text.AsSpan(comma + 1);
        if (rest.Length < 2 || rest[0] != Separator || rest[^1] != Separator)
        {
            throw new SaslAuthenticationException(InvalidMessage);
        }
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        var pairs = rest[1..^1];
        while (!pairs.IsEmpty)
        {
            var end = pairs.IndexOf(Separator);
            var equals = pairs.IndexOf('=');
            if (end < 0 || equals <= 0 || equals > end || !IsKey(pairs[..equals]) || !IsValue(pairs[(equals + 1)..end]))
            {
                throw new SaslAuthenticationException(InvalidMessage);
            }
            properties[pairs[..equals].ToString()] = pairs[(equals + 1)..end].ToString();
            pairs = pairs[(end + 1)..];
        }
        if (!properties.Remove(AuthKey, out var auth))
        {
            throw new SaslAuthenticationException($"{InvalidMessage}: 'auth' not specified");
        }
        return new OAuthBearerClientInitialResponse(BearerToken(auth), authzid, properties);
    }

    /// <summary>The client's message for <paramref name="token"/> (what Kafka's and librdkafka's clients send).</summary>
    public static byte[] Format(string token, string authorizationId = "", IReadOnlyDictionary<string, string>? extensions = null)
    {
        var text = new StringBuilder("n,");
        text.Append(authorizationId.Length > 0 ? "a=" + authorizationId : "").Append(',').Append(Separator);
        text.Append(AuthKey).Append("=Bearer ").Append(token).Append(Separator);
        foreach (var (key, value) in extensions ?? new Dictionary<string, string>())
        {
            text.Append(key).Append('=').Append(value).Append(Separator);
        }
        return Encoding.ASCII.GetBytes(text.Append(Separator).ToString());
    }

    /// <summary><c>scheme SP+ token</c>: scheme word characters, Bearer in any case; token of Base64URL and dots.</summary>
    private static string BearerToken(string auth)
    {
        var space = auth.IndexOf(' ');
        var scheme = space > 0 ? auth[..space] : "";
        var token = space > 0 ? auth[space..].TrimStart(' ') : "";
        if (scheme.Length == 0 || !scheme.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            || token.Length == 0 || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new SaslAuthenticationException($"{InvalidMessage}: invalid 'auth' format");
        }
        return scheme.Equals("bearer", StringComparison.OrdinalIgnoreCase)
            ? token
            : throw new SaslAuthenticationException($"Invalid scheme in OAUTHBEARER client first message: {scheme}");
    }

    // RFC 5801's saslname: UTF8 without '=' and ',' except as the escapes =2C and =3D (ASCII only, as Kafka).
    private static bool IsSaslName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] == '=')
            {
                if (!name[i..].StartsWith("=2C", StringComparison.Ordinal) && !name[i..].StartsWith("=3D", StringComparison.Ordinal))
                {
                    return false;
                }
                i += 2;
            }
            else if (name[i] is '\0' or ',')
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsKey(ReadOnlySpan<char> key)
    {
        foreach (var c in key)
        {
            if (!char.IsAsciiLetter(c))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsValue(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }
        foreach (var c in value)
        {
            if (c is not ((>= '\x21' and <= '\x7E') or ' ' or '\t' or '\r' or '\n'))
            {
                return false;
            }
        }
        return true;
    }
}
