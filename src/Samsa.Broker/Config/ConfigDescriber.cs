using System.Globalization;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Config;

/// <summary>Kafka's <c>DescribeConfigsResponse.ConfigSource</c>.</summary>
public enum ConfigSource : sbyte
{
    Unknown = 0,
    DynamicTopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
}

/// <summary>
/// Effective config values and where they come from (Kafka's <c>ConfigHelper</c>). A topic config resolves, in
/// order: the topic's dynamic config, the broker synonym set dynamically for this broker, set dynamically as the
/// cluster default, set in server.properties, and finally the topic config's own default. A broker config
/// resolves the same way without the topic level. Passwords are reported as sensitive with a null value.
/// </summary>
public sealed class ConfigDescriber(KafkaConfig config)
{
    /// <summary>Broker synonyms of topic configs beyond the one in <see cref="TopicConfigDef.ServerDefault"/>, with a unit factor.</summary>
    private static readonly Dictionary<string, (string Name, long Factor)[]> ExtraSynonyms = new(StringComparer.Ordinal)
    {
        ["retention.ms"] = [("log.retention.minutes", 60_000), ("log.retention.hours", 3_600_000)],
        ["segment.ms"] = [("log.roll.hours", 3_600_000)],
        ["segment.jitter.ms"] = [("log.roll.jitter.hours", 3_600_000)],
    };

    public sealed record Entry(string Name, string? Value, ConfigSource Source, bool Sensitive, TopicConfigType Type, IReadOnlyList<(string Name, string? Value, ConfigSource Source)> Synonyms);

    /// <summary>Every topic config of <paramref name="topic"/> with its effective value.</summary>
    public IEnumerable<Entry> DescribeTopic(MetadataImage image, string topic)
    {
        var overrides = image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, topic));
        foreach (var def in TopicConfigs.All.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            // Synonyms carry each config's own value (log.retention.hours=168); the effective value is scaled to the topic's unit.
            var synonyms = new List<(string, string?, ConfigSource)>();
            (string? Value, ConfigSource Source)? effective = null;
            if (overrides.TryGetValue(def.Name, out var value))
            {
                synonyms.Add((def.Name, value, ConfigSource.DynamicTopicConfig));
                effective = (value, ConfigSource.DynamicTopicConfig);
            }
            var brokerSynonyms = BrokerSynonyms(def).ToList();
            foreach (var (brokerValue, source, name, factor) in brokerSynonyms.SelectMany(s => BrokerValues(image, s.Name).Select(v => (v.Value, v.Source, s.Name, s.Factor))).OrderBy(x => x.Source))
            {
                synonyms.Add((name, brokerValue, source));
                effective ??= (Scale(brokerValue, factor), source);
            }
            foreach (var (name, factor) in brokerSynonyms)
            {
                if (KafkaConfigDefinitions.All.TryGetValue(name, out var key) && Format(key.Default) is { } brokerDefault)
                {
                    synonyms.Add((name, brokerDefault, ConfigSource.DefaultConfig));
                }
            }
            var (text, origin) = effective ?? (def.Default, ConfigSource.DefaultConfig);
            yield return new Entry(def.Name, text, origin, false, def.Type, synonyms);
        }
    }

    /// <summary>The effective topic configs as Kafka property names, for <c>Samsa.Storage.LogConfig.FromProperties</c>.</summary>
    public Dictionary<string, string> EffectiveTopicConfig(MetadataImage image, string topic) =>
        DescribeTopic(image, topic).Where(e => e.Value is not null).ToDictionary(e => e.Name, e => e.Value!, StringComparer.Ordinal);

    /// <summary>Every broker config of this node (<paramref name="resourceName"/> its id) or the cluster default ("").</summary>
    public IEnumerable<Entry> DescribeBroker(MetadataImage image, string resourceName)
    {
        foreach (var key in KafkaConfigDefinitions.All.Values.OrderBy(k => k.Name, StringComparer.Ordinal))
        {
            var sensitive = key.Type == ConfigType.Password;
            var synonyms = new List<(string, string?, ConfigSource)>();
            foreach (var (value, source) in BrokerValues(image, key.Name))
            {
                if (resourceName.Length == 0 && source == ConfigSource.DynamicBrokerConfig)
                {
                    continue;
                }
                synonyms.Add((key.Name, sensitive ? null : value, source));
            }
            var type = TypeOf(key.Type);
            if (synonyms.Count > 0)
            {
                yield return new Entry(key.Name, synonyms[0].Item2, synonyms[0].Item3, sensitive, type, synonyms);
            }
            else
            {
                var text = sensitive ? null : Format(key.Default);
                yield return new Entry(key.Name, text, ConfigSource.DefaultConfig, sensitive, type,
                    text is null ? [] : [(key.Name, text, ConfigSource.DefaultConfig)]);
            }
        }
    }

    /// <summary>Values of one broker config that are set somewhere, highest precedence first.</summary>
    private IEnumerable<(string Value, ConfigSource Source)> BrokerValues(MetadataImage image, string name)
    {
        if (image.ConfigsOf(new ConfigResource(ConfigResourceType.Broker, config.NodeId.ToString(CultureInfo.InvariantCulture))).TryGetValue(name, out var perBroker))
        {
            yield return (perBroker, ConfigSource.DynamicBrokerConfig);
        }
        if (image.ConfigsOf(new ConfigResource(ConfigResourceType.Broker, "")).TryGetValue(name, out var clusterDefault))
        {
            yield return (clusterDefault, ConfigSource.DynamicDefaultBrokerConfig);
        }
        if (config.Originals.TryGetValue(name, out var staticValue))
        {
            yield return (staticValue.Trim(), ConfigSource.StaticBrokerConfig);
        }
    }

    private static IEnumerable<(string Name, long Factor)> BrokerSynonyms(TopicConfigDef def)
    {
        if (def.ServerDefault is not null)
        {
            yield return (def.ServerDefault, 1);
        }
        if (ExtraSynonyms.TryGetValue(def.Name, out var extra))
        {
            foreach (var e in extra)
            {
                yield return e;
            }
        }
    }

    private static string Scale(string value, long factor) =>
        factor == 1 || !long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? value
            : (n * factor).ToString(CultureInfo.InvariantCulture);

    private static TopicConfigType TypeOf(ConfigType type) => type switch
    {
        ConfigType.Boolean => TopicConfigType.Boolean,
        ConfigType.Short => TopicConfigType.Short,
        ConfigType.Int => TopicConfigType.Int,
        ConfigType.Long => TopicConfigType.Long,
        ConfigType.Double => TopicConfigType.Double,
        ConfigType.List => TopicConfigType.List,
        ConfigType.Password => TopicConfigType.Password,
        ConfigType.Class => TopicConfigType.Class,
        _ => TopicConfigType.String,
    };

    /// <summary>Kafka's <c>ConfigDef.convertToString</c>.</summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        IReadOnlyList<string> list => string.Join(",", list),
        double d => d.ToString("0.0###############", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>Checks a dynamic broker config value against the broker's table; null when valid.</summary>
    public static string? ValidateBrokerConfig(string name, string value)
    {
        if (!KafkaConfigDefinitions.All.TryGetValue(name, out var key))
        {
            return $"Unknown broker config name: {name}";
        }
        try
        {
            key.Validator?.Ensure(name, key.Parse(value));
            return null;
        }
        catch (ConfigException e)
        {
            return e.Message;
        }
    }

    /// <summary>Builds one DescribeConfigs result entry for <paramref name="version"/>.</summary>
    public static DescribeConfigsResponse.DescribeConfigsResourceResult ToResult(Entry entry, short version, bool includeSynonyms)
    {
        var result = new DescribeConfigsResponse.DescribeConfigsResourceResult
        {
            Name = entry.Name,
            Value = entry.Value,
            ReadOnly = false,
            IsSensitive = entry.Sensitive,
            Documentation = null,
        };
        if (version == 0)
        {
            result.IsDefault = entry.Source == ConfigSource.DefaultConfig;
        }
        else
        {
            result.ConfigSource = (sbyte)entry.Source;
        }
        if (version >= 3)
        {
            result.ConfigType = (sbyte)entry.Type;
        }
        if (includeSynonyms && version >= 1)
        {
            foreach (var (name, value, source) in entry.Synonyms)
            {
                result.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym { Name = name, Value = entry.Sensitive ? null : value, Source = (sbyte)source });
            }
        }
        return result;
    }
}
