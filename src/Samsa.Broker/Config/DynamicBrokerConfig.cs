using Samsa.Protocol;

namespace Samsa.Broker.Config;

/// <summary>
/// Which broker configs may change at runtime, and how (Kafka's <c>DynamicBrokerConfig</c>): the update mode of each
/// key lives in <see cref="KafkaConfigDefinitions"/>; this class holds the rules around it — broker synonyms,
/// the listener prefix, and the checks Kafka's <c>ConfigAdminManager</c> runs on a BROKER resource before it
/// forwards AlterConfigs / IncrementalAlterConfigs to the controller.
/// </summary>
public static class DynamicBrokerConfig
{
    /// <summary>
    /// Kafka's <c>SslConfigs.RECONFIGURABLE_CONFIGS</c>: the key and trust store keys (<c>ssl.keystore.*</c>,
    /// <c>ssl.truststore.*</c>, <c>ssl.key.*</c> = the key password), which a broker updates only per listener
    /// (<c>listener.name.{listener}.ssl.keystore.location</c>), never under the bare name.
    /// </summary>
    private static bool IsDynamicSecurityConfig(string name) =>
        name.StartsWith("ssl.keystore.", StringComparison.Ordinal) || name.StartsWith("ssl.truststore.", StringComparison.Ordinal)
        || name.StartsWith("ssl.key.", StringComparison.Ordinal);

    private const string ListenerPrefix = "listener.name.";

    /// <summary>
    /// Kafka's <c>brokerConfigSynonyms</c>: the keys that set one broker value, highest precedence first
    /// (<c>log.retention.ms</c> over <c>log.retention.minutes</c> over <c>log.retention.hours</c>).
    /// </summary>
    public static IReadOnlyList<string> Synonyms(string name) => name switch
    {
        "log.roll.ms" or "log.roll.hours" => ["log.roll.ms", "log.roll.hours"],
        "log.roll.jitter.ms" or "log.roll.jitter.hours" => ["log.roll.jitter.ms", "log.roll.jitter.hours"],
        // log.flush.scheduler.interval.ms is the default of log.flush.interval.ms.
        "log.flush.interval.ms" => ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "log.retention.ms" or "log.retention.minutes" or "log.retention.hours" => ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
        _ when BaseOfListenerConfig(name) is { } baseName => [name, baseName],
        _ => [name],
    };

    /// <summary>Milliseconds per unit of a synonym, to scale <c>log.retention.hours</c> into <c>retention.ms</c>.</summary>
    public static long UnitMs(string name) => name.EndsWith(".hours", StringComparison.Ordinal) ? 3_600_000
        : name.EndsWith(".minutes", StringComparison.Ordinal) ? 60_000
        : 1;

    /// <summary>
    /// The broker key behind <c>listener.name.{listener}.{key}</c> (and <c>listener.name.{listener}.{mechanism}.sasl.jaas.config</c>
    /// style SASL keys), or null when <paramref name="name"/> has no listener prefix or names no broker key.
    /// </summary>
    public static string? BaseOfListenerConfig(string name)
    {
        if (!name.StartsWith(ListenerPrefix, StringComparison.Ordinal))
        {
            return null;
        }
        var dot = name.IndexOf('.', ListenerPrefix.Length);
        if (dot < 0)
        {
            return null;
        }
        var rest = name[(dot + 1)..];
        if (KafkaConfigDefinitions.All.ContainsKey(rest))
        {
            return rest;
        }
        // SASL keys may carry the mechanism as well: listener.name.sasl_ssl.plain.sasl.jaas.config.
        var mechanismDot = rest.IndexOf('.', StringComparison.Ordinal);
        return mechanismDot > 0 && rest[(mechanismDot + 1)..] is var afterMechanism && afterMechanism.StartsWith("sasl.", StringComparison.Ordinal)
            && KafkaConfigDefinitions.All.ContainsKey(afterMechanism) ? afterMechanism : null;
    }

    /// <summary>
    /// Kafka's <c>DynamicBrokerConfig.validateConfigs</c> on the keys a request sets, for one broker
    /// (<paramref name="perBroker"/>) or the cluster default. Kafka's <c>ConfigAdminManager</c> turns every failure
    /// into INVALID_REQUEST carrying the message (KAFKA-13609 keeps it so); a key Kafka does not know at all is
    /// INVALID_CONFIG, as for topics. Null when the change may go ahead.
    /// </summary>
    public static (ErrorCode Code, string Message)? Validate(IReadOnlyDictionary<string, string> changes, bool perBroker)
    {
        if (changes.Keys.FirstOrDefault(k => !KafkaConfigDefinitions.All.ContainsKey(k) && BaseOfListenerConfig(k) is null) is { } unknown)
        {
            return (ErrorCode.InvalidConfig, $"Unknown broker config name: {unknown}");
        }
        var nonDynamic = changes.Keys.Where(k => KafkaConfigDefinitions.All.TryGetValue(k, out var key) && key.Mode == ConfigUpdateMode.ReadOnly);
        if (Refuse(nonDynamic, "Cannot update these configs dynamically") is { } readOnly)
        {
            return (ErrorCode.InvalidRequest, readOnly);
        }
        if (Refuse(changes.Keys.Where(IsDynamicSecurityConfig), "These security configs can be dynamically updated only per-listener using the listener prefix") is { } unprefixed)
        {
            return (ErrorCode.InvalidRequest, unprefixed);
        }
        foreach (var (name, value) in changes)
        {
            var key = KafkaConfigDefinitions.All[BaseOfListenerConfig(name) ?? name];
            try
            {
                key.Validator?.Ensure(name, (key with { Name = name }).Parse(value));
            }
            catch (ConfigException e)
            {
                return (ErrorCode.InvalidRequest, e.Message);
            }
        }
        if (!perBroker)
        {
            var perBrokerOnly = changes.Keys.Where(k => BaseOfListenerConfig(k) is not null || KafkaConfigDefinitions.All[k].Mode == ConfigUpdateMode.PerBroker);
            if (Refuse(perBrokerOnly, "Cannot update these configs at default cluster level, broker id must be specified") is { } clusterLevel)
            {
                return (ErrorCode.InvalidRequest, clusterLevel);
            }
        }
        return null;
    }

    /// <summary>Kafka's message: the text, then the names as Scala prints a set (<c>Set(a, b)</c>).</summary>
    private static string? Refuse(IEnumerable<string> names, string message) =>
        names.Order(StringComparer.Ordinal).ToArray() is { Length: > 0 } found ? $"{message}: Set({string.Join(", ", found)})" : null;
}
