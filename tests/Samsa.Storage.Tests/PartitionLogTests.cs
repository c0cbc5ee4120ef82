using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

public class PartitionLogTests
{
    private static readonly LogConfig Small = LogConfig.Default with { SegmentBytes = 8 * 1024, IndexIntervalBytes = 512, SegmentIndexBytes = 4096 };

    [Fact]
    public void Append_AssignsContiguousOffsets_AndPatchesEpochInPlace()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        var first = Batches.Make(3);
        var second = Batches.Make(2);
        var a = log.Append(first, leaderEpoch: 7);
        var b = log.Append(second, leaderEpoch: 7);
        Assert.Equal((0L, 2L), (a.FirstOffset, a.LastOffset));
        Assert.Equal((3L, 4L), (b.FirstOffset, b.LastOffset));
        Assert.Equal(5, log.LogEndOffset);
        Assert.Equal(3, BinaryPrimitives.ReadInt64BigEndian(second));
        Assert.Equal(7, BinaryPrimitives.ReadInt32BigEndian(second.AsSpan(RecordBatch.PartitionLeaderEpochOffset)));
        Assert.Equal([new Checkpoints.EpochEntry(7, 0)], log.LeaderEpochCache.Entries);
        var all = Batches.ReadAll(log);
        Assert.Equal(first, all[0].Bytes);
        Assert.Equal(second, all[1].Bytes);
    }

    [Fact]
    public void Append_LogAppendTimeTopic_SetsMaxTimestampAndValidCrc()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Batches.Open(dir.Path, LogConfig.Default with { MessageTimestampLogAppendTime = true }, clock);
        var batch = Batches.Make(2, timestamp: 5);
        var info = log.Append(batch, 0);
        Assert.Equal(Batches.T0, info.LogAppendTime);
        var header = RecordBatchHeader.Read(batch);
        Assert.Equal(TimestampType.LogAppendTime, header.TimestampType);
        Assert.Equal(Batches.T0, header.MaxTimestamp);
        Assert.True(new RecordBatchView(batch).IsCrcValid);
    }

    [Fact]
    public void TimestampOfOffset_OnALogAppendTimeTopic_IsTheAppendTime_NotTheProducers()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Batches.Open(dir.Path, LogConfig.Default with { MessageTimestampLogAppendTime = true }, clock);
        log.Append(Batches.Make(2, timestamp: 5), 0);
        clock.Advance(TimeSpan.FromSeconds(30));
        log.Append(Batches.Make(2, timestamp: 5), 0);
        Assert.Equal(Batches.T0, log.TimestampOfOffset(1));
        Assert.Equal(Batches.T0 + 30_000, log.TimestampOfOffset(2));
    }

    [Fact]
    public void Append_CorruptCrc_ThrowsCorruptMessage()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        var batch = Batches.Make(2);
        batch[^1] ^= 0xFF;
        var e = Assert.Throws<CorruptRecordException>(() => log.Append(batch, 0));
        Assert.Equal(StorageErrorCode.CorruptMessage, e.ErrorCode);
        Assert.Equal(0, log.LogEndOffset);
    }

    [Fact]
    public void Append_Errors_MapToKafkaErrorCodes()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Batches.Open(dir.Path, LogConfig.Default with { MaxMessageBytes = 2000, Compact = true }, clock);
        Assert.Equal(StorageErrorCode.MessageTooLarge, Assert.Throws<RecordTooLargeException>(() => log.Append(Batches.Make(30, 100), 0)).ErrorCode);
        using (var builder = new RecordBatchBuilder())
        {
            builder.Append(Batches.T0, null, "v"u8.ToArray());
            Assert.Equal(StorageErrorCode.InvalidRecord, Assert.Throws<InvalidRecordException>(() => log.Append(builder.Build(), 0)).ErrorCode);
        }
        Assert.Equal(StorageErrorCode.InvalidTimestamp,
            Assert.Throws<InvalidTimestampException>(() => log.Append(Batches.Make(1, timestamp: Batches.T0 + 2 * 3600_000), 0)).ErrorCode);
        var miscounted = Batches.Make(2);
        BinaryPrimitives.WriteInt32BigEndian(miscounted.AsSpan(RecordBatch.RecordCountOffset), 3);
        RecordBatch.UpdateCrc(miscounted);
        Assert.Throws<InvalidRecordException>(() => log.Append(miscounted, 0));
        Assert.Throws<CorruptRecordException>(() => log.Append(Batches.Make(1).AsSpan(0, 40).ToArray(), 0));
        using var small = Batches.Open(Path.Combine(dir.Path, "s"), LogConfig.Default with { SegmentBytes = 1000 });
        Assert.Equal(StorageErrorCode.RecordListTooLarge, Assert.Throws<RecordBatchTooLargeException>(() => small.Append(Batches.Make(20, 100), 0)).ErrorCode);
        Assert.Equal(0, log.LogEndOffset);
    }

    [Fact]
    public void Read_OutsideTheLog_ThrowsOffsetOutOfRange()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        log.Append(Batches.Make(3), 0);
        var e = Assert.Throws<OffsetOutOfRangeException>(() => log.Read(4, 100, FetchIsolation.LogEnd));
        Assert.Equal(StorageErrorCode.OffsetOutOfRange, e.ErrorCode);
        Assert.True(log.Read(3, 100, FetchIsolation.LogEnd).Records.IsEmpty);
    }

    [Fact]
    public void Read_HighWatermarkIsolation_StopsAtTheHighWatermark()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        log.Append(Batches.Make(3), 0);
        log.UpdateHighWatermark(3);
        log.Append(Batches.Make(2), 0);
        var read = log.Read(0, 1 << 20, FetchIsolation.HighWatermark);
        Assert.Equal(RecordBatchHeader.Read(Batches.Make(3)).SizeInBytes, read.Records.Length);
        Assert.True(log.Read(3, 1 << 20, FetchIsolation.HighWatermark).Records.IsEmpty);
        Assert.Equal(2, Batches.ReadAll(log, 0).Count);
    }

    [Fact]
    public void Roll_BySegmentBytes_KeepsEveryOffsetReadable()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, Small);
        for (var i = 0; i < 60; i++)
        {
            log.Append(Batches.Make(1 + (i % 4), 200, seed: i), 0);
        }
        Assert.True(log.SegmentCount > 3);
        LogInvariants.Check(log);
        var names = Directory.GetFiles(log.Directory).Select(Path.GetFileName).Order().ToList();
        Assert.Contains("00000000000000000000.log", names);
        Assert.Contains("00000000000000000000.index", names);
        Assert.Contains("00000000000000000000.timeindex", names);
        Assert.Contains("partition.metadata", names);
        // Rolled segments have trimmed indexes; the active one is preallocated to segment.index.bytes.
        Assert.Equal(4096, new FileInfo(log.ActiveSegment.OffsetIndex.Path).Length);
        Assert.Equal(4092, new FileInfo(log.ActiveSegment.TimeIndex.Path).Length);
        var firstIndex = log.Segments[0].OffsetIndex;
        Assert.Equal(firstIndex.Count * 8, new FileInfo(firstIndex.Path).Length);
    }

    [Fact]
    public void Roll_BySegmentMs_UsesRecordTimestamps()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Batches.Open(dir.Path, LogConfig.Default with { SegmentMs = 1000 }, clock);
        log.Append(Batches.Make(1, timestamp: Batches.T0), 0);
        log.Append(Batches.Make(1, timestamp: Batches.T0 + 500), 0);
        Assert.Equal(1, log.SegmentCount);
        log.Append(Batches.Make(1, timestamp: Batches.T0 + 1001), 0);
        Assert.Equal(2, log.SegmentCount);
        Assert.Equal(2, log.ActiveSegment.BaseOffset);
    }

    [Fact]
    public void Roll_WhenOffsetIndexIsFull()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, LogConfig.Default with { SegmentIndexBytes = 32, IndexIntervalBytes = 1 });
        for (var i = 0; i < 20; i++)
        {
            log.Append(Batches.Make(1), 0);
        }
        Assert.True(log.SegmentCount > 1);
        Assert.All(log.Segments.SkipLast(1), s => Assert.True(s.OffsetIndex.Count <= 4));
        LogInvariants.Check(log);
    }

    [Fact]
    public void Reopen_AfterCleanClose_KeepsEverything()
    {
        using var dir = new TempDir();
        byte[][] written;
        using (var log = Batches.Open(dir.Path, Small))
        {
            for (var i = 0; i < 40; i++)
            {
                log.Append(Batches.Make(2, 150, seed: i), 3);
            }
            written = Batches.ReadAll(log).Select(b => b.Bytes).ToArray();
        }
        using var reopened = Batches.Open(dir.Path, Small, options: new LogOpenOptions { HadCleanShutdown = true });
        Assert.Equal(80, reopened.LogEndOffset);
        Assert.Equal(written, Batches.ReadAll(reopened).Select(b => b.Bytes).ToArray());
        LogInvariants.Check(reopened);
        reopened.Append(Batches.Make(1), 3);
        Assert.Equal(81, reopened.LogEndOffset);
    }

    [Fact]
    public void TruncateTo_RemovesOffsetsAtAndAbove_AcrossSegments()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, Small);
        for (var i = 0; i < 50; i++)
        {
            log.Append(Batches.Make(2, 150, seed: i), i / 10);
        }
        log.TruncateTo(37);
        Assert.Equal(36, log.LogEndOffset);   // 37 is inside the batch 36..37, which goes whole
        LogInvariants.Check(log);
        Assert.Equal(1, log.LeaderEpochCache.LatestEpoch);   // epoch 1 started at offset 20; epoch 2 (offset 40) is gone
        log.Append(Batches.Make(1), 9);
        Assert.Equal(37, log.LogEndOffset);
        LogInvariants.Check(log);
    }

    [Fact]
    public void DeleteRecordsBefore_MovesLogStart_AndDropsWholeSegments()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, Small with { FileDeleteDelayMs = 0 });
        for (var i = 0; i < 50; i++)
        {
            log.Append(Batches.Make(2, 150, seed: i), 0);
        }
        Assert.Throws<OffsetOutOfRangeException>(() => log.DeleteRecordsBefore(10));
        log.UpdateHighWatermark(log.LogEndOffset);
        var before = log.SegmentCount;
        Assert.Equal(61, log.DeleteRecordsBefore(61));
        Assert.True(log.SegmentCount < before);
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(60, 100, FetchIsolation.LogEnd));
        Assert.Equal(60, RecordBatchHeader.Read(log.Read(61, 100, FetchIsolation.LogEnd).Records.ToArray()).BaseOffset);
        Assert.Equal(61, log.OffsetForTimestamp(IPartitionLog.EarliestTimestamp)!.Value.Offset);
        LogInvariants.Check(log);
    }

    [Fact]
    public void OffsetForTimestamp_SpecialTimestamps()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, Small);
        log.Append(Batches.Make(3, timestamp: Batches.T0), 2);
        log.Append(Batches.Make(3, timestamp: Batches.T0 + 100), 2);
        Assert.Equal(new TimestampAndOffset(-1, 6, 2), log.OffsetForTimestamp(IPartitionLog.LatestTimestamp));
        Assert.Equal(new TimestampAndOffset(-1, 0, 2), log.OffsetForTimestamp(IPartitionLog.EarliestTimestamp));
        Assert.Equal(new TimestampAndOffset(Batches.T0 + 102, 5, 2), log.OffsetForTimestamp(IPartitionLog.MaxTimestamp));
        Assert.Equal(new TimestampAndOffset(Batches.T0 + 100, 3, 2), log.OffsetForTimestamp(Batches.T0 + 3));
        Assert.Null(log.OffsetForTimestamp(Batches.T0 + 1000));
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void OffsetForTimestamp_MaxTimestamp_IsTheRecordsOffsetNotTheBatchsLast(CompressionType compression)
    {
        // KAFKA-16310: timestamps +100, +400, +250 in one batch answer offset 1 (the record), not 2 (the batch's last).
        using var dir = new TempDir();
        byte[] MixedBatch()
        {
            using var builder = new RecordBatchBuilder { Compression = compression };
            foreach (var delta in new[] { 100, 400, 250 })
            {
                builder.Append(Batches.T0 + delta, null, new byte[10]);
            }
            return builder.Build();
        }
        using (var log = Batches.Open(dir.Path, Small))
        {
            log.Append(Batches.Make(2, timestamp: Batches.T0), 1);
            log.Append(MixedBatch(), 1);
            log.Append(Batches.Make(2, timestamp: Batches.T0 + 300), 1);
            Assert.Equal(new TimestampAndOffset(Batches.T0 + 400, 3, 1), log.OffsetForTimestamp(IPartitionLog.MaxTimestamp));
        }
        // The same after a restart, when the answer comes from what is on disk (time index and log) alone.
        using var reopened = Batches.Open(dir.Path, Small);
        Assert.Equal(new TimestampAndOffset(Batches.T0 + 400, 3, 1), reopened.OffsetForTimestamp(IPartitionLog.MaxTimestamp));
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Zstd)]
    public void TimestampOfOffset_IsTheRecordsOwnTimestamp_InAnyBatchAndSegment(CompressionType compression)
    {
        // Records 0-2 at T0+0..2; a batch of +100, +400, +250 (3-5, out of order); 200 more records in batches of two,
        // from T0+1000, enough to roll several segments; the lag monitor asks for the record at a committed offset.
        using var dir = new TempDir();
        using (var log = Batches.Open(dir.Path, Small))
        {
            log.Append(Batches.Make(3, timestamp: Batches.T0), 1);
            using (var builder = new RecordBatchBuilder { Compression = compression })
            {
                foreach (var delta in new[] { 100, 400, 250 })
                {
                    builder.Append(Batches.T0 + delta, null, new byte[10]);
                }
                log.Append(builder.Build(), 1);
            }
            for (var i = 0; i < 100; i++)
            {
                log.Append(Batches.Make(2, 150, compression, timestamp: Batches.T0 + 1000 + (2 * i), seed: i), 1);
            }
            Assert.True(log.SegmentCount > 2);
            Check(log);
        }
        using var reopened = Batches.Open(dir.Path, Small);
        Check(reopened);

        static void Check(PartitionLog log)
        {
            Assert.Equal(Batches.T0, log.TimestampOfOffset(0));
            Assert.Equal(Batches.T0 + 2, log.TimestampOfOffset(2));
            Assert.Equal(Batches.T0 + 100, log.TimestampOfOffset(3));
            Assert.Equal(Batches.T0 + 400, log.TimestampOfOffset(4));
            Assert.Equal(Batches.T0 + 250, log.TimestampOfOffset(5));
            Assert.Equal(Batches.T0 + 1000 + 101, log.TimestampOfOffset(6 + 101));
            Assert.Equal(Batches.T0 + 1000 + 199, log.TimestampOfOffset(205));
            Assert.Null(log.TimestampOfOffset(206));   // the log end: no record yet
            Assert.Null(log.TimestampOfOffset(-1));
        }
    }

    [Fact]
    public async Task Read_ConcurrentWithAppends_NeverSeesAPartialBatch()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, Small);
        var done = false;
        var reader = Task.Run(() =>
        {
            while (!Volatile.Read(ref done))
            {
                var end = log.LogEndOffset;
                if (end == 0)
                {
                    continue;
                }
                var read = log.Read(end - 1, 1, FetchIsolation.LogEnd).Records.ToArray();
                var header = RecordBatchHeader.Read(read);
                Assert.Equal(header.SizeInBytes, read.Length);
                Assert.True(new RecordBatchView(read).IsCrcValid);
            }
        });
        for (var i = 0; i < 400; i++)
        {
            log.Append(Batches.Make(1 + (i % 3), 100, seed: i), 0);
        }
        Volatile.Write(ref done, true);
        await reader;
    }

    /// <summary>Property: any sequence of batch sizes, compressions and timestamps keeps every invariant.</summary>
    [Property(MaxTest = 25)]
    public Property Appends_AnySequence_KeepInvariants() =>
        Prop.ForAll(Gen.Choose(1, 6).Zip(Gen.Choose(0, 4)).Zip(Gen.Choose(-50, 50)).ArrayOf().Where(a => a.Length > 0).ToArbitrary(), batches =>
        {
            using var dir = new TempDir();
            using var log = Batches.Open(dir.Path, Small);
            var expectedEnd = 0L;
            var i = 0;
            foreach (var ((count, compression), skew) in batches)
            {
                var info = log.Append(Batches.Make(count, 120, (CompressionType)compression, Batches.T0 + (i++ * 10) + skew, seed: i), 1);
                Assert.Equal(expectedEnd, info.FirstOffset);
                expectedEnd += count;
            }
            Assert.Equal(expectedEnd, log.LogEndOffset);
            LogInvariants.Check(log);
            LogInvariants.CheckTimestampLookups(log, Enumerable.Range(-2, batches.Length * 10 + 60).Select(t => Batches.T0 - 60 + t));
        });

    /// <summary>Property: truncating anywhere and reopening (unclean) leaves a log whose indexes agree with a scan.</summary>
    [Property(MaxTest = 20)]
    public Property TruncateThenRecover_KeepsInvariants() =>
        Prop.ForAll(Gen.Choose(5, 60).Zip(Gen.Choose(0, 100)).ToArbitrary(), t =>
        {
            var (batches, cutPercent) = t;
            using var dir = new TempDir();
            using (var log = Batches.Open(dir.Path, Small))
            {
                for (var i = 0; i < batches; i++)
                {
                    log.Append(Batches.Make(2, 200, seed: i), 0);
                }
                log.TruncateTo(log.LogEndOffset * cutPercent / 100);
                LogInvariants.Check(log);
                LogInvariants.CheckTimestampLookups(log, Enumerable.Range(0, 130).Select(x => Batches.T0 + x - 5));
            }
            using var reopened = Batches.Open(dir.Path, Small);
            LogInvariants.Check(reopened);
        });
}

public class CompressionTypeTests
{
    [Fact]
    public void TopicCompressionType_RewritesOtherCodecs_KeepsMatchingBatchesAsIs()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, LogConfig.FromProperties(new Dictionary<string, string> { ["compression.type"] = "zstd" }));
        var gzip = Batches.Make(5, 200, CompressionType.Gzip);
        var zstd = Batches.Make(5, 200, CompressionType.Zstd, seed: 3);
        log.Append(gzip, 1);
        log.Append(zstd, 1);
        var stored = Batches.ReadAll(log);
        Assert.Equal(CompressionType.Zstd, stored[0].Header.Compression);
        Assert.Equal((0L, 4L, 5), (stored[0].Header.BaseOffset, stored[0].Header.LastOffset, stored[0].Header.RecordCount));
        Assert.True(new RecordBatchView(stored[0].Bytes).IsCrcValid);
        Assert.Equal(zstd, stored[1].Bytes);   // patched in place: offset 5, epoch 1
        var original = new List<string>();
        using var scratch = new PooledBuffer();
        foreach (var r in new RecordBatchView(gzip).GetRecords(scratch))
        {
            original.Add(Batches.Hex(r.Key) + Batches.Hex(r.Value));
        }
        var rewritten = new List<string>();
        foreach (var r in new RecordBatchView(stored[0].Bytes).GetRecords(scratch))
        {
            rewritten.Add(Batches.Hex(r.Key) + Batches.Hex(r.Value));
        }
        Assert.Equal(original, rewritten);
    }

    [Theory]
    [InlineData("uncompressed", CompressionType.Snappy)]
    [InlineData("gzip", CompressionType.None)]
    [InlineData("lz4", CompressionType.Zstd)]
    [InlineData("zstd", CompressionType.Lz4)]
    [InlineData("snappy", CompressionType.Gzip)]
    public void Recompression_KeepsProducerStateTimestampsAndHeaders(string topicCodec, CompressionType sent)
    {
        using var dir = new TempDir();
        var config = LogConfig.FromProperties(new Dictionary<string, string>
        {
            ["compression.type"] = topicCodec,
            ["compression.gzip.level"] = "9",
            ["compression.lz4.level"] = "12",
            ["compression.zstd.level"] = "-5",
        });
        using var log = Batches.Open(dir.Path, config);
        byte[] batch;
        using (var builder = new RecordBatchBuilder { Compression = sent, ProducerId = 4242, ProducerEpoch = 7, BaseSequence = 100 })
        {
            builder.Append(Batches.T0 + 9, null, "v0"u8.ToArray(), [new("h", "x"u8.ToArray()), new("empty", null)]);
            builder.Append(Batches.T0 + 2, "k1"u8.ToArray(), []);
            builder.Append(Batches.T0 + 5, "k2"u8.ToArray(), null);
            batch = builder.Build();
        }
        log.Append(Batches.Make(2), 3);
        log.Append(batch, 3);

        var stored = Batches.ReadAll(log)[1];
        var header = stored.Header;
        Assert.Equal(config.CompressionType, header.Compression);
        Assert.Equal((2L, 4L, 3), (header.BaseOffset, header.LastOffset, header.RecordCount));
        Assert.Equal((4242L, (short)7, 100, 3), (header.ProducerId, header.ProducerEpoch, header.BaseSequence, header.PartitionLeaderEpoch));
        Assert.Equal(Batches.T0 + 9, header.MaxTimestamp);
        Assert.True(new RecordBatchView(stored.Bytes).IsCrcValid);
        using var scratch = new PooledBuffer();
        var records = new List<(long Timestamp, bool KeyIsNull, bool ValueIsNull, string Value, int HeaderCount, string Headers)>();
        foreach (var r in new RecordBatchView(stored.Bytes).GetRecords(scratch))
        {
            records.Add((header.BaseTimestamp + r.TimestampDelta, r.KeyIsNull, r.ValueIsNull, System.Text.Encoding.UTF8.GetString(r.Value), r.HeaderCount, Convert.ToHexString(r.HeaderBytes)));
        }
        Assert.Equal([Batches.T0 + 9, Batches.T0 + 2, Batches.T0 + 5], records.Select(r => r.Timestamp));
        Assert.Equal([true, false, false], records.Select(r => r.KeyIsNull));
        Assert.Equal([false, false, true], records.Select(r => r.ValueIsNull));
        Assert.Equal("v0", records[0].Value);
        Assert.Equal(2, records[0].HeaderCount);
        Assert.Equal("02680278" + "0A656D70747901", records[0].Headers);
    }
}
