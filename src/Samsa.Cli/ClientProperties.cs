using Samsa.Broker.Config;
using Samsa.Broker.Security.Sasl;

namespace Samsa.Cli;

/// <summary>
/// The client configuration of the producer and consumer tools, assembled as Kafka's tools do: the
/// <c>--producer.config</c>/<c>--consumer.config</c> file first, then each <c>--producer-property</c>/<c>--consumer-property</c>,
/// then the tool's own flags, which win.
/// </summary>
internal static class ClientProperties
{
    public static Dictionary<string, string> Build(string? file, IEnumerable<string> properties, string? bootstrap)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        if (file is not null)
        {
            if (!File.Exists(file))
            {
                throw new CommandException($"{file} (No such file or directory)");
            }
            foreach (var (key, value) in JavaProperties.Parse(File.ReadAllText(file)))
            {
                config[key] = value;
            }
        }
        foreach (var (key, value) in CommandRunner.ParsePairs(properties, splitCommas: false))
        {
            config[key] = value;
        }
        if (bootstrap is not null)
        {
            config["bootstrap.servers"] = bootstrap;
        }
        if (!config.ContainsKey("bootstrap.servers"))
        {
            throw new CommandException("Missing required argument \"[bootstrap-server]\"");
        }
        config.TryAdd("log_level", "3");
        return ForLibrdkafka(config);
    }

    /// <summary>
    /// Java client properties made acceptable to librdkafka: <c>sasl.jaas.config</c> (a Java-only key) becomes
    /// <c>sasl.username</c>/<c>sasl.password</c> from its <c>username</c>/<c>password</c> options, so one
    /// <c>--command-config</c> file serves Kafka's tools and these.
    /// </summary>
    public static Dictionary<string, string> ForLibrdkafka(Dictionary<string, string> config)
    {
        if (config.Remove("sasl.jaas.config", out var text))
        {
            var jaas = ParseJaas(text);
            if (jaas.Option("username") is { } username)
            {
                config.TryAdd("sasl.username", username);
            }
            if (jaas.Option("password") is { } password)
            {
                config.TryAdd("sasl.password", password);
            }
        }
        return config;
    }

    /// <summary>The SASL client the properties ask for: <c>sasl.mechanism</c> (Kafka's default GSSAPI is not supported) with the JAAS user name and password.</summary>
    public static ISaslClient SaslClient(IReadOnlyDictionary<string, string> properties)
    {
        var mechanism = properties.GetValueOrDefault("sasl.mechanism") ?? "GSSAPI";
        var jaas = properties.TryGetValue("sasl.jaas.config", out var text) ? ParseJaas(text) : null;
        var username = jaas?.Option("username") ?? properties.GetValueOrDefault("sasl.username");
        var password = jaas?.Option("password") ?? properties.GetValueOrDefault("sasl.password");
        if (username is null || password is null)
        {
            throw new CommandException("Could not find a 'KafkaClient' entry in the JAAS configuration. System property 'java.security.auth.login.config' is not set");
        }
        try
        {
            return SaslClients.Create(mechanism, username, password);
        }
        catch (ArgumentException)
        {
            throw new CommandException($"SASL mechanism {mechanism} is not supported by this tool (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)");
        }
    }

    private static JaasConfig ParseJaas(string text)
    {
        try
        {
            return JaasConfig.Parse(text);
        }
        catch (FormatException e)
        {
            throw new CommandException($"Invalid value for configuration sasl.jaas.config: {e.Message}");
        }
    }

    /// <summary>Kafka's <c>--property a=b</c> form for the message reader and formatter.</summary>
    public static Dictionary<string, string> Formatting(IEnumerable<string> properties) =>
        CommandRunner.ParsePairs(properties, splitCommas: false).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Kafka unescapes \t, \n and friends in separators given on the command line.</summary>
    public static string Unescape(string text) =>
        text.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal);
}
