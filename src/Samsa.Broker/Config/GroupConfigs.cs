using System.Globalization;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Config;

/// <summary>
/// Kafka's <c>GroupConfig</c>: per-group overrides of the group coordinator's broker configs, set with
/// IncrementalAlterConfigs on a GROUP resource (type 32, KIP-848) and stored as ConfigRecords like topic configs.
/// An unset key takes the broker's value (<c>group.consumer.session.timeout.ms</c> for
/// <c>consumer.session.timeout.ms</c>); a set one must lie within the broker's <c>group.*.min/max.*</c> bounds.
/// Samsa acts on the consumer keys (<see cref="Samsa.Broker.Groups.Consumer.ConsumerGroupConfig.WithGroupConfigs"/>); the share
/// and streams keys are stored and described only, as share and streams groups are not built.
/// </summary>
public sealed class GroupConfigs(KafkaConfig config)
{
    public const string ConsumerSessionTimeoutMs = "consumer.session.timeout.ms";
    public const string ConsumerHeartbeatIntervalMs = "consumer.heartbeat.interval.ms";

    /// <summary>One group config: its type and validator, the broker key giving its default, and the broker keys bounding it.</summary>
    private sealed record Def(ConfigKey Key, string? BrokerDefault, string? Default = null, string? Min = null, string? Max = null);

    private static Def Int(string name, IConfigValidator validator, string brokerDefault, string? min, string max) =>
        new(new ConfigKey(name, ConfigType.Int, ConfigImportance.Medium, ConfigUpdateMode.ReadOnly, null, validator, ""), brokerDefault, null, min, max);

    private static Def Str(string name, string value, params string[] allowed) =>
        new(new ConfigKey(name, ConfigType.String, ConfigImportance.Medium, ConfigUpdateMode.ReadOnly, value, new ValidStringValidator(false, allowed), ""), null, value);

    private static readonly Def[] Defs =
    [
        Int(ConsumerHeartbeatIntervalMs, RangeValidator.AtLeast(1), "group.consumer.heartbeat.interval.ms", "group.consumer.min.heartbeat.interval.ms", "group.consumer.max.heartbeat.interval.ms"),
        Int(ConsumerSessionTimeoutMs, RangeValidator.AtLeast(1), "group.consumer.session.timeout.ms", "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms"),
        Str("share.auto.offset.reset", "latest", "latest", "earliest"),
        Int("share.heartbeat.interval.ms", RangeValidator.AtLeast(1), "group.share.heartbeat.interval.ms", "group.share.min.heartbeat.interval.ms", "group.share.max.heartbeat.interval.ms"),
        Str("share.isolation.level", "read_uncommitted", "read_committed", "read_uncommitted"),
        Int("share.record.lock.duration.ms", RangeValidator.AtLeast(1000), "group.share.record.lock.duration.ms", "group.share.min.record.lock.duration.ms", "group.share.max.record.lock.duration.ms"),
        Int("share.session.timeout.ms", RangeValidator.AtLeast(1), "group.share.session.timeout.ms", "group.share.min.session.timeout.ms", "group.share.max.session.timeout.ms"),
        Int("streams.heartbeat.interval.ms", RangeValidator.AtLeast(1), "group.streams.heartbeat.interval.ms", "group.streams.min.heartbeat.interval.ms", "group.streams.max.heartbeat.interval.ms"),
        Int("streams.num.standby.replicas", RangeValidator.AtLeast(0), "group.streams.num.standby.replicas", null, "group.streams.max.standby.replicas"),
        Int("streams.session.timeout.ms", RangeValidator.AtLeast(1), "group.streams.session.timeout.ms", "group.streams.min.session.timeout.ms", "group.streams.max.session.timeout.ms"),
    ];

    private static readonly Dictionary<string, Def> ByName = Defs.ToDictionary(d => d.Key.Name, StringComparer.Ordinal);

    /// <summary>Session timeouts that must exceed their heartbeat intervals (Kafka's last checks in <c>validateValues</c>).</summary>
    private static readonly (string Session, string Heartbeat)[] SessionOverHeartbeat =
    [
        (ConsumerSessionTimeoutMs, ConsumerHeartbeatIntervalMs),
        ("share.session.timeout.ms", "share.heartbeat.interval.ms"),
        ("streams.session.timeout.ms", "streams.heartbeat.interval.ms"),
    ];

    /// <summary>An int group config if set and valid (the controller checked it), else <paramref name="fallback"/>.</summary>
    public static int IntOrDefault(IReadOnlyDictionary<string, string> groupConfigs, string name, int fallback) =>
        groupConfigs.TryGetValue(name, out var raw) && int.TryParse(raw.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    /// <summary>
    /// Kafka's <c>GroupConfig.validate</c> on a group's whole new config set: known names, parsable values within
    /// their validators and the broker's bounds, sessions longer than heartbeats. The message, or null.
    /// </summary>
    public string? Validate(IReadOnlyDictionary<string, string> configs)
    {
        if (configs.Keys.FirstOrDefault(k => !ByName.ContainsKey(k)) is { } unknown)
        {
            return $"Unknown group config name: {unknown}";
        }
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var def in Defs)
        {
            try
            {
                var value = configs.TryGetValue(def.Key.Name, out var raw) ? def.Key.Parse(raw) : DefaultOf(def);
                def.Key.Validator?.Ensure(def.Key.Name, value);
                values[def.Key.Name] = value;
            }
            catch (ConfigException e)
            {
                return e.Message;
            }
        }
        foreach (var def in Defs.Where(d => d.BrokerDefault is not null))
        {
            var value = (int)values[def.Key.Name]!;
            if (def.Min is not null && value < config.GetInt(def.Min))
            {
                return $"{def.Key.Name} must be greater than or equal to {def.Min}";
            }
            if (def.Max is not null && value > config.GetInt(def.Max))
            {
                return $"{def.Key.Name} must be less than or equal to {def.Max}";
            }
        }
        foreach (var (session, heartbeat) in SessionOverHeartbeat)
        {
            if ((int)values[session]! <= (int)values[heartbeat]!)
            {
                return $"{session} must be greater than {heartbeat}";
            }
        }
        return null;
    }

    /// <summary>
    /// Every group config of <paramref name="group"/> (Kafka's <c>createGroupConfigEntry</c>): a set value is
    /// GROUP_CONFIG with itself as the one synonym; an unset one is the broker's value as DEFAULT_CONFIG, without synonyms.
    /// </summary>
    public IEnumerable<ConfigDescriber.Entry> Describe(MetadataImage image, string group)
    {
        var overrides = image.ConfigsOf(new ConfigResource(ConfigResourceType.Group, group));
        foreach (var def in Defs)
        {
            var type = ConfigDescriber.TypeOf(def.Key.Type);
            if (overrides.TryGetValue(def.Key.Name, out var value))
            {
                yield return new ConfigDescriber.Entry(def.Key.Name, value, ConfigSource.GroupConfig, false, type, [(def.Key.Name, value, ConfigSource.GroupConfig)]);
            }
            else
            {
                yield return new ConfigDescriber.Entry(def.Key.Name, ConfigDescriber.Format(DefaultOf(def)), ConfigSource.DefaultConfig, false, type, []);
            }
        }
    }

    private object? DefaultOf(Def def) => def.BrokerDefault is { } broker ? config.GetInt(broker) : def.Key.Default;
}
