using System.Text;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// One login module of a <c>sasl.jaas.config</c> value (Kafka's <c>JaasConfig</c>, which reads it with Java's
/// <c>StreamTokenizer</c>): <c>LoginModuleClass controlFlag key=value ... ;</c>, values double-quoted, single-quoted
/// (with backslash escapes) or bare words. Kafka allows exactly one module per property, and so do we.
/// </summary>
public sealed record JaasConfig(string LoginModule, string ControlFlag, IReadOnlyDictionary<string, string> Options)
{
    public const string PlainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule";
    public const string ScramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule";
    public const string OAuthBearerLoginModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

    private static readonly string[] ControlFlags = ["required", "requisite", "sufficient", "optional"];

    /// <summary>An option's value, or null.</summary>
    public string? Option(string name) => Options.TryGetValue(name, out var value) ? value : null;

    /// <summary>Parses one property value; throws <see cref="FormatException"/> with Kafka's message when it is malformed.</summary>
    /// <summary>
    /// A broker's JAAS config for <paramref name="mechanism"/> on <paramref name="listenerName"/>:
    /// <c>listener.name.{listener}.{mechanism}.sasl.jaas.config</c>, else <c>sasl.jaas.config</c>; null when neither is set.
    /// </summary>
    public static JaasConfig? Of(Samsa.Broker.Config.KafkaConfig config, string listenerName, string mechanism) =>
        (config.Originals.TryGetValue($"listener.name.{listenerName.ToLowerInvariant()}.{mechanism.ToLowerInvariant()}.sasl.jaas.config", out var text) ? text
            : config.Originals.TryGetValue("sasl.jaas.config", out var global) ? global : null)
        is { Length: > 0 } jaas ? Parse(jaas) : null;

    public static JaasConfig Parse(string text)
    {
        var tokens = Tokenize(text);
        var modules = new List<JaasConfig>();
        var i = 0;
        while (i < tokens.Count)
        {
            modules.Add(ParseModule(tokens, ref i));
        }
        if (modules.Count != 1)
        {
            throw new FormatException($"JAAS config property contains {modules.Count} login modules, should be 1 module");
        }
        return modules[0];
    }

    private static JaasConfig ParseModule(List<Token> tokens, ref int i)
    {
        var module = tokens[i++];
        if (module.Quoted || module.Text is "=" or ";")
        {
            throw new FormatException($"Unexpected token '{module.Text}' in JAAS config: login module name expected");
        }
        if (i >= tokens.Count || tokens[i].Text == ";")
        {
            throw new FormatException("Login module control flag not specified in JAAS config");
        }
        var flag = tokens[i++].Text;
        if (!ControlFlags.Contains(flag, StringComparer.OrdinalIgnoreCase))
        {
            throw new FormatException($"Invalid login module control flag '{flag}' in JAAS config");
        }
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            if (i >= tokens.Count)
            {
                throw new FormatException("Expected ';' at end of JAAS config");
            }
            var key = tokens[i++];
            if (!key.Quoted && key.Text == ";")
            {
                break;
            }
            if (i >= tokens.Count || tokens[i].Quoted || tokens[i].Text != "=")
            {
                throw new FormatException($"Value not specified for key '{key.Text}' in JAAS config");
            }
            i++;
            if (i >= tokens.Count || (!tokens[i].Quoted && tokens[i].Text is ";" or "="))
            {
                throw new FormatException($"Value not specified for key '{key.Text}' in JAAS config");
            }
            options[key.Text] = tokens[i++].Text;
        }
        return new JaasConfig(module.Text, flag.ToLowerInvariant(), options);
    }

    private readonly record struct Token(string Text, bool Quoted);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '=' or ';')
            {
                tokens.Add(new Token(c.ToString(), false));
                i++;
            }
            else if (c is '"' or '\'')
            {
                var value = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw new FormatException("Unterminated quoted value in JAAS config");
                    }
                    var d = text[i++];
                    if (d == c)
                    {
                        break;
                    }
                    if (d == '\\' && i < text.Length)
                    {
                        d = text[i++];
                    }
                    value.Append(d);
                }
                tokens.Add(new Token(value.ToString(), true));
            }
            else
            {
                var start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('=' or ';' or '"' or '\''))
                {
                    i++;
                }
                tokens.Add(new Token(text[start..i], false));
            }
        }
        return tokens;
    }

    public override string ToString() => $"{LoginModule} {ControlFlag} ({Options.Count} options)";
}
