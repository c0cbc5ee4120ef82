namespace Samsa.Broker.Groups.Consumer;

/// <summary>Where a member is in its reconciliation (Kafka's <c>MemberState</c>; the byte is what the records store).</summary>
public enum MemberState : sbyte
{
    /// <summary>The member owns exactly its assignment at the current epoch.</summary>
    Stable = 0,

    /// <summary>The member must give up partitions before it may move to the next epoch.</summary>
    UnrevokedPartitions = 1,

    /// <summary>The member is at the latest epoch but waits for partitions other members still own.</summary>
    UnreleasedPartitions = 2,

    /// <summary>A state written by a newer broker; the member is fenced and rejoins from scratch.</summary>
    Unknown = 127,
}

/// <summary>
/// One member of a KIP-848 consumer group (Kafka's <c>ConsumerGroupMember</c>). Immutable: the coordinator
/// derives a new member and writes the records that say so; replaying those records rebuilds the same value.
/// </summary>
public sealed record ConsumerGroupMember
{
    /// <summary>Epoch that a static member leaving temporarily announces (and keeps while it is away).</summary>
    public const int LeaveGroupStaticMemberEpoch = -2;

    /// <summary>Epoch that a member leaving for good announces.</summary>
    public const int LeaveGroupMemberEpoch = -1;

    public required string MemberId { get; init; }

    public string? InstanceId { get; init; }

    public string? RackId { get; init; }

    public string ClientId { get; init; } = "";

    public string ClientHost { get; init; } = "";

    public IReadOnlyList<string> SubscribedTopicNames { get; init; } = [];

    public string? SubscribedTopicRegex { get; init; }

    public int RebalanceTimeoutMs { get; init; } = -1;

    public string? ServerAssignor { get; init; }

    public int MemberEpoch { get; init; }

    public int PreviousMemberEpoch { get; init; }

    public MemberState State { get; init; } = MemberState.Stable;

    /// <summary>Partitions the member owns (or is being given) at <see cref="MemberEpoch"/>.</summary>
    public Assignment AssignedPartitions { get; init; } = Assignment.Empty;

    /// <summary>Partitions the member still owns but must give up before moving on.</summary>
    public Assignment PartitionsPendingRevocation { get; init; } = Assignment.Empty;

    public bool IsStatic => InstanceId is not null;

    /// <summary>Moves to <paramref name="epoch"/>, remembering the previous one for a member whose response was lost.</summary>
    public ConsumerGroupMember WithEpoch(int epoch) =>
        epoch == MemberEpoch ? this : this with { PreviousMemberEpoch = MemberEpoch, MemberEpoch = epoch };

    /// <summary>Same assignment state (epochs, state, partitions): decides whether a CurrentMemberAssignment record is due.</summary>
    public bool SameAssignmentAs(ConsumerGroupMember other) =>
        MemberEpoch == other.MemberEpoch && PreviousMemberEpoch == other.PreviousMemberEpoch && State == other.State &&
        AssignedPartitions.Equals(other.AssignedPartitions) && PartitionsPendingRevocation.Equals(other.PartitionsPendingRevocation);

    /// <summary>Same member metadata: decides whether a ConsumerGroupMemberMetadata record is due.</summary>
    public bool SameMetadataAs(ConsumerGroupMember other) =>
        InstanceId == other.InstanceId && RackId == other.RackId && ClientId == other.ClientId && ClientHost == other.ClientHost &&
        SubscribedTopicNames.SequenceEqual(other.SubscribedTopicNames) && SubscribedTopicRegex == other.SubscribedTopicRegex &&
        RebalanceTimeoutMs == other.RebalanceTimeoutMs && ServerAssignor == other.ServerAssignor;

    /// <summary>Whether what the assignor sees (subscriptions, rack, assignor) differs: such a change bumps the group epoch.</summary>
    public bool SameSubscriptionAs(ConsumerGroupMember other) =>
        SubscribedTopicNames.OrderBy(n => n, StringComparer.Ordinal).SequenceEqual(other.SubscribedTopicNames.OrderBy(n => n, StringComparer.Ordinal)) &&
        SubscribedTopicRegex == other.SubscribedTopicRegex && RackId == other.RackId && ServerAssignor == other.ServerAssignor;
}
