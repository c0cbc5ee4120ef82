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
    DynamicBrokerLoggerConfig = 6,
    ClientMetricsConfig = 7,
    GroupConfig = 8,
}

/// <summary>
/// Effective config values and where they come from (Kafka's <c>ConfigHelper</c>). A broker value resolves, in
/// order: set dynamically for this broker, set dynamically as the cluster default, set in server.properties, the
/// default. Synonyms follow Kafka's <c>configSynonyms</c>: every set value of the key's broker synonyms
/// (<see cref="DynamicBrokerConfig.Synonyms"/>), source by source, then the defaults, and the leading ones not
/// named like the key dropped — so <c>retention.ms</c> of a topic with nothing set has no synonym at all, not
/// <c>log.retention.hours=168</c>. Passwords are reported as sensitive with null values.
/// </summary>
public sealed class ConfigDescriber(KafkaConfig config)
{
    public sealed record Entry(string Name, string? Value, ConfigSource Source, bool Sensitive, TopicConfigType Type,
        IReadOnlyList<(string Name, string? Value, ConfigSource Source)> Synonyms, bool ReadOnly = false);

    /// <summary>GROUP resources (KIP-848): per-group configs bounded by this broker's group coordinator configs.</summary>
    public GroupConfigs Groups { get; } = new(config);

    /// <summary>Every topic config of <paramref name="topic"/> with its effective value.</summary>
    public IEnumerable<Entry> DescribeTopic(MetadataImage image, string topic)
    {
        var overrides = image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, topic));
        foreach (var def in TopicConfigs.All.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var synonyms = new List<(string Name, string? Value, ConfigSource Source)>();
            if (overrides.TryGetValue(def.Name, out var value))
            {
                synonyms.Add((def.Name, value, ConfigSource.DynamicTopicConfig));
            }
            var primary = def.ServerDefault is { } server && KafkaConfigDefinitions.All.ContainsKey(server) ? server : null;
            if (primary is not null)
            {
                synonyms.AddRange(BrokerSynonyms(image, primary, perBroker: true, sensitive: false));
            }
            var text = value ?? (primary is null ? null : SetBrokerValueInMs(image, primary)) ?? def.Default;
            yield return new Entry(def.Name, text, synonyms.Count > 0 ? synonyms[0].Source : ConfigSource.DefaultConfig, false, def.Type, synonyms);
        }
    }

    /// <summary>The effective topic configs as Kafka property names, for <c>Samsa.Storage.LogConfig.FromProperties</c>.</summary>
    public Dictionary<string, string> EffectiveTopicConfig(MetadataImage image, string topic) =>
        DescribeTopic(image, topic).Where(e => e.Value is not null).ToDictionary(e => e.Name, e => e.Value!, StringComparer.Ordinal);

    /// <summary>
    /// Broker configs: for this node's id every config with its effective value; for "" (the cluster default) only
    /// the configs set there, as Kafka's <c>ConfigHelper</c> answers.
    /// </summary>
    public IEnumerable<Entry> DescribeBroker(MetadataImage image, string resourceName)
    {
        var perBroker = resourceName.Length > 0;
        var names = perBroker
            ? KafkaConfigDefinitions.All.Keys
            : image.ConfigsOf(new ConfigResource(ConfigResourceType.Broker, "")).Keys.Where(KafkaConfigDefinitions.All.ContainsKey);
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            var key = KafkaConfigDefinitions.All[name];
            var sensitive = key.Type == ConfigType.Password;
            var synonyms = BrokerSynonyms(image, name, perBroker, sensitive);
            var source = synonyms.Count > 0 ? synonyms[0].Source : ConfigSource.DefaultConfig;
            var value = sensitive ? null : synonyms.Count > 0 ? synonyms[0].Value : Format(key.Default);
            yield return new Entry(name, value, source, sensitive, TypeOf(key.Type), synonyms, key.Mode == ConfigUpdateMode.ReadOnly);
        }
    }

    /// <summary>
    /// Kafka's <c>configSynonyms</c>: the set values of <paramref name="name"/>'s synonyms, dynamic per broker, dynamic
    /// cluster default, static and default in that order, the leading ones of other names dropped.
    /// </summary>
    private List<(string Name, string? Value, ConfigSource Source)> BrokerSynonyms(MetadataImage image, string name, bool perBroker, bool sensitive)
    {
        var synonyms = DynamicBrokerConfig.Synonyms(name);
        var all = new List<(string Name, string? Value, ConfigSource Source)>();
        foreach (var (values, source) in BrokerLevels(image))
        {
            if (!perBroker && source == ConfigSource.DynamicBrokerConfig)
            {
                continue;
            }
            foreach (var synonym in synonyms)
            {
                if (values(synonym) is { } value)
                {
                    all.Add((synonym, sensitive ? null : value, source));
                }
            }
        }
        var first = all.FindIndex(s => s.Name == name);
        return first < 0 ? [] : all[first..];
    }

    /// <summary>
    /// The broker value behind a topic config when one of <paramref name="name"/>'s synonyms is set (ms over minutes
    /// over hours, each at its highest level), scaled to milliseconds; null leaves the topic config's own default.
    /// </summary>
    private string? SetBrokerValueInMs(MetadataImage image, string name)
    {
        foreach (var synonym in DynamicBrokerConfig.Synonyms(name))
        {
            foreach (var (values, source) in BrokerLevels(image))
            {
                if (source != ConfigSource.DefaultConfig && values(synonym) is { } value)
                {
                    return Scale(value, DynamicBrokerConfig.UnitMs(synonym));
                }
            }
        }
        return null;
    }

    /// <summary>Where a broker value can be set, highest precedence first, each as a lookup of a set value.</summary>
    private IEnumerable<(Func<string, string?> Values, ConfigSource Source)> BrokerLevels(MetadataImage image)
    {
        var perBroker = image.ConfigsOf(new ConfigResource(ConfigResourceType.Broker, config.NodeId.ToString(CultureInfo.InvariantCulture)));
        var clusterDefault = image.ConfigsOf(new ConfigResource(ConfigResourceType.Broker, ""));
        yield return (n => perBroker.GetValueOrDefault(n), ConfigSource.DynamicBrokerConfig);
        yield return (n => clusterDefault.GetValueOrDefault(n), ConfigSource.DynamicDefaultBrokerConfig);
        yield return (n => config.Originals.TryGetValue(n, out var v) ? v.Trim() : null, ConfigSource.StaticBrokerConfig);
        yield return (n => KafkaConfigDefinitions.All.TryGetValue(n, out var key) ? Format(key.Default) : null, ConfigSource.DefaultConfig);
    }

    private static string Scale(string value, long factor) =>
        factor == 1 || !long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? value
            : (n * factor).ToString(CultureInfo.InvariantCulture);

    public static TopicConfigType TypeOf(ConfigType type) => type switch
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

    /// <summary>Builds one DescribeConfigs result entry for <paramref name="version"/>.</summary>
    public static DescribeConfigsResponse.DescribeConfigsResourceResult ToResult(Entry entry, short version, bool includeSynonyms)
    {
        var result = new DescribeConfigsResponse.DescribeConfigsResourceResult
        {
            Name = entry.Name,
            Value = entry.Value,
            ReadOnly = entry.ReadOnly,
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
