using System.Text;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The four SCRAM messages of RFC 5802 section 7 (Kafka's <c>ScramMessages</c>), parsed strictly: attributes in the
/// RFC's order, printable nonces without ',', base64 where the RFC says so. A malformed message throws
/// <see cref="FormatException"/>, which the server and client turn into their authentication failure.
/// </summary>
public static class ScramMessages
{
    /// <summary>
    /// client-first-message = gs2-header client-first-message-bare, gs2-header = "n," ["a=" saslname] ",". Only "n"
    /// (no channel binding) is accepted, as Kafka's SCRAM does; "y" and "p=" are refused. A mandatory extension
    /// (<c>m=</c>) is refused; optional extensions after the nonce are kept (Kafka's <c>tokenauth</c>).
    /// </summary>
    public sealed record ClientFirst(string AuthorizationId, string SaslName, string Nonce, IReadOnlyDictionary<string, string> Extensions, string Gs2Header, string Bare)
    {
        public string UserName => DecodeSaslName(SaslName);

        public static ClientFirst Parse(string text)
        {
            if (!text.StartsWith("n,", StringComparison.Ordinal))
            {
                throw new FormatException("Invalid SCRAM client first message: channel binding is not supported, the gs2 header must start with 'n,'");
            }
            var headerEnd = text.IndexOf(',', 2);
            if (headerEnd < 0)
            {
                throw new FormatException("Invalid SCRAM client first message: no gs2 header");
            }
            var authzid = text[2..headerEnd];
            if (authzid.Length > 0)
            {
                authzid = authzid.StartsWith("a=", StringComparison.Ordinal)
                    ? DecodeSaslName(authzid[2..])
                    : throw new FormatException("Invalid SCRAM client first message: bad authorization id");
            }
            var bare = text[(headerEnd + 1)..];
            var parts = bare.Split(',');
            if (parts.Length < 2 || !parts[0].StartsWith("n=", StringComparison.Ordinal) || !parts[1].StartsWith("r=", StringComparison.Ordinal))
            {
                throw new FormatException("Invalid SCRAM client first message: expected n=<user>,r=<nonce>");
            }
            var saslName = parts[0][2..];
            DecodeSaslName(saslName);
            var nonce = CheckNonce(parts[1][2..]);
            return new ClientFirst(authzid, saslName, nonce, ParseExtensions(parts.AsSpan(2)), text[..(headerEnd + 1)], bare);
        }

        public string ToMessage() => Gs2Header + Bare;

        public static ClientFirst Create(string user, string nonce, IReadOnlyDictionary<string, string>? extensions = null)
        {
            var bare = new StringBuilder($"n={EncodeSaslName(user)},r={nonce}");
            foreach (var (key, value) in extensions ?? new Dictionary<string, string>())
            {
                bare.Append(',').Append(key).Append('=').Append(value);
            }
            return new ClientFirst("", EncodeSaslName(user), nonce, extensions ?? new Dictionary<string, string>(), "n,,", bare.ToString());
        }
    }

    /// <summary>server-first-message = "r=" c-nonce s-nonce ",s=" salt ",i=" iteration-count.</summary>
    public sealed record ServerFirst(string Nonce, byte[] Salt, int Iterations)
    {
        public string ToMessage() => $"r={Nonce},s={Convert.ToBase64String(Salt)},i={Iterations}";

        public static ServerFirst Parse(string text)
        {
            var parts = text.Split(',');
            if (parts.Length < 3 || !parts[0].StartsWith("r=", StringComparison.Ordinal) || !parts[1].StartsWith("s=", StringComparison.Ordinal)
                || !parts[2].StartsWith("i=", StringComparison.Ordinal))
            {
                throw new FormatException("Invalid SCRAM server first message: expected r=<nonce>,s=<salt>,i=<iterations>");
            }
            if (!int.TryParse(parts[2][2..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var iterations))
            {
                throw new FormatException("Invalid SCRAM server first message: bad iteration count");
            }
            return new ServerFirst(CheckNonce(parts[0][2..]), Base64(parts[1][2..]), iterations);
        }
    }

    /// <summary>client-final-message = "c=" base64(gs2-header) ",r=" nonce ["," extensions] ",p=" proof.</summary>
    public sealed record ClientFinal(string ChannelBinding, string Nonce, byte[] Proof, string WithoutProof)
    {
        public string ToMessage() => $"{WithoutProof},p={Convert.ToBase64String(Proof)}";

        public static string WithoutProofOf(string gs2Header, string nonce) =>
            $"c={Convert.ToBase64String(Encoding.UTF8.GetBytes(gs2Header))},r={nonce}";

        public static ClientFinal Parse(string text)
        {
            var proofAt = text.LastIndexOf(",p=", StringComparison.Ordinal);
            if (proofAt < 0)
            {
                throw new FormatException("Invalid SCRAM client final message: no proof");
            }
            var withoutProof = text[..proofAt];
            var parts = withoutProof.Split(',');
            if (parts.Length < 2 || !parts[0].StartsWith("c=", StringComparison.Ordinal) || !parts[1].StartsWith("r=", StringComparison.Ordinal))
            {
                throw new FormatException("Invalid SCRAM client final message: expected c=<binding>,r=<nonce>");
            }
            ParseExtensions(parts.AsSpan(2));
            return new ClientFinal(parts[0][2..], CheckNonce(parts[1][2..]), Base64(text[(proofAt + 3)..]), withoutProof);
        }
    }

    /// <summary>server-final-message = "v=" base64(ServerSignature) | "e=" server-error-value.</summary>
    public sealed record ServerFinal(string? Error, byte[] ServerSignature)
    {
        public string ToMessage() => Error is null ? $"v={Convert.ToBase64String(ServerSignature)}" : $"e={Error}";

        public static ServerFinal Parse(string text) =>
            text.StartsWith("e=", StringComparison.Ordinal) ? new ServerFinal(text[2..], [])
            : text.StartsWith("v=", StringComparison.Ordinal) ? new ServerFinal(null, Base64(text.Split(',')[0][2..]))
            : throw new FormatException("Invalid SCRAM server final message");
    }

    /// <summary>RFC 5802 saslname: ',' is sent as "=2C" and '=' as "=3D"; any other '=' is malformed.</summary>
    public static string DecodeSaslName(string saslName)
    {
        if (!saslName.Contains('=', StringComparison.Ordinal))
        {
            return saslName;
        }
        var result = new StringBuilder(saslName.Length);
        for (var i = 0; i < saslName.Length; i++)
        {
            if (saslName[i] != '=')
            {
                result.Append(saslName[i]);
            }
            else if (string.CompareOrdinal(saslName, i, "=2C", 0, 3) == 0)
            {
                result.Append(',');
                i += 2;
            }
            else if (string.CompareOrdinal(saslName, i, "=3D", 0, 3) == 0)
            {
                result.Append('=');
                i += 2;
            }
            else
            {
                throw new FormatException("Invalid SCRAM user name: '=' must be followed by 2C or 3D");
            }
        }
        return result.ToString();
    }

    public static string EncodeSaslName(string name) =>
        name.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);

    private static string CheckNonce(string nonce)
    {
        if (nonce.Length == 0 || nonce.Any(c => c < 0x21 || c > 0x7E))
        {
            throw new FormatException("Invalid SCRAM nonce: must be printable characters other than ','");
        }
        return nonce;
    }

    private static byte[] Base64(string text)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new FormatException("Invalid SCRAM message: bad base64");
        }
    }

    private static Dictionary<string, string> ParseExtensions(ReadOnlySpan<string> parts)
    {
        var extensions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !part[..eq].All(char.IsAsciiLetter))
            {
                throw new FormatException("Invalid SCRAM extension");
            }
            if (part.StartsWith("m=", StringComparison.Ordinal))
            {
                throw new FormatException("Invalid SCRAM message: mandatory extensions are not supported");
            }
            extensions[part[..eq]] = part[(eq + 1)..];
        }
        return extensions;
    }
}
