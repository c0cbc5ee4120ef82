using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Storage;

/// <summary>What validation learned about an append.</summary>
internal struct AppendSummary
{
    public long FirstOffset;
    public long LastOffset;
    public long MaxTimestamp;
    public long OffsetOfMaxTimestamp;
    public int RecordCount;
    public int Batches;
}

/// <summary>
/// Kafka's <c>LogValidator</c> for magic 2, in place: framing, size against max.message.bytes, CRC, record
/// count against lastOffsetDelta, each record's offset delta and timestamp, keys on compacted topics; then
/// (leader appends) base offset and leader epoch are patched into the caller's buffer, and for LogAppendTime
/// topics the max timestamp and CRC too. Uncompressed records are walked in place; compressed ones are
/// decompressed into one pooled buffer per call. Nothing is allocated per record.
/// </summary>
internal static class BatchValidator
{
    public static AppendSummary Validate(Span<byte> records, LogConfig config, long now, bool assignOffsets, long nextOffset, int leaderEpoch, PooledBuffer scratch,
        bool fromClient)
    {
        var summary = new AppendSummary { FirstOffset = -1, LastOffset = -1, MaxTimestamp = RecordBatch.NoTimestamp, OffsetOfMaxTimestamp = -1 };
        if (records.Length > config.SegmentBytes)
        {
            throw new RecordBatchTooLargeException($"Append of {records.Length} bytes exceeds segment.bytes {config.SegmentBytes}");
        }
        var position = 0;
        var expectedNext = nextOffset;
        while (position < records.Length)
        {
            var remaining = records.Length - position;
            if (remaining < RecordBatch.HeaderSize)
            {
                throw new CorruptRecordException($"{remaining} trailing bytes at position {position} are fewer than a batch header");
            }
            var size = BinaryPrimitives.ReadInt32BigEndian(records[(position + RecordBatch.LengthOffset)..]) + (long)RecordBatch.LogOverhead;
            if (size < RecordBatch.HeaderSize || size > remaining)
            {
                throw new CorruptRecordException($"Batch at position {position} declares {size} bytes; {remaining} remain");
            }
            var batch = records.Slice(position, (int)size);
            if (batch[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic)
            {
                throw new InvalidRecordException($"Batch at position {position} has magic {batch[RecordBatch.MagicOffset]}; only magic 2 is accepted");
            }
            if (size > config.MaxMessageBytes)
            {
                throw new RecordTooLargeException($"Batch of {size} bytes exceeds max.message.bytes {config.MaxMessageBytes}");
            }
            var header = RecordBatchHeader.Read(batch);
            if (RecordBatch.ComputeCrc(batch) != header.Crc)
            {
                throw new CorruptRecordException($"Batch at position {position} fails its CRC check");
            }
            ValidateHeader(header, fromClient);
            // Followers copy the leader's bytes: CRC and framing are checked, records were validated by the leader.
            var maxRecordTimestamp = assignOffsets ? ValidateRecords(batch, header, config, now, scratch) : header.MaxTimestamp;
            if (assignOffsets)
            {
                RecordBatch.SetBaseOffsetAndEpoch(batch, expectedNext, leaderEpoch);
                if (config.MessageTimestampLogAppendTime)
                {
                    RecordBatch.SetLogAppendTime(batch, now);
                }
                header = RecordBatchHeader.Read(batch);
            }
            else if (header.BaseOffset < expectedNext)
            {
                throw new InvalidRecordException($"Follower batch at offset {header.BaseOffset} is below the log end offset {expectedNext}");
            }
            if (summary.FirstOffset < 0)
            {
                summary.FirstOffset = header.BaseOffset;
            }
            var batchMax = header.TimestampType == TimestampType.LogAppendTime ? header.MaxTimestamp : Math.Max(header.MaxTimestamp, maxRecordTimestamp);
            if (batchMax > summary.MaxTimestamp)
            {
                summary.MaxTimestamp = batchMax;
                summary.OffsetOfMaxTimestamp = header.LastOffset;
            }
            summary.LastOffset = header.LastOffset;
            summary.RecordCount += header.RecordCount;
            summary.Batches++;
            expectedNext = header.NextOffset;
            position += (int)size;
        }
        if (summary.Batches == 0)
        {
            throw new InvalidRecordException("Append holds no record batch");
        }
        return summary;
    }

    private static void ValidateHeader(in RecordBatchHeader header, bool fromClient)
    {
        if (header.RecordCount <= 0 && fromClient)
        {
            throw new InvalidRecordException($"Batch holds {header.RecordCount} records");
        }
        if (header.LastOffsetDelta != header.RecordCount - 1 && fromClient)
        {
            throw new InvalidRecordException($"Inconsistent batch offset range: lastOffsetDelta {header.LastOffsetDelta} with {header.RecordCount} records");
        }
        if (!fromClient)
        {
            return;
        }
        if (header.IsControl)
        {
            throw new InvalidRecordException("Clients may not write control batches");
        }
        if (header.HasProducerId && header.BaseSequence < 0)
        {
            throw new InvalidRecordException($"Batch with producer id {header.ProducerId} has no base sequence");
        }
        if (header.IsTransactional && !header.HasProducerId)
        {
            throw new InvalidRecordException("Transactional batch has no producer id");
        }
    }

    /// <summary>Checks every record; returns the largest record timestamp (long.MinValue when none).</summary>
    private static long ValidateRecords(ReadOnlySpan<byte> batch, in RecordBatchHeader header, LogConfig config, long now, PooledBuffer scratch)
    {
        var max = long.MinValue;
        try
        {
            var view = new RecordBatchView(batch);
            var records = view.GetRecords(scratch, Math.Max(64 * 1024 * 1024, config.MaxMessageBytes));
            var expected = 0;
            var checkTimestamps = header.TimestampType == TimestampType.CreateTime && !config.MessageTimestampLogAppendTime;
            // Kafka's LogValidator checks every record and reports each bad one; the list exists only once one is bad.
            List<RecordError>? errors = null;
            var timestampErrors = false;
            while (records.MoveNext())
            {
                var record = records.Current;
                if (record.OffsetDelta != expected)
                {
                    throw new InvalidRecordException($"Record offset delta {record.OffsetDelta} in batch at {header.BaseOffset}; expected {expected}");
                }
                var index = expected++;
                var ts = header.BaseTimestamp + record.TimestampDelta;
                if (checkTimestamps && TimestampOutOfRange(ts, config, now))
                {
                    (errors ??= []).Add(new RecordError(index,
                        $"Timestamp {ts} of message with offset {record.OffsetDelta} is out of range. The timestamp should be within [{Saturate((Int128)now - config.MessageTimestampBeforeMaxMs)}, {Saturate((Int128)now + config.MessageTimestampAfterMaxMs)}]"));
                    timestampErrors = true;
                }
                if (ts > max)
                {
                    max = ts;
                }
                if (config.Compact && record.KeyIsNull && !header.IsControl)
                {
                    (errors ??= []).Add(new RecordError(index, "Compacted topic cannot accept message without key."));
                }
            }
            if (errors is not null)
            {
                var message = $"One or more records have been rejected due to {errors.Count} record errors in total, and only showing the first three errors at most: [{string.Join(", ", errors.Take(3))}]";
                throw timestampErrors
                    ? new InvalidTimestampException(message) { RecordErrors = errors }
                    : new InvalidRecordException(message) { RecordErrors = errors };
            }
            if (expected != header.RecordCount || records.RemainingBytes != 0)
            {
                throw new InvalidRecordException($"Batch declares {header.RecordCount} records but holds {expected} (and {records.RemainingBytes} stray bytes)");
            }
            if (checkTimestamps)
            {
                CheckTimestamp(header.MaxTimestamp, config, now);
            }
        }
        catch (ProtocolException e)
        {
            throw new CorruptRecordException($"Batch at offset {header.BaseOffset} has malformed records: {e.Message}");
        }
        return max;
    }

    private static bool TimestampOutOfRange(long timestamp, LogConfig config, long now)
    {
        var difference = (Int128)now - timestamp;
        return difference > config.MessageTimestampBeforeMaxMs || -difference > config.MessageTimestampAfterMaxMs;
    }

    private static long Saturate(Int128 value) => value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;

    private static void CheckTimestamp(long timestamp, LogConfig config, long now)
    {
        if (TimestampOutOfRange(timestamp, config, now))
        {
            throw new InvalidTimestampException($"Timestamp {timestamp} is out of range of the broker time {now} (message.timestamp.before/after.max.ms)");
        }
    }
}
