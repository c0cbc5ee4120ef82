using System.Buffers.Binary;

namespace Samsa.Protocol.Records;

/// <summary>
/// Layout of a magic-2 record batch, as documented in Kafka's "Message Format" page and
/// <c>DefaultRecordBatch</c>:
/// <code>
/// baseOffset: int64            @0    (not covered by the CRC)
/// batchLength: int32           @8    (bytes after this field)
/// partitionLeaderEpoch: int32  @12   (not covered by the CRC)
/// magic: int8 (= 2)            @16
/// crc: uint32 (CRC-32C)        @17   (covers attributes .. end of batch)
/// attributes: int16            @21   bit 0-2 compression, 3 timestamp type, 4 transactional,
///                                    5 control, 6 has delete horizon (KIP-534)
/// lastOffsetDelta: int32       @23
/// baseTimestamp: int64         @27   (the delete horizon when bit 6 is set)
/// maxTimestamp: int64          @35
/// producerId: int64            @43
/// producerEpoch: int16         @51
/// baseSequence: int32          @53
/// recordCount: int32           @57
/// records                      @61
/// </code>
/// </summary>
public static class RecordBatch
{
    public const int BaseOffsetOffset = 0;
    public const int LengthOffset = 8;
    public const int PartitionLeaderEpochOffset = 12;
    public const int MagicOffset = 16;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;
    public const int LastOffsetDeltaOffset = 23;
    public const int BaseTimestampOffset = 27;
    public const int MaxTimestampOffset = 35;
    public const int ProducerIdOffset = 43;
    public const int ProducerEpochOffset = 51;
    public const int BaseSequenceOffset = 53;
    public const int RecordCountOffset = 57;
    public const int RecordsOffset = 61;

    /// <summary>Bytes before the first record.</summary>
    public const int HeaderSize = RecordsOffset;

    /// <summary>baseOffset + batchLength: the bytes not counted in batchLength (Kafka's LOG_OVERHEAD).</summary>
    public const int LogOverhead = 12;

    /// <summary>Smallest legal batch: a header and no records.</summary>
    public const int MinBatchSize = HeaderSize;

    public const byte CurrentMagic = 2;
    public const long NoTimestamp = -1;
    public const long NoProducerId = -1;
    public const short NoProducerEpoch = -1;
    public const int NoSequence = -1;
    public const int NoPartitionLeaderEpoch = -1;

    public const short CompressionMask = 0x07;
    public const short TimestampTypeMask = 0x08;
    public const short TransactionalMask = 0x10;
    public const short ControlMask = 0x20;
    public const short DeleteHorizonMask = 0x40;

    /// <summary>The CRC of a complete batch as stored, recomputed over attributes .. end.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> batch) => Crc32C.Compute(batch[AttributesOffset..]);

    /// <summary>Rewrites the stored CRC after a field it covers was changed (attributes, max timestamp).</summary>
    public static void UpdateCrc(Span<byte> batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], ComputeCrc(batch));

    /// <summary>Offset assignment: baseOffset and partitionLeaderEpoch sit outside the CRC, so no recomputation.</summary>
    public static void SetBaseOffsetAndEpoch(Span<byte> batch, long baseOffset, int partitionLeaderEpoch)
    {
        BinaryPrimitives.WriteInt64BigEndian(batch[BaseOffsetOffset..], baseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch[PartitionLeaderEpochOffset..], partitionLeaderEpoch);
    }

    /// <summary>
    /// What Kafka's <c>setMaxTimestamp(LOG_APPEND_TIME, now)</c> does: set the timestamp-type bit and the max
    /// timestamp, then recompute the CRC. Record timestamps are left alone; readers take the batch's.
    /// </summary>
    public static void SetLogAppendTime(Span<byte> batch, long timestamp)
    {
        var attributes = BinaryPrimitives.ReadInt16BigEndian(batch[AttributesOffset..]);
        BinaryPrimitives.WriteInt16BigEndian(batch[AttributesOffset..], (short)(attributes | TimestampTypeMask));
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestampOffset..], timestamp);
        UpdateCrc(batch);
    }

    /// <summary>Total size of the batch starting at <paramref name="buffer"/>, from its length field; -1 if fewer than 12 bytes.</summary>
    public static int TotalSize(ReadOnlySpan<byte> buffer) =>
        buffer.Length < LogOverhead ? -1 : BinaryPrimitives.ReadInt32BigEndian(buffer[LengthOffset..]) + LogOverhead;
}

/// <summary>The 61-byte header of a v2 batch, parsed. A plain struct so storage can keep it off the heap.</summary>
public readonly struct RecordBatchHeader
{
    public long BaseOffset { get; init; }
    public int BatchLength { get; init; }
    public int PartitionLeaderEpoch { get; init; }
    public byte Magic { get; init; }
    public uint Crc { get; init; }
    public short Attributes { get; init; }
    public int LastOffsetDelta { get; init; }
    public long BaseTimestamp { get; init; }
    public long MaxTimestamp { get; init; }
    public long ProducerId { get; init; }
    public short ProducerEpoch { get; init; }
    public int BaseSequence { get; init; }
    public int RecordCount { get; init; }

    public int SizeInBytes => BatchLength + RecordBatch.LogOverhead;
    public long LastOffset => BaseOffset + LastOffsetDelta;
    public long NextOffset => LastOffset + 1;
    public CompressionType Compression => (CompressionType)(Attributes & RecordBatch.CompressionMask);
    public TimestampType TimestampType => (Attributes & RecordBatch.TimestampTypeMask) != 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime;
    public bool IsTransactional => (Attributes & RecordBatch.TransactionalMask) != 0;
    public bool IsControl => (Attributes & RecordBatch.ControlMask) != 0;
    public bool HasDeleteHorizon => (Attributes & RecordBatch.DeleteHorizonMask) != 0;
    public bool HasProducerId => ProducerId >= 0;

    /// <summary>Parses the header; the span must hold at least <see cref="RecordBatch.HeaderSize"/> bytes.</summary>
    public static RecordBatchHeader Read(ReadOnlySpan<byte> b)
    {
        if (b.Length < RecordBatch.HeaderSize)
        {
            throw new ProtocolException($"Record batch header needs {RecordBatch.HeaderSize} bytes, got {b.Length}");
        }
        return new RecordBatchHeader
        {
            BaseOffset = BinaryPrimitives.ReadInt64BigEndian(b),
            BatchLength = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.LengthOffset..]),
            PartitionLeaderEpoch = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.PartitionLeaderEpochOffset..]),
            Magic = b[RecordBatch.MagicOffset],
            Crc = BinaryPrimitives.ReadUInt32BigEndian(b[RecordBatch.CrcOffset..]),
            Attributes = BinaryPrimitives.ReadInt16BigEndian(b[RecordBatch.AttributesOffset..]),
            LastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.LastOffsetDeltaOffset..]),
            BaseTimestamp = BinaryPrimitives.ReadInt64BigEndian(b[RecordBatch.BaseTimestampOffset..]),
            MaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(b[RecordBatch.MaxTimestampOffset..]),
            ProducerId = BinaryPrimitives.ReadInt64BigEndian(b[RecordBatch.ProducerIdOffset..]),
            ProducerEpoch = BinaryPrimitives.ReadInt16BigEndian(b[RecordBatch.ProducerEpochOffset..]),
            BaseSequence = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.BaseSequenceOffset..]),
            RecordCount = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.RecordCountOffset..]),
        };
    }

    public override string ToString() =>
        $"RecordBatch(baseOffset={BaseOffset}, lastOffset={LastOffset}, size={SizeInBytes}, epoch={PartitionLeaderEpoch}, " +
        $"compression={Compression}, records={RecordCount}, maxTimestamp={MaxTimestamp})";
}
