using System.Buffers.Binary;
using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection;

/// <summary>Runs alone: it measures the managed heap.</summary>
[Collection(nameof(MemoryCollection))]
public class ScratchMemoryTests
{
    /// <summary>A v2 batch of one zstd record set that decompresses to <paramref name="expandedBytes"/> zero bytes.</summary>
    private static byte[] ZstdBomb(long expandedBytes)
    {
        using var compressed = new MemoryStream();
        using (var zstd = new ZstdSharp.CompressionStream(compressed, 3))
        {
            var zeros = new byte[1024 * 1024];
            for (long written = 0; written < expandedBytes; written += zeros.Length)
            {
                zstd.Write(zeros);
            }
        }
        var records = compressed.ToArray();
        var batch = new byte[RecordBatch.HeaderSize + records.Length];
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.LengthOffset), batch.Length - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.PartitionLeaderEpochOffset), -1);
        batch[RecordBatch.MagicOffset] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset), (short)CompressionType.Zstd);
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(RecordBatch.BaseTimestampOffset), Batches.T0);
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(RecordBatch.MaxTimestampOffset), Batches.T0);
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(RecordBatch.ProducerIdOffset), -1);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.ProducerEpochOffset), -1);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.BaseSequenceOffset), -1);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.RecordCountOffset), 1);
        records.CopyTo(batch.AsSpan(RecordBatch.HeaderSize));
        RecordBatch.UpdateCrc(batch);
        return batch;
    }

    [Fact]
    public void RefusedDecompressionBomb_LeavesNoLargeScratchBufferInThePartitionLogs()
    {
        var bomb = ZstdBomb(1L << 30);
        Assert.True(bomb.Length < 64 * 1024, $"bomb is {bomb.Length} bytes");
        using var dir = new TempDir();
        var logs = new List<PartitionLog>();
        try
        {
            var before = GC.GetTotalMemory(forceFullCollection: true);
            for (var p = 0; p < 4; p++)
            {
                var log = PartitionLog.Open(dir.Path, "bomb", p, new Protocol.Uuid(5, 5), LogConfig.Default);
                logs.Add(log);
                Assert.ThrowsAny<StorageException>(() => log.Append((byte[])bomb.Clone(), 0));
                // A topic that recompresses decompresses through the same scratch space.
                log.UpdateConfig(LogConfig.Default with { CompressionType = CompressionType.Lz4 });
                Assert.ThrowsAny<StorageException>(() => log.Append((byte[])bomb.Clone(), 0));
                Assert.Equal(0, log.LogEndOffset);
            }
            var after = GC.GetTotalMemory(forceFullCollection: true);
            // Before issue 12 each log kept its 128 MiB high-water scratch array: 4 logs held over 512 MiB.
            Assert.True(after - before < 48L * 1024 * 1024, $"heap grew by {(after - before) / 1024 / 1024} MiB");
            foreach (var log in logs)
            {
                log.Append(Batches.Make(3, compression: CompressionType.Zstd), 0);
                Assert.Equal(3, log.LogEndOffset);
            }
        }
        finally
        {
            foreach (var log in logs)
            {
                log.Dispose();
            }
        }
    }
}
