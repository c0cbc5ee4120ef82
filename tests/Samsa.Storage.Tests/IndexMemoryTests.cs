using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

/// <summary>
/// Indexes are read from their files, never decoded whole into memory (issue 12): lookups agree with a linear scan
/// of what was appended, across reloads, truncation and an unclean stop that leaves a zero-filled preallocated tail.
/// </summary>
public class IndexMemoryTests
{
    private static OffsetPosition LinearLookup(List<OffsetPosition> entries, long baseOffset, long target)
    {
        var found = new OffsetPosition(baseOffset, 0);
        foreach (var entry in entries)
        {
            if (entry.Offset <= target)
            {
                found = entry;
            }
        }
        return found;
    }

    private static TimestampOffset LinearLookup(List<TimestampOffset> entries, long baseOffset, long target)
    {
        var found = new TimestampOffset(-1, baseOffset);
        foreach (var entry in entries)
        {
            if (entry.Timestamp <= target)
            {
                found = entry;
            }
        }
        return found;
    }

    private static void AssertLookupsMatch(OffsetIndex index, List<OffsetPosition> expected, long baseOffset, Random random)
    {
        Assert.Equal(expected, index.Entries());
        var max = expected.Count == 0 ? baseOffset + 10 : expected[^1].Offset + 10;
        for (var i = 0; i < 2_000; i++)
        {
            var target = baseOffset - 5 + random.NextInt64(max - baseOffset + 10);
            Assert.Equal(LinearLookup(expected, baseOffset, target), index.Lookup(target));
        }
        foreach (var entry in expected.Take(50).Concat(expected.TakeLast(50)))
        {
            Assert.Equal(entry, index.Lookup(entry.Offset));
            Assert.Equal(LinearLookup(expected, baseOffset, entry.Offset - 1), index.Lookup(entry.Offset - 1));
        }
    }

    private static void AssertLookupsMatch(TimeIndex index, List<TimestampOffset> expected, long baseOffset, Random random)
    {
        Assert.Equal(expected, index.Entries());
        var first = expected.Count == 0 ? 0 : expected[0].Timestamp;
        var last = expected.Count == 0 ? 10 : expected[^1].Timestamp;
        for (var i = 0; i < 2_000; i++)
        {
            var target = first - 5 + random.NextInt64(last - first + 10);
            Assert.Equal(LinearLookup(expected, baseOffset, target), index.Lookup(target));
        }
    }

    [Fact]
    public void OffsetIndex_LookupsEqualLinearScan_OverManyEntries_AcrossTrimReloadAndTruncation()
    {
        using var dir = new TempDir();
        const long baseOffset = 1_000;
        var path = Path.Combine(dir.Path, LogFileNames.FormatOffset(baseOffset) + LogFileNames.IndexSuffix);
        var random = new Random(7);
        var expected = new List<OffsetPosition>();
        var index = new OffsetIndex(path, baseOffset, 1024 * 1024);
        index.Preallocate(1024 * 1024);
        Assert.Equal(1024 * 1024, new FileInfo(path).Length);
        long offset = baseOffset;
        var position = 0;
        // More entries than Kafka's 8 KB warm section, so both halves of the search run.
        for (var i = 0; i < 60_000; i++)
        {
            offset += 1 + random.Next(5);
            position += 1 + random.Next(4096);
            index.Append(offset, position);
            expected.Add(new OffsetPosition(offset, position));
        }
        AssertLookupsMatch(index, expected, baseOffset, random);
        if (OperatingSystem.IsLinux())
        {
            // Mapped, yet no descriptor is kept open on the file (thousands of segments, one handle each at most).
            var open = Directory.GetFiles("/proc/self/fd").Select(fd => new FileInfo(fd).LinkTarget).ToList();
            Assert.DoesNotContain(path, open);
        }

        index.TrimToValidSize();
        Assert.Equal(expected.Count * 8L, new FileInfo(path).Length);
        AssertLookupsMatch(index, expected, baseOffset, random);
        index.Close();

        var reloaded = new OffsetIndex(path, baseOffset, 1024 * 1024);
        Assert.True(reloaded.Load(1024 * 1024));
        Assert.True(reloaded.IsConsistent(position + 1));
        Assert.False(reloaded.IsConsistent(position));
        Assert.Equal(expected[^1], reloaded.LastEntry);
        AssertLookupsMatch(reloaded, expected, baseOffset, random);

        // Truncation at an entry, between entries, and then appending again over the cut.
        reloaded.Preallocate(1024 * 1024);
        var cut = expected[40_000].Offset;
        reloaded.TruncateTo(cut);
        expected.RemoveAll(e => e.Offset >= cut);
        Assert.Equal(expected[^1], reloaded.LastEntry);
        AssertLookupsMatch(reloaded, expected, baseOffset, random);
        var between = expected[10_000].Offset + 1;
        reloaded.TruncateTo(between);
        expected.RemoveAll(e => e.Offset >= between);
        AssertLookupsMatch(reloaded, expected, baseOffset, random);
        reloaded.Append(between + 3, expected[^1].Position + 10);
        expected.Add(new OffsetPosition(between + 3, expected[^1].Position + 10));
        AssertLookupsMatch(reloaded, expected, baseOffset, random);
        reloaded.TruncateTo(baseOffset);
        Assert.Equal(0, reloaded.Count);
        Assert.Equal(new OffsetPosition(baseOffset, 0), reloaded.Lookup(long.MaxValue));
        reloaded.Close();
        Assert.Throws<ObjectDisposedException>(() => reloaded.Lookup(baseOffset));
    }

    [Fact]
    public void TimeIndex_LookupsEqualLinearScan_OverManyEntries_AcrossTrimReloadAndTruncation()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, LogFileNames.FormatOffset(0) + LogFileNames.TimeIndexSuffix);
        var random = new Random(11);
        var expected = new List<TimestampOffset>();
        var index = new TimeIndex(path, 0, 1024 * 1024);
        index.Preallocate(1024 * 1024);
        long timestamp = Batches.T0, offset = 0;
        for (var i = 0; i < 50_000; i++)
        {
            timestamp += 1 + random.Next(100);
            offset += random.Next(3);
            index.MaybeAppend(timestamp, offset);
            expected.Add(new TimestampOffset(timestamp, offset));
        }
        AssertLookupsMatch(index, expected, 0, random);
        index.TrimToValidSize();
        index.Close();
        var reloaded = new TimeIndex(path, 0, 1024 * 1024);
        Assert.True(reloaded.Load(1024 * 1024));
        Assert.True(reloaded.IsConsistent(offset + 1));
        Assert.Equal(expected[^1], reloaded.LastEntry);
        AssertLookupsMatch(reloaded, expected, 0, random);
        reloaded.Preallocate(1024 * 1024);
        var cut = expected[30_000].Offset;
        reloaded.TruncateTo(cut);
        expected.RemoveAll(e => e.Offset >= cut);
        AssertLookupsMatch(reloaded, expected, 0, random);
        reloaded.Close();
    }

    /// <summary>Copies a partition directory while its log is open: exactly what kill -9 leaves on disk.</summary>
    private static string CopyAsUncleanStop(PartitionLog log, string target)
    {
        var copy = Path.Combine(target, log.TopicPartition.ToString());
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(log.Directory))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
        return target;
    }

    [Fact]
    public void UncleanStop_WithPreallocatedIndexes_ReloadsSameEntriesAndReads()
    {
        using var dir = new TempDir();
        using var crashed = new TempDir();
        var config = LogConfig.Default with { IndexIntervalBytes = 1, SegmentBytes = 64 * 1024 };
        OffsetPosition[][] offsetEntries;
        TimestampOffset[][] timeEntries;
        using (var log = Batches.Open(dir.Path, config))
        {
            for (var i = 0; i < 300; i++)
            {
                log.Append(Batches.Make(1 + (i % 3), 300, timestamp: Batches.T0 + i, seed: i), 0);
            }
            Assert.True(log.SegmentCount > 2);
            var active = log.ActiveSegment;
            Assert.True(active.OffsetIndex.Count > 0);
            // The active files are preallocated: the entries, then zeros to 10 MB.
            Assert.Equal(10 * 1024 * 1024, new FileInfo(active.OffsetIndex.Path).Length);
            offsetEntries = [.. log.Segments.Select(s => s.OffsetIndex.Entries())];
            timeEntries = [.. log.Segments.Select(s => s.TimeIndex.Entries())];
            CopyAsUncleanStop(log, crashed.Path);
        }
        List<(long, string, string?)> expected;
        using (var clean = Batches.Open(dir.Path, config))
        {
            expected = Batches.Records(clean);
        }
        using var reopened = Batches.Open(crashed.Path, config, options: new LogOpenOptions { HadCleanShutdown = false });
        Assert.Equal(offsetEntries.Length, reopened.SegmentCount);
        for (var i = 0; i < reopened.SegmentCount; i++)
        {
            Assert.Equal(offsetEntries[i], reopened.Segments[i].OffsetIndex.Entries());
            // Recovery appends the final max-timestamp entry that a roll or close would have written.
            Assert.Equal(timeEntries[i], reopened.Segments[i].TimeIndex.Entries().Take(timeEntries[i].Length));
        }
        Assert.Equal(expected, Batches.Records(reopened));
        // Batch i holds timestamps T0 + i onwards; the first record at or after T0 + 250 is batch 250's first.
        Assert.Equal(Batches.T0 + 250, reopened.OffsetForTimestamp(Batches.T0 + 250)!.Value.Timestamp);
        for (var offset = 0L; offset < reopened.LogEndOffset; offset += 17)
        {
            var read = reopened.Read(offset, 100, FetchIsolation.LogEnd);
            var header = RecordBatchHeader.Read(read.Records.ToArray());
            Assert.InRange(offset, header.BaseOffset, header.LastOffset);
        }
        LogInvariants.Check(reopened);
    }

    [Fact]
    public void Open_AfterUncleanStop_WithPreallocated10MbIndexes_AllocatesFarLessThanTheFiles()
    {
        using var dir = new TempDir();
        using var crashed = new TempDir();
        var config = LogConfig.Default with { IndexIntervalBytes = 1 };
        using (var log = Batches.Open(dir.Path, config))
        {
            for (var i = 0; i < 50; i++)
            {
                log.Append(Batches.Make(2, 200, seed: i), 0);
            }
            CopyAsUncleanStop(log, crashed.Path);
        }
        var stem = Path.Combine(crashed.Path, "t-0", LogFileNames.FormatOffset(0));
        Assert.Equal(10 * 1024 * 1024, new FileInfo(stem + LogFileNames.IndexSuffix).Length);
        Assert.Equal(10 * 1024 * 1024 / 12 * 12, new FileInfo(stem + LogFileNames.TimeIndexSuffix).Length);

        var before = GC.GetAllocatedBytesForCurrentThread();
        using var reopened = Batches.Open(crashed.Path, config, options: new LogOpenOptions { HadCleanShutdown = false });
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024 * 1024, $"opening allocated {allocated} bytes");
        Assert.Equal(100, reopened.LogEndOffset);
        Assert.Equal(49, reopened.ActiveSegment.OffsetIndex.Count);

        // And after a clean close, the same: the trimmed files are not decoded either.
        reopened.Close();
        before = GC.GetAllocatedBytesForCurrentThread();
        using var clean = Batches.Open(crashed.Path, config, options: new LogOpenOptions { HadCleanShutdown = true });
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024 * 1024, $"opening allocated {allocated} bytes");
        using var original = Batches.Open(dir.Path, config);
        Assert.Equal(Batches.Records(original), Batches.Records(clean));
    }

    [Fact]
    public void Roll_TrimsIndexes_AndRolledSegmentsStillLookUpAfterReopen()
    {
        using var dir = new TempDir();
        var config = LogConfig.Default with { IndexIntervalBytes = 1 };
        using (var log = Batches.Open(dir.Path, config))
        {
            for (var i = 0; i < 3; i++)
            {
                for (var j = 0; j < 20; j++)
                {
                    log.Append(Batches.Make(1, 50, seed: j), 0);
                }
                log.Roll();
            }
            foreach (var segment in log.Segments.SkipLast(1))
            {
                Assert.Equal(segment.OffsetIndex.Count * 8L, new FileInfo(segment.OffsetIndex.Path).Length);
                Assert.Equal(segment.TimeIndex.Count * 12L, new FileInfo(segment.TimeIndex.Path).Length);
                Assert.Equal(19, segment.OffsetIndex.Count);
            }
        }
        using var reopened = Batches.Open(dir.Path, config, options: new LogOpenOptions { HadCleanShutdown = true, RecoveryPoint = 60 });
        Assert.Equal(60, reopened.LogEndOffset);
        for (var offset = 0L; offset < 60; offset++)
        {
            var segment = reopened.Segments[(int)(offset / 20)];
            Assert.Equal(offset % 20 == 0 ? segment.BaseOffset : offset, segment.OffsetIndex.Lookup(offset).Offset);
            Assert.Equal(offset, Batches.ReadAll(reopened, offset)[0].Header.BaseOffset);
        }
    }
}
