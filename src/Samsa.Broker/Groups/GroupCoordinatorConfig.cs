using Samsa.Broker.Config;

namespace Samsa.Broker.Groups;

/// <summary>The broker configs the group coordinator acts on, with Kafka's names.</summary>
public sealed record GroupCoordinatorConfig
{
    /// <summary>offsets.topic.num.partitions: partitions of __consumer_offsets when it is created.</summary>
    public int OffsetsTopicNumPartitions { get; init; } = 50;

    /// <summary>offsets.topic.replication.factor.</summary>
    public short OffsetsTopicReplicationFactor { get; init; } = 3;

    /// <summary>offsets.topic.segment.bytes: segment.bytes of __consumer_offsets (small, so compaction can work).</summary>
    public int OffsetsTopicSegmentBytes { get; init; } = 104857600;

    /// <summary>offsets.retention.minutes, as milliseconds.</summary>
    public long OffsetsRetentionMs { get; init; } = 7 * 24 * 60 * 60 * 1000L;

    /// <summary>offsets.retention.check.interval.ms.</summary>
    public long OffsetsRetentionCheckIntervalMs { get; init; } = 600_000;

    /// <summary>offsets.commit.timeout.ms: how long a commit waits for the high watermark.</summary>
    public int OffsetCommitTimeoutMs { get; init; } = 5000;

    /// <summary>offset.metadata.max.bytes: longest metadata string a commit may carry.</summary>
    public int OffsetMetadataMaxBytes { get; init; } = 4096;

    /// <summary>group.initial.rebalance.delay.ms.</summary>
    public int InitialRebalanceDelayMs { get; init; } = 3000;

    /// <summary>group.min.session.timeout.ms.</summary>
    public int MinSessionTimeoutMs { get; init; } = 6000;

    /// <summary>group.max.session.timeout.ms.</summary>
    public int MaxSessionTimeoutMs { get; init; } = 1_800_000;

    /// <summary>group.max.size.</summary>
    public int MaxSize { get; init; } = int.MaxValue;

    /// <summary>How long a new member's first JoinGroup may wait (Kafka's fixed 5 minutes, <c>classicGroupNewMemberJoinTimeoutMs</c>).</summary>
    public int NewMemberJoinTimeoutMs { get; init; } = 5 * 60 * 1000;

    public static GroupCoordinatorConfig From(KafkaConfig config) => new()
    {
        OffsetsTopicNumPartitions = config.GetInt("offsets.topic.num.partitions"),
        OffsetsTopicReplicationFactor = config.Get("offsets.topic.replication.factor") is short rf ? rf : (short)3,
        OffsetsTopicSegmentBytes = config.GetInt("offsets.topic.segment.bytes"),
        OffsetsRetentionMs = config.GetInt("offsets.retention.minutes") * 60_000L,
        OffsetsRetentionCheckIntervalMs = config.GetLong("offsets.retention.check.interval.ms"),
        OffsetCommitTimeoutMs = config.GetInt("offsets.commit.timeout.ms"),
        OffsetMetadataMaxBytes = config.GetInt("offset.metadata.max.bytes"),
        InitialRebalanceDelayMs = config.GetInt("group.initial.rebalance.delay.ms"),
        MinSessionTimeoutMs = config.GetInt("group.min.session.timeout.ms"),
        MaxSessionTimeoutMs = config.GetInt("group.max.session.timeout.ms"),
        MaxSize = config.GetInt("group.max.size"),
    };
}
