using Samsa.Broker.Config;

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
        return config;
    }

    /// <summary>Kafka's <c>--property a=b</c> form for the message reader and formatter.</summary>
    public static Dictionary<string, string> Formatting(IEnumerable<string> properties) =>
        CommandRunner.ParsePairs(properties, splitCommas: false).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Kafka unescapes \t, \n and friends in separators given on the command line.</summary>
    public static string Unescape(string text) =>
        text.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal);
}
