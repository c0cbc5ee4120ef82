using Samsa.Protocol;
using Samsa.Protocol.GroupCoordinatorRecords;

namespace Samsa.Broker.Groups.Consumer;

/// <summary>
/// A KIP-848 consumer group (Kafka's <c>ConsumerGroup</c>): members driven by ConsumerGroupHeartbeat, a group
/// epoch bumped by every membership or subscription change, a target assignment computed by a server-side
/// assignor at an assignment epoch, and each member reconciling towards it at its own member epoch.
/// </summary>
/// <remarks>
/// <see cref="Replay"/> is the only mutator: the coordinator writes records, and the same records rebuild the
/// group when <c>__consumer_offsets</c> is loaded. Every method runs under the owning shard's lock.
/// </remarks>
public sealed class ConsumerGroup(string groupId) : Group(groupId)
{
    private readonly Dictionary<string, ConsumerGroupMember> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Assignment> _targetAssignment = new(StringComparer.Ordinal);
    private readonly Dictionary<TopicIdPartition, int> _partitionEpochs = [];
    private bool _dead;

    public override GroupType Type => GroupType.Consumer;

    /// <summary>Bumped by every change the assignor must see (members, subscriptions, topic partitions).</summary>
    public int GroupEpoch { get; private set; }

    /// <summary>The group epoch the current target assignment was computed for.</summary>
    public int AssignmentEpoch { get; private set; }

    /// <summary>Subscribed topics by name, as last written in ConsumerGroupPartitionMetadata.</summary>
    public IReadOnlyDictionary<string, SubscribedTopic> SubscriptionMetadata { get; private set; } = new Dictionary<string, SubscribedTopic>();

    public IReadOnlyDictionary<string, ConsumerGroupMember> Members => _members;

    public IReadOnlyDictionary<string, Assignment> TargetAssignment => _targetAssignment;

    /// <summary>Kafka's ConsumerGroupState names: Empty, Assigning, Reconciling, Stable, Dead.</summary>
    public override string StateName =>
        _dead ? "Dead"
        : _members.Count == 0 ? "Empty"
        : GroupEpoch > AssignmentEpoch ? "Assigning"
        : _members.Values.Any(m => m.State != MemberState.Stable || m.MemberEpoch != AssignmentEpoch) ? "Reconciling"
        : "Stable";

    public override string ProtocolType => "consumer";

    public override bool IsEmpty => _members.Count == 0;

    public override bool IsDead => _dead;

    public ConsumerGroupMember? MemberOrNull(string memberId) => _members.GetValueOrDefault(memberId);

    public ConsumerGroupMember? StaticMemberOrNull(string instanceId) => _members.Values.FirstOrDefault(m => m.InstanceId == instanceId);

    public Assignment TargetOf(string memberId) => _targetAssignment.GetValueOrDefault(memberId, Assignment.Empty);

    /// <summary>The epoch of the member owning (assigned or revoking) a partition, or -1 when it is free.</summary>
    public int PartitionEpoch(TopicIdPartition partition) => _partitionEpochs.GetValueOrDefault(partition, -1);

    /// <summary>
    /// Kafka's <c>ConsumerGroup.validateOffsetCommit</c>: a commit without a member (epoch below 0) is accepted
    /// only while the group is empty; a member must exist (UNKNOWN_MEMBER_ID), commit with OffsetCommit v9+
    /// outside transactions (UNSUPPORTED_VERSION), and at its current member epoch (STALE_MEMBER_EPOCH).
    /// </summary>
    public override ErrorCode ValidateOffsetCommit(string memberId, string? groupInstanceId, int generationIdOrMemberEpoch, bool isTransactional, short apiVersion)
    {
        if (generationIdOrMemberEpoch < 0 && _members.Count == 0)
        {
            return ErrorCode.None;
        }
        if (!_members.TryGetValue(memberId, out var member))
        {
            return ErrorCode.UnknownMemberId;
        }
        if (!isTransactional && apiVersion < 9)
        {
            return ErrorCode.UnsupportedVersion;
        }
        return generationIdOrMemberEpoch == member.MemberEpoch ? ErrorCode.None : ErrorCode.StaleMemberEpoch;
    }

    /// <summary>Kafka's <c>validateOffsetFetch</c>: a fetch naming a member (v9+) must carry its current epoch.</summary>
    public override ErrorCode ValidateOffsetFetch(string? memberId, int memberEpoch)
    {
        if (memberEpoch < 0 && memberId is null)
        {
            return ErrorCode.None;
        }
        if (memberId is null || !_members.TryGetValue(memberId, out var member))
        {
            return ErrorCode.UnknownMemberId;
        }
        return memberEpoch == member.MemberEpoch ? ErrorCode.None : ErrorCode.StaleMemberEpoch;
    }

    /// <summary>Consumer groups let OffsetDelete through; subscribed topics are refused per topic.</summary>
    public override ErrorCode ValidateOffsetDelete() => ErrorCode.None;

    public override ErrorCode ValidateDeleteGroup() => _members.Count == 0 ? ErrorCode.None : ErrorCode.NonEmptyGroup;

    public override bool IsSubscribedToTopic(string topic) =>
        _members.Values.Any(m => m.SubscribedTopicNames.Contains(topic, StringComparer.Ordinal));

    /// <summary>Offsets of a consumer group age from their commit time (Kafka's condition for these groups).</summary>
    public override Func<OffsetAndMetadata, long>? OffsetExpirationBase() => offset => offset.CommitTimestampMs;

    /// <summary>Nothing waits on a consumer group (heartbeats answer at once); it only becomes dead.</summary>
    public override void Close(ErrorCode error) => _dead = true;

    /// <summary>Tombstones that delete the group once it is empty (members were tombstoned as they left).</summary>
    public List<CoordinatorRecord> DeleteRecords() =>
    [
        ConsumerGroupRecords.TargetAssignmentEpochTombstone(GroupId),
        ConsumerGroupRecords.SubscriptionMetadataTombstone(GroupId),
        ConsumerGroupRecords.GroupEpochTombstone(GroupId),
    ];

    /// <summary>
    /// Applies one KIP-848 record of this group. Returns false for the group-epoch tombstone, after which the
    /// caller drops the group.
    /// </summary>
    public bool Replay(CoordinatorRecord record)
    {
        switch (record.Key)
        {
            case ConsumerGroupMetadataKey:
                if (record.Value is ConsumerGroupMetadataValue metadata)
                {
                    GroupEpoch = metadata.Epoch;
                    return true;
                }
                _dead = true;
                return false;
            case ConsumerGroupPartitionMetadataKey:
                SubscriptionMetadata = record.Value is ConsumerGroupPartitionMetadataValue partitions
                    ? partitions.Topics.ToDictionary(t => t.TopicName, t => new SubscribedTopic(t.TopicId, t.NumPartitions), StringComparer.Ordinal)
                    : new Dictionary<string, SubscribedTopic>();
                return true;
            case ConsumerGroupMemberMetadataKey key:
                if (record.Value is ConsumerGroupMemberMetadataValue value)
                {
                    var existing = _members.GetValueOrDefault(key.MemberId) ?? new ConsumerGroupMember { MemberId = key.MemberId };
                    _members[key.MemberId] = existing with
                    {
                        InstanceId = value.InstanceId,
                        RackId = value.RackId,
                        ClientId = value.ClientId,
                        ClientHost = value.ClientHost,
                        SubscribedTopicNames = [.. value.SubscribedTopicNames],
                        SubscribedTopicRegex = string.IsNullOrEmpty(value.SubscribedTopicRegex) ? null : value.SubscribedTopicRegex,
                        RebalanceTimeoutMs = value.RebalanceTimeoutMs,
                        ServerAssignor = string.IsNullOrEmpty(value.ServerAssignor) ? null : value.ServerAssignor,
                    };
                }
                else if (_members.Remove(key.MemberId, out var removed))
                {
                    ForgetOwnership(removed);
                }
                return true;
            case ConsumerGroupTargetAssignmentMetadataKey:
                AssignmentEpoch = record.Value is ConsumerGroupTargetAssignmentMetadataValue target ? target.AssignmentEpoch : 0;
                return true;
            case ConsumerGroupTargetAssignmentMemberKey key:
                if (record.Value is ConsumerGroupTargetAssignmentMemberValue memberTarget)
                {
                    _targetAssignment[key.MemberId] = Assignment.Of(memberTarget.TopicPartitions.Select(t =>
                        new KeyValuePair<Uuid, IEnumerable<int>>(t.TopicId, t.Partitions)));
                }
                else
                {
                    _targetAssignment.Remove(key.MemberId);
                }
                return true;
            case ConsumerGroupCurrentMemberAssignmentKey key:
                {
                    var member = _members.GetValueOrDefault(key.MemberId) ?? new ConsumerGroupMember { MemberId = key.MemberId };
                    ForgetOwnership(member);
                    member = record.Value is ConsumerGroupCurrentMemberAssignmentValue current
                        ? member with
                        {
                            MemberEpoch = current.MemberEpoch,
                            PreviousMemberEpoch = current.PreviousMemberEpoch,
                            State = Enum.IsDefined((MemberState)current.State) ? (MemberState)current.State : MemberState.Unknown,
                            AssignedPartitions = FromRecord(current.AssignedPartitions),
                            PartitionsPendingRevocation = FromRecord(current.PartitionsPendingRevocation),
                        }
                        : member with
                        {
                            MemberEpoch = 0,
                            PreviousMemberEpoch = 0,
                            State = MemberState.Stable,
                            AssignedPartitions = Assignment.Empty,
                            PartitionsPendingRevocation = Assignment.Empty,
                        };
                    _members[key.MemberId] = member;
                    TakeOwnership(member);
                    return true;
                }
            default:
                return true;
        }
    }

    private static Assignment FromRecord(List<ConsumerGroupCurrentMemberAssignmentValue.TopicPartitions> topics) =>
        Assignment.Of(topics.Select(t => new KeyValuePair<Uuid, IEnumerable<int>>(t.TopicId, t.Partitions)));

    private void ForgetOwnership(ConsumerGroupMember member)
    {
        foreach (var p in member.AssignedPartitions.All().Concat(member.PartitionsPendingRevocation.All()))
        {
            _partitionEpochs.Remove(p);
        }
    }

    private void TakeOwnership(ConsumerGroupMember member)
    {
        foreach (var p in member.AssignedPartitions.All().Concat(member.PartitionsPendingRevocation.All()))
        {
            // One owner per partition is CurrentAssignmentBuilder's invariant (CurrentAssignmentBuilderTests).
            _partitionEpochs[p] = member.MemberEpoch;
        }
    }
}
