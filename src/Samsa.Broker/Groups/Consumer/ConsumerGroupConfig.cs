using Samsa.Broker.Config;

namespace Samsa.Broker.Groups.Consumer;

/// <summary>The <c>group.consumer.*</c> broker configs KIP-848 groups act on, with Kafka's names and defaults.</summary>
public sealed record ConsumerGroupConfig
{
    /// <summary>group.consumer.session.timeout.ms: a member silent this long is removed.</summary>
    public int SessionTimeoutMs { get; init; } = 45_000;

    /// <summary>group.consumer.heartbeat.interval.ms: told to members in every answer.</summary>
    public int HeartbeatIntervalMs { get; init; } = 5_000;

    /// <summary>group.consumer.max.size: members beyond it get GROUP_MAX_SIZE_REACHED.</summary>
    public int MaxSize { get; init; } = int.MaxValue;

    /// <summary>group.consumer.assignors: the server-side assignors members may name; the first is the default.</summary>
    public IReadOnlyList<string> Assignors { get; init; } = [UniformAssignor.AssignorName, RangeAssignor.AssignorName];

    /// <summary>group.coordinator.rebalance.protocols contains "consumer": otherwise ConsumerGroupHeartbeat is not served.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// This config with one group's dynamic GROUP configs (KIP-848: <c>consumer.session.timeout.ms</c>,
    /// <c>consumer.heartbeat.interval.ms</c>) in place of the broker-wide values; the controller validated them.
    /// </summary>
    public ConsumerGroupConfig WithGroupConfigs(IReadOnlyDictionary<string, string> groupConfigs) => groupConfigs.Count == 0 ? this : this with
    {
        SessionTimeoutMs = GroupConfigs.IntOrDefault(groupConfigs, GroupConfigs.ConsumerSessionTimeoutMs, SessionTimeoutMs),
        HeartbeatIntervalMs = GroupConfigs.IntOrDefault(groupConfigs, GroupConfigs.ConsumerHeartbeatIntervalMs, HeartbeatIntervalMs),
    };

    public static ConsumerGroupConfig From(KafkaConfig config) => new()
    {
        SessionTimeoutMs = config.GetInt("group.consumer.session.timeout.ms"),
        HeartbeatIntervalMs = config.GetInt("group.consumer.heartbeat.interval.ms"),
        MaxSize = config.GetInt("group.consumer.max.size"),
        Assignors = config.GetList("group.consumer.assignors"),
        Enabled = config.GetList("group.coordinator.rebalance.protocols").Contains("consumer"),
    };
}
