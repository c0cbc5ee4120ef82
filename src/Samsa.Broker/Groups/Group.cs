using Samsa.Protocol;

namespace Samsa.Broker.Groups;

/// <summary>The kinds of group a coordinator holds, with the names ListGroups (v5 types filter) uses.</summary>
public enum GroupType
{
    /// <summary>JoinGroup/SyncGroup/Heartbeat groups (the "classic" rebalance protocol).</summary>
    Classic,

    /// <summary>KIP-848 groups driven by ConsumerGroupHeartbeat.</summary>
    Consumer,
}

/// <summary>
/// What every group type shares, as Kafka's <c>org.apache.kafka.coordinator.group.Group</c>: an id, a state for
/// ListGroups/DescribeGroups, and the checks the offset APIs make before touching the group's committed offsets.
/// Committed offsets are not kept here but in the shard's <see cref="OffsetStore"/> (Kafka's
/// <c>OffsetMetadataManager</c>), because offsets may outlive members and even exist with no membership at all.
/// </summary>
/// <remarks>
/// A group id names one group of one type. A request of the other protocol gets Kafka's answer: a classic
/// JoinGroup on a consumer group INCONSISTENT_GROUP_PROTOCOL, SyncGroup/Heartbeat/LeaveGroup GROUP_ID_NOT_FOUND
/// (see <see cref="GroupCoordinatorShard"/>). Every method runs under the owning shard's lock.
/// </remarks>
public abstract class Group(string groupId)
{
    public string GroupId { get; } = groupId;

    public abstract GroupType Type { get; }

    /// <summary>The state as Kafka names it in ListGroups and DescribeGroups ("Empty", "Stable", ...).</summary>
    public abstract string StateName { get; }

    /// <summary>The protocol type ("consumer", "connect", ...) or "" for a group that only stores offsets.</summary>
    public abstract string ProtocolType { get; }

    /// <summary>True when no member is left (what DeleteGroups and offset expiry require).</summary>
    public abstract bool IsEmpty { get; }

    /// <summary>True once the group has been deleted or unloaded; requests for it get COORDINATOR_NOT_AVAILABLE.</summary>
    public abstract bool IsDead { get; }

    /// <summary>Checks an OffsetCommit (or TxnOffsetCommit) against membership; None when it may proceed.</summary>
    public abstract ErrorCode ValidateOffsetCommit(string memberId, string? groupInstanceId, int generationIdOrMemberEpoch, bool isTransactional, short apiVersion);

    /// <summary>Checks an OffsetFetch (v9 carries a member id and epoch for consumer groups).</summary>
    public abstract ErrorCode ValidateOffsetFetch(string? memberId, int memberEpoch);

    /// <summary>Checks an OffsetDelete: NON_EMPTY_GROUP for a live group that does not use the consumer protocol.</summary>
    public abstract ErrorCode ValidateOffsetDelete();

    /// <summary>Checks a DeleteGroups: NON_EMPTY_GROUP while members remain.</summary>
    public abstract ErrorCode ValidateDeleteGroup();

    /// <summary>True when live members subscribe to <paramref name="topic"/> (OffsetDelete answers GROUP_SUBSCRIBED_TO_TOPIC).</summary>
    public abstract bool IsSubscribedToTopic(string topic);

    /// <summary>
    /// When committed offsets of this group may expire (Kafka's <c>offsetExpirationCondition</c>): the timestamp an
    /// offset's age is measured from, or null when the group's offsets do not expire now.
    /// </summary>
    public abstract Func<OffsetAndMetadata, long>? OffsetExpirationBase();

    /// <summary>Marks the group dead (deleted or unloaded) and answers every waiting request with <paramref name="error"/>.</summary>
    public abstract void Close(ErrorCode error);
}
