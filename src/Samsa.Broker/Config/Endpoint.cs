using System.Globalization;
using System.Text.RegularExpressions;

namespace Samsa.Broker.Config;

/// <summary>Kafka's security protocols, by the names listener.security.protocol.map uses.</summary>
public enum SecurityProtocol
{
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

/// <summary>
/// One listener, parsed from <c>NAME://host:port</c> as Kafka's <c>Endpoint</c> does. An empty host means every
/// interface; IPv6 hosts are written in brackets. The name is upper-cased as Kafka normalises it.
/// </summary>
public sealed partial record Endpoint(string ListenerName, string Host, int Port, SecurityProtocol SecurityProtocol)
{
    [GeneratedRegex(@"^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$")]
    private static partial Regex UriPattern();

    public static Endpoint Parse(string configName, string uri, IReadOnlyDictionary<string, SecurityProtocol> protocolMap)
    {
        var match = UriPattern().Match(uri.Trim());
        if (!match.Success)
        {
            throw ConfigException.InvalidValue(configName, uri, "Unable to parse as a listener NAME://host:port");
        }
        var name = match.Groups[1].Value.ToUpperInvariant();
        if (!int.TryParse(match.Groups[3].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            throw ConfigException.InvalidValue(configName, uri, "Port must be between 0 and 65535");
        }
        if (!protocolMap.TryGetValue(name, out var protocol))
        {
            throw ConfigException.InvalidValue(configName, uri,
                $"No security protocol defined for listener {name} (add it to listener.security.protocol.map)");
        }
        return new Endpoint(name, match.Groups[2].Value, port, protocol);
    }

    public static string ProtocolName(SecurityProtocol protocol) => protocol switch
    {
        SecurityProtocol.Plaintext => "PLAINTEXT",
        SecurityProtocol.Ssl => "SSL",
        SecurityProtocol.SaslPlaintext => "SASL_PLAINTEXT",
        _ => "SASL_SSL",
    };

    public static bool TryParseProtocol(string name, out SecurityProtocol protocol)
    {
        switch (name.Trim().ToUpperInvariant())
        {
            case "PLAINTEXT": protocol = SecurityProtocol.Plaintext; return true;
            case "SSL": protocol = SecurityProtocol.Ssl; return true;
            case "SASL_PLAINTEXT": protocol = SecurityProtocol.SaslPlaintext; return true;
            case "SASL_SSL": protocol = SecurityProtocol.SaslSsl; return true;
            default: protocol = default; return false;
        }
    }

    public override string ToString() => Host.Contains(':') ? $"{ListenerName}://[{Host}]:{Port}" : $"{ListenerName}://{Host}:{Port}";
}
