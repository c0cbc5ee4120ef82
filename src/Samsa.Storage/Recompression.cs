using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Storage;

/// <summary>
/// The topic's <c>compression.type</c> when it is not <c>producer</c>: batches the producer compressed
/// differently are rewritten with the topic's codec before offsets are assigned, as Kafka's
/// <c>LogValidator</c> does when source and target codecs differ. Producer id, epoch, sequence and the
/// transactional flag are kept; records keep their timestamps, keys, values and headers.
/// </summary>
internal static class Recompression
{
    /// <summary>Returns true (and fills <paramref name="output"/>) when at least one batch had to be rewritten.</summary>
    public static bool TryRecompress(ReadOnlySpan<byte> records, CompressionType target, int level, PooledBuffer output, PooledBuffer scratch, int maxDecompressed)
    {
        if (!NeedsRewrite(records, target))
        {
            return false;
        }
        output.Clear();
        var position = 0;
        while (position < records.Length)
        {
            var size = RecordBatch.TotalSize(records[position..]);
            if (size < RecordBatch.HeaderSize || size > records.Length - position)
            {
                // Leave malformed input to the validator, which reports it with Kafka's error code.
                output.Clear();
                return false;
            }
            var batch = records.Slice(position, size);
            var header = RecordBatchHeader.Read(batch);
            if (header.Compression == target || header.IsControl || RecordBatch.ComputeCrc(batch) != header.Crc)
            {
                output.Write(batch);
            }
            else
            {
                Rewrite(batch, header, target, level, output, scratch, maxDecompressed);
            }
            position += size;
        }
        return true;
    }

    private static bool NeedsRewrite(ReadOnlySpan<byte> records, CompressionType target)
    {
        var position = 0;
        while (records.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(records[position..]);
            if (header.Compression != target && !header.IsControl)
            {
                return true;
            }
            if (header.SizeInBytes < RecordBatch.HeaderSize)
            {
                return false;
            }
            position += header.SizeInBytes;
        }
        return false;
    }

    private static void Rewrite(ReadOnlySpan<byte> batch, in RecordBatchHeader header, CompressionType target, int level, PooledBuffer output, PooledBuffer scratch, int maxDecompressed)
    {
        using var builder = new RecordBatchBuilder(header) { Compression = target, CompressionLevel = level };
        try
        {
            foreach (var record in new RecordBatchView(batch).GetRecords(scratch, maxDecompressed))
            {
                builder.AppendRaw(record.OffsetDelta, header.BaseTimestamp + record.TimestampDelta, record.Key, record.KeyIsNull,
                    record.Value, record.ValueIsNull, record.HeaderCount, record.HeaderBytes);
            }
        }
        catch (ProtocolException e)
        {
            throw new CorruptRecordException($"Batch at offset {header.BaseOffset} has malformed records: {e.Message}");
        }
        catch (ArgumentException e)
        {
            throw new InvalidRecordException($"Batch at offset {header.BaseOffset} cannot be recompressed: {e.Message}");
        }
        builder.Build(output);
    }
}
