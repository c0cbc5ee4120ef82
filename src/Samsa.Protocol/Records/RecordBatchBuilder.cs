using System.Buffers.Binary;
using System.Text;

namespace Samsa.Protocol.Records;

/// <summary>Control record types (Kafka's <c>ControlRecordType</c>), the key of a control batch's only record.</summary>
public enum ControlRecordType : short
{
    Abort = 0,
    Commit = 1,
}

/// <summary>
/// Builds one v2 batch: records are encoded uncompressed into a pooled buffer, then the header is written
/// and the records section compressed behind it, and finally the CRC over attributes .. end.
/// Mirrors what Kafka's <c>MemoryRecordsBuilder</c> produces for magic 2 (baseTimestamp is the first
/// record's timestamp, or the delete horizon when one is set).
/// </summary>
public sealed class RecordBatchBuilder : IDisposable
{
    private readonly PooledBuffer _records = new(16 * 1024);
    private int _count;
    private int _lastOffsetDelta = -1;
    private long _baseTimestamp = RecordBatch.NoTimestamp;
    private long _maxTimestamp = RecordBatch.NoTimestamp;
    private bool _baseTimestampSet;

    public RecordBatchBuilder()
    {
    }

    /// <summary>
    /// A builder that rewrites the batch <paramref name="original"/> (compaction, recompression): same codec, base
    /// offset, leader epoch, timestamp type, producer id/epoch/sequence, transactional flag and log append time;
    /// an object initializer may override any of them (the codec when recompressing).
    /// </summary>
    public RecordBatchBuilder(in RecordBatchHeader original)
    {
        Compression = original.Compression;
        BaseOffset = original.BaseOffset;
        PartitionLeaderEpoch = original.PartitionLeaderEpoch;
        TimestampType = original.TimestampType;
        ProducerId = original.ProducerId;
        ProducerEpoch = original.ProducerEpoch;
        BaseSequence = original.BaseSequence;
        IsTransactional = original.IsTransactional;
        LogAppendTime = original.TimestampType == TimestampType.LogAppendTime ? original.MaxTimestamp : null;
    }

    public CompressionType Compression { get; init; } = CompressionType.None;
    public int CompressionLevel { get; init; } = -1;
    public long BaseOffset { get; init; }
    public int PartitionLeaderEpoch { get; init; } = RecordBatch.NoPartitionLeaderEpoch;
    public TimestampType TimestampType { get; init; } = TimestampType.CreateTime;
    public long ProducerId { get; init; } = RecordBatch.NoProducerId;
    public short ProducerEpoch { get; init; } = RecordBatch.NoProducerEpoch;
    public int BaseSequence { get; init; } = RecordBatch.NoSequence;
    public bool IsTransactional { get; init; }
    public bool IsControl { get; init; }

    /// <summary>KIP-534: when set, stored in baseTimestamp with attribute bit 6, and record deltas are taken from it.</summary>
    public long? DeleteHorizonMs
    {
        get => _deleteHorizon;
        init
        {
            _deleteHorizon = value;
            if (value is { } horizon)
            {
                _baseTimestamp = horizon;
                _baseTimestampSet = true;
            }
        }
    }

    private readonly long? _deleteHorizon;

    /// <summary>Set for a LogAppendTime batch so maxTimestamp is the broker's clock, not the records'.</summary>
    public long? LogAppendTime { get; init; }

    public int Count => _count;

    public int UncompressedRecordsSize => _records.Length;

    /// <summary>Appends a record with the next offset delta.</summary>
    public void Append(long timestamp, byte[]? key, byte[]? value, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers = null) =>
        Append(_lastOffsetDelta + 1, timestamp, key, key is null, value, value is null, headers);

    public void Append(int offsetDelta, long timestamp, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull,
        IReadOnlyList<KeyValuePair<string, byte[]?>>? headers = null)
    {
        var headerBytes = 0;
        if (headers is not null)
        {
            foreach (var (k, v) in headers)
            {
                var kl = Encoding.UTF8.GetByteCount(k);
                headerBytes += ProtocolSize.VarInt(kl) + kl + (v is null ? 1 : ProtocolSize.VarInt(v.Length) + v.Length);
            }
        }
        var scratch = new PooledBuffer(headerBytes + 16);
        try
        {
            if (headers is not null)
            {
                var w = new ProtocolWriter(scratch.GetSpan(headerBytes)[..headerBytes]);
                foreach (var (k, v) in headers)
                {
                    var kb = Encoding.UTF8.GetBytes(k);
                    w.WriteVarInt(kb.Length);
                    w.WriteRaw(kb);
                    w.WriteVarInt(v is null ? -1 : v.Length);
                    w.WriteRaw(v);
                }
                scratch.Advance(headerBytes);
            }
            AppendRaw(offsetDelta, timestamp, key, keyIsNull, value, valueIsNull, headers?.Count ?? 0, scratch.WrittenSpan);
        }
        finally
        {
            scratch.Dispose();
        }
    }

    /// <summary>Appends a record whose headers are already encoded (as <see cref="Record.HeaderBytes"/> holds them).</summary>
    public void AppendRaw(int offsetDelta, long timestamp, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull,
        int headerCount, ReadOnlySpan<byte> headerBytes)
    {
        if (offsetDelta <= _lastOffsetDelta)
        {
            throw new ArgumentException($"Offset delta {offsetDelta} is not above the previous {_lastOffsetDelta}");
        }
        if (!_baseTimestampSet)
        {
            _baseTimestamp = timestamp;
            _baseTimestampSet = true;
        }
        var timestampDelta = timestamp - _baseTimestamp;
        var body = 1 + ProtocolSize.VarLong(timestampDelta) + ProtocolSize.VarInt(offsetDelta)
            + (keyIsNull ? 1 : ProtocolSize.VarInt(key.Length) + key.Length)
            + (valueIsNull ? 1 : ProtocolSize.VarInt(value.Length) + value.Length)
            + ProtocolSize.VarInt(headerCount) + headerBytes.Length;
        var total = ProtocolSize.VarInt(body) + body;
        var w = new ProtocolWriter(_records.GetSpan(total)[..total]);
        w.WriteVarInt(body);
        w.WriteInt8(0);
        w.WriteVarLong(timestampDelta);
        w.WriteVarInt(offsetDelta);
        w.WriteVarInt(keyIsNull ? -1 : key.Length);
        w.WriteRaw(key);
        w.WriteVarInt(valueIsNull ? -1 : value.Length);
        w.WriteRaw(value);
        w.WriteVarInt(headerCount);
        w.WriteRaw(headerBytes);
        _records.Advance(total);
        _count++;
        _lastOffsetDelta = offsetDelta;
        if (timestamp > _maxTimestamp)
        {
            _maxTimestamp = timestamp;
        }
    }

    /// <summary>Overrides lastOffsetDelta (an empty retained batch keeps its original range, as Kafka's cleaner does).</summary>
    public int? LastOffsetDeltaOverride { get; set; }

    /// <summary>Writes the finished batch into <paramref name="output"/>; returns its size.</summary>
    public int Build(PooledBuffer output)
    {
        var start = output.Length;
        output.GetSpan(RecordBatch.HeaderSize);
        output.Advance(RecordBatch.HeaderSize);
        RecordCompression.Compress(Compression, _records.WrittenSpan, output, CompressionLevel);
        var batch = output.WrittenSpan[start..];
        var attributes = (short)((int)Compression
            | (TimestampType == TimestampType.LogAppendTime ? RecordBatch.TimestampTypeMask : 0)
            | (IsTransactional ? RecordBatch.TransactionalMask : 0)
            | (IsControl ? RecordBatch.ControlMask : 0)
            | (_deleteHorizon is not null ? RecordBatch.DeleteHorizonMask : 0));
        BinaryPrimitives.WriteInt64BigEndian(batch, BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.LengthOffset..], batch.Length - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.PartitionLeaderEpochOffset..], PartitionLeaderEpoch);
        batch[RecordBatch.MagicOffset] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.AttributesOffset..], attributes);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..], LastOffsetDeltaOverride ?? Math.Max(_lastOffsetDelta, 0));
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.BaseTimestampOffset..], _baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.MaxTimestampOffset..], LogAppendTime ?? _maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.ProducerIdOffset..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.ProducerEpochOffset..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.BaseSequenceOffset..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.RecordCountOffset..], _count);
        RecordBatch.UpdateCrc(batch);
        return batch.Length;
    }

    public byte[] Build()
    {
        using var output = new PooledBuffer(_records.Length + RecordBatch.HeaderSize + 64);
        Build(output);
        return output.ToArray();
    }

    /// <summary>A transaction marker batch (KIP-98): one control record, key = (version 0, type), value = (version 0, coordinator epoch).</summary>
    public static byte[] EndTransactionMarker(ControlRecordType type, long producerId, short producerEpoch, int coordinatorEpoch, long timestamp)
    {
        using var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = producerEpoch, IsTransactional = true, IsControl = true };
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key[2..], (short)type);
        Span<byte> value = stackalloc byte[6];
        BinaryPrimitives.WriteInt16BigEndian(value, 0);
        BinaryPrimitives.WriteInt32BigEndian(value[2..], coordinatorEpoch);
        builder.AppendRaw(0, timestamp, key, false, value, false, 0, default);
        return builder.Build();
    }

    public void Dispose() => _records.Dispose();
}
