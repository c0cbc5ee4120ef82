using Samsa.Protocol;
using Samsa.Protocol.GroupCoordinatorRecords;

namespace Samsa.Broker.Groups.Consumer;

/// <summary>
/// The KIP-848 records of <c>__consumer_offsets</c> (Kafka's <c>GroupCoordinatorRecordHelpers</c>): the key
/// version is the record type (3 group epoch, 4 subscribed topic metadata, 5 member metadata, 6 target assignment
/// epoch, 7 member target assignment, 8 member current assignment); values are version 0. A null value is a
/// tombstone. Replayed by <see cref="ConsumerGroup.Replay"/>.
/// </summary>
public static class ConsumerGroupRecords
{
    public const short GroupMetadataType = 3;
    public const short PartitionMetadataType = 4;
    public const short MemberMetadataType = 5;
    public const short TargetAssignmentMetadataType = 6;
    public const short TargetAssignmentMemberType = 7;
    public const short CurrentMemberAssignmentType = 8;

    public static CoordinatorRecord GroupEpoch(string groupId, int epoch) =>
        new(GroupMetadataType, new ConsumerGroupMetadataKey { GroupId = groupId }, 0, new ConsumerGroupMetadataValue { Epoch = epoch });

    public static CoordinatorRecord GroupEpochTombstone(string groupId) =>
        new(GroupMetadataType, new ConsumerGroupMetadataKey { GroupId = groupId }, 0, null);

    public static CoordinatorRecord SubscriptionMetadata(string groupId, IReadOnlyDictionary<string, SubscribedTopic> topics) =>
        new(PartitionMetadataType, new ConsumerGroupPartitionMetadataKey { GroupId = groupId }, 0, new ConsumerGroupPartitionMetadataValue
        {
            Topics = [.. topics.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new ConsumerGroupPartitionMetadataValue.TopicMetadata
            {
                TopicId = t.Value.TopicId,
                TopicName = t.Key,
                NumPartitions = t.Value.PartitionCount,
            })],
        });

    public static CoordinatorRecord SubscriptionMetadataTombstone(string groupId) =>
        new(PartitionMetadataType, new ConsumerGroupPartitionMetadataKey { GroupId = groupId }, 0, null);

    public static CoordinatorRecord MemberMetadata(string groupId, ConsumerGroupMember member) =>
        new(MemberMetadataType, new ConsumerGroupMemberMetadataKey { GroupId = groupId, MemberId = member.MemberId }, 0, new ConsumerGroupMemberMetadataValue
        {
            InstanceId = member.InstanceId,
            RackId = member.RackId,
            ClientId = member.ClientId,
            ClientHost = member.ClientHost,
            SubscribedTopicNames = [.. member.SubscribedTopicNames],
            SubscribedTopicRegex = member.SubscribedTopicRegex,
            RebalanceTimeoutMs = member.RebalanceTimeoutMs,
            ServerAssignor = member.ServerAssignor,
        });

    public static CoordinatorRecord MemberMetadataTombstone(string groupId, string memberId) =>
        new(MemberMetadataType, new ConsumerGroupMemberMetadataKey { GroupId = groupId, MemberId = memberId }, 0, null);

    public static CoordinatorRecord TargetAssignmentEpoch(string groupId, int epoch) =>
        new(TargetAssignmentMetadataType, new ConsumerGroupTargetAssignmentMetadataKey { GroupId = groupId }, 0,
            new ConsumerGroupTargetAssignmentMetadataValue { AssignmentEpoch = epoch });

    public static CoordinatorRecord TargetAssignmentEpochTombstone(string groupId) =>
        new(TargetAssignmentMetadataType, new ConsumerGroupTargetAssignmentMetadataKey { GroupId = groupId }, 0, null);

    public static CoordinatorRecord TargetAssignment(string groupId, string memberId, Assignment assignment) =>
        new(TargetAssignmentMemberType, new ConsumerGroupTargetAssignmentMemberKey { GroupId = groupId, MemberId = memberId }, 0,
            new ConsumerGroupTargetAssignmentMemberValue
            {
                TopicPartitions = [.. assignment.Sorted().Select(t => new ConsumerGroupTargetAssignmentMemberValue.TopicPartition { TopicId = t.Key, Partitions = [.. t.Value] })],
            });

    public static CoordinatorRecord TargetAssignmentTombstone(string groupId, string memberId) =>
        new(TargetAssignmentMemberType, new ConsumerGroupTargetAssignmentMemberKey { GroupId = groupId, MemberId = memberId }, 0, null);

    public static CoordinatorRecord CurrentAssignment(string groupId, ConsumerGroupMember member) =>
        new(CurrentMemberAssignmentType, new ConsumerGroupCurrentMemberAssignmentKey { GroupId = groupId, MemberId = member.MemberId }, 0,
            new ConsumerGroupCurrentMemberAssignmentValue
            {
                MemberEpoch = member.MemberEpoch,
                PreviousMemberEpoch = member.PreviousMemberEpoch,
                State = (sbyte)member.State,
                AssignedPartitions = ToRecord(member.AssignedPartitions),
                PartitionsPendingRevocation = ToRecord(member.PartitionsPendingRevocation),
            });

    public static CoordinatorRecord CurrentAssignmentTombstone(string groupId, string memberId) =>
        new(CurrentMemberAssignmentType, new ConsumerGroupCurrentMemberAssignmentKey { GroupId = groupId, MemberId = memberId }, 0, null);

    private static List<ConsumerGroupCurrentMemberAssignmentValue.TopicPartitions> ToRecord(Assignment assignment) =>
        [.. assignment.Sorted().Select(t => new ConsumerGroupCurrentMemberAssignmentValue.TopicPartitions { TopicId = t.Key, Partitions = [.. t.Value] })];

    /// <summary>Decodes the key and value of a KIP-848 record type; null for any other type.</summary>
    public static (IProtocolStruct Key, IProtocolStruct? Value)? Parse(short type, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, short valueVersion, bool valueIsNull) => type switch
    {
        GroupMetadataType => (Read<ConsumerGroupMetadataKey>(key, type), valueIsNull ? null : Read<ConsumerGroupMetadataValue>(value, valueVersion)),
        PartitionMetadataType => (Read<ConsumerGroupPartitionMetadataKey>(key, type), valueIsNull ? null : Read<ConsumerGroupPartitionMetadataValue>(value, valueVersion)),
        MemberMetadataType => (Read<ConsumerGroupMemberMetadataKey>(key, type), valueIsNull ? null : Read<ConsumerGroupMemberMetadataValue>(value, valueVersion)),
        TargetAssignmentMetadataType => (Read<ConsumerGroupTargetAssignmentMetadataKey>(key, type), valueIsNull ? null : Read<ConsumerGroupTargetAssignmentMetadataValue>(value, valueVersion)),
        TargetAssignmentMemberType => (Read<ConsumerGroupTargetAssignmentMemberKey>(key, type), valueIsNull ? null : Read<ConsumerGroupTargetAssignmentMemberValue>(value, valueVersion)),
        CurrentMemberAssignmentType => (Read<ConsumerGroupCurrentMemberAssignmentKey>(key, type), valueIsNull ? null : Read<ConsumerGroupCurrentMemberAssignmentValue>(value, valueVersion)),
        _ => null,
    };

    private static T Read<T>(ReadOnlySpan<byte> bytes, short version)
        where T : IProtocolStruct, new()
    {
        var reader = new ProtocolReader(bytes);
        var message = new T();
        message.Read(ref reader, version);
        return message;
    }

    /// <summary>The group id a KIP-848 record key names, or null for another record.</summary>
    public static string? GroupIdOf(IProtocolStruct key) => key switch
    {
        ConsumerGroupMetadataKey k => k.GroupId,
        ConsumerGroupPartitionMetadataKey k => k.GroupId,
        ConsumerGroupMemberMetadataKey k => k.GroupId,
        ConsumerGroupTargetAssignmentMetadataKey k => k.GroupId,
        ConsumerGroupTargetAssignmentMemberKey k => k.GroupId,
        ConsumerGroupCurrentMemberAssignmentKey k => k.GroupId,
        _ => null,
    };
}

/// <summary>One subscribed topic as the group last saw it: what the assignor works from.</summary>
public readonly record struct SubscribedTopic(Uuid TopicId, int PartitionCount);
