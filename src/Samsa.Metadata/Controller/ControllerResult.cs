using Samsa.Metadata.Log;
using Samsa.Protocol;

namespace Samsa.Metadata.Controller;

/// <summary>
/// What a controller operation decided: the records to commit and the response to send once they are committed
/// (Kafka's <c>ControllerResult</c>). Operations never change state themselves; replaying the records does.
/// </summary>
public sealed record ControllerResult<T>(IReadOnlyList<MetadataRecord> Records, T Response);

/// <summary>Controller settings taken from the broker config.</summary>
public sealed record ControllerOptions
{
    public int NodeId { get; init; } = 1;

    public int NumPartitions { get; init; } = 1;                 // num.partitions

    public short DefaultReplicationFactor { get; init; } = 1;     // default.replication.factor

    public bool DeleteTopicEnable { get; init; } = true;          // delete.topic.enable

    /// <summary>broker.session.timeout.ms: a broker that has not heartbeated for this long is fenced by the active controller.</summary>
    public TimeSpan BrokerSessionTimeout { get; init; } = TimeSpan.FromMilliseconds(9000);

    /// <summary>
    /// How often the active controller's periodic task looks for brokers whose session has expired
    /// (<see cref="QuorumController.StartPeriodicTasks"/>). Samsa's own setting; Kafka checks on a similar short period.
    /// </summary>
    public TimeSpan FenceStaleBrokerInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// unclean.leader.election.enable of the broker config: whether a partition whose in-sync replicas are all gone may
    /// be led by another replica, for topics that do not set it themselves and when no dynamic broker config does.
    /// </summary>
    public bool UncleanLeaderElectionEnable { get; init; }

    /// <summary>
    /// Kafka's internal unclean.leader.election.interval.ms: how often the active controller looks for leaderless
    /// partitions whose topic allows unclean elections.
    /// </summary>
    public TimeSpan UncleanLeaderElectionInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>auto.leader.rebalance.enable: the active controller periodically moves leadership back to preferred replicas.</summary>
    public bool AutoLeaderRebalanceEnable { get; init; } = true;

    /// <summary>
    /// leader.imbalance.check.interval.seconds: how often the preferred-leader check runs. As in Kafka 4 (which
    /// removed leader.imbalance.per.broker.percentage), every partition not led by its preferred replica is a candidate.
    /// </summary>
    public TimeSpan LeaderImbalanceCheckInterval { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>The node's clock: broker sessions and the periodic tasks run on it, so a test can drive them with a fake one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Where replica placement takes its randomness (start offset, shuffles); used on the controller thread only.
    /// A seeded one makes placement repeatable.
    /// </summary>
    public Random Random { get; init; } = Random.Shared;

    /// <summary>
    /// Checks the keys a request sets on a BROKER resource (for one broker when the flag is true, else the cluster
    /// default): Kafka's error and message, or null.
    /// </summary>
    public Func<IReadOnlyDictionary<string, string>, bool, (ErrorCode Code, string Message)?> ValidateBrokerConfigs { get; init; } = (_, _) => null;

    /// <summary>
    /// The default of a LIST broker config ("" when it has none), the base APPEND and SUBTRACT start from; null when
    /// the key is not a LIST (those operations apply only to lists).
    /// </summary>
    public Func<string, string?> BrokerListDefault { get; init; } = _ => null;

    /// <summary>Checks a GROUP resource's whole new config set; the INVALID_CONFIG message, or null.</summary>
    public Func<IReadOnlyDictionary<string, string>, string?> ValidateGroupConfigs { get; init; } = _ => null;

    /// <summary>
    /// metadata.max.idle.interval.ms: an active controller of a quorum that has written nothing for this long writes a
    /// NoOpRecord (KIP-835), so followers and brokers see the log advance and can tell a live leader from a stale one.
    /// 0 turns it off. A single node's own log stays quiet.
    /// </summary>
    public int MaxIdleIntervalMs { get; init; } = 500;
}
