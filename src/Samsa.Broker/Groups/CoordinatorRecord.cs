using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.GroupCoordinatorRecords;

namespace Samsa.Broker.Groups;

/// <summary>
/// One record of <c>__consumer_offsets</c>, in Kafka's layout so the files are interchangeable with Kafka's:
/// the key is an int16 version followed by the key struct, the value an int16 version followed by the value
/// struct, and a null value is a tombstone (compaction removes the key). The key version doubles as the record
/// type (Kafka's <c>CoordinatorRecordType</c>): 0 and 1 offset commit, 2 classic group metadata, 3 and up the
/// KIP-848 consumer group records (ConsumerGroupMetadataKey = 3, ...), which a KIP-848 coordinator adds here.
/// </summary>
public sealed record CoordinatorRecord(short KeyVersion, IProtocolStruct Key, short ValueVersion, IProtocolStruct? Value)
{
    /// <summary>Record type of an offset commit written by Kafka 0.9+ (type 0 is the same layout, older writers).</summary>
    public const short OffsetCommitType = 1;

    /// <summary>Record type of a classic group's metadata.</summary>
    public const short GroupMetadataType = 2;

    /// <summary>
    /// An offset commit. Kafka writes value version 1 when the commit carries an expire timestamp (OffsetCommit
    /// v2-4 with a retention time) and version 3 otherwise.
    /// </summary>
    public static CoordinatorRecord OffsetCommit(string groupId, string topic, int partition, OffsetAndMetadata offset) =>
        new(OffsetCommitType, new OffsetCommitKey { group = groupId, topic = topic, partition = partition },
            offset.ExpireTimestampMs is null ? (short)3 : (short)1,
            new OffsetCommitValue
            {
                offset = offset.Offset,
                leaderEpoch = offset.LeaderEpoch,
                metadata = offset.Metadata,
                commitTimestamp = offset.CommitTimestampMs,
                expireTimestamp = offset.ExpireTimestampMs ?? -1,
            });

    public static CoordinatorRecord OffsetCommitTombstone(string groupId, string topic, int partition) =>
        new(OffsetCommitType, new OffsetCommitKey { group = groupId, topic = topic, partition = partition }, 0, null);

    /// <summary>A classic group's metadata; Kafka writes value version 3.</summary>
    public static CoordinatorRecord GroupMetadata(string groupId, GroupMetadataValue value) =>
        new(GroupMetadataType, new GroupMetadataKey { group = groupId }, 3, value);

    public static CoordinatorRecord GroupMetadataTombstone(string groupId) =>
        new(GroupMetadataType, new GroupMetadataKey { group = groupId }, 0, null);

    public byte[] KeyBytes() => WithVersion(KeyVersion, Key);

    public byte[]? ValueBytes() => Value is null ? null : WithVersion(ValueVersion, Value);

    private static byte[] WithVersion(short version, IProtocolStruct message)
    {
        var bytes = new byte[2 + message.Size(version)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, version);
        var writer = new ProtocolWriter(bytes.AsSpan(2));
        message.Write(ref writer, version);
        return bytes;
    }

    /// <summary>
    /// Decodes a record read back from the log. Record types this coordinator does not know (KIP-848 or share
    /// groups written by another version) come back as null so replay can skip them, as Kafka's loader does for
    /// types it does not handle. Malformed bytes throw <see cref="ProtocolException"/>.
    /// </summary>
    public static CoordinatorRecord? Parse(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        if (key.Length < 2)
        {
            throw new ProtocolException($"Coordinator record key of {key.Length} bytes has no version");
        }
        var keyVersion = BinaryPrimitives.ReadInt16BigEndian(key);
        IProtocolStruct keyStruct;
        IProtocolStruct? valueStruct = null;
        short valueVersion = 0;
        if (!valueIsNull)
        {
            if (value.Length < 2)
            {
                throw new ProtocolException($"Coordinator record value of {value.Length} bytes has no version");
            }
            valueVersion = BinaryPrimitives.ReadInt16BigEndian(value);
        }
        switch (keyVersion)
        {
            case 0 or OffsetCommitType:
                keyStruct = Read<OffsetCommitKey>(key[2..], keyVersion);
                valueStruct = valueIsNull ? null : Read<OffsetCommitValue>(value[2..], valueVersion);
                break;
            case GroupMetadataType:
                keyStruct = Read<GroupMetadataKey>(key[2..], keyVersion);
                valueStruct = valueIsNull ? null : Read<GroupMetadataValue>(value[2..], valueVersion);
                break;
            default:
                return null;
        }
        return new CoordinatorRecord(keyVersion, keyStruct, valueVersion, valueStruct);
    }

    private static T Read<T>(ReadOnlySpan<byte> bytes, short version)
        where T : IProtocolStruct, new()
    {
        var reader = new ProtocolReader(bytes);
        var message = new T();
        message.Read(ref reader, version);
        return message;
    }
}
