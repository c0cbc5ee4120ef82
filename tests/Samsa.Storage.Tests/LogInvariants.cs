using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

/// <summary>Checks a log against a linear scan of its segment files.</summary>
internal static class LogInvariants
{
    /// <summary>Every batch of every segment, read straight from the files.</summary>
    public static List<(LogSegment Segment, long Position, RecordBatchHeader Header)> Scan(PartitionLog log)
    {
        var list = new List<(LogSegment, long, RecordBatchHeader)>();
        foreach (var segment in log.Segments)
        {
            using var scanner = new BatchScanner(segment.Handle, 0, segment.Size, wholeBatches: true);
            while (scanner.MoveNext())
            {
                Assert.Equal(scanner.Header.Crc, RecordBatch.ComputeCrc(scanner.Batch));
                list.Add((segment, scanner.Position, scanner.Header));
            }
            Assert.Equal(ScanStop.End, scanner.Stop);
        }
        return list;
    }

    /// <summary>
    /// Offsets contiguous and increasing, indexes consistent with the files, every offset readable and
    /// returning the batch that holds it, time lookups equal to a linear scan.
    /// </summary>
    public static void Check(PartitionLog log, bool contiguous = true)
    {
        var batches = Scan(log);
        long? previous = null;
        foreach (var (_, _, header) in batches)
        {
            if (previous is { } p)
            {
                if (contiguous)
                {
                    Assert.Equal(p + 1, header.BaseOffset);
                }
                else
                {
                    Assert.True(header.BaseOffset > p);
                }
            }
            Assert.True(header.LastOffset >= header.BaseOffset);
            previous = header.LastOffset;
        }
        Assert.Equal(batches.Count == 0 ? log.ActiveSegment.BaseOffset : batches[^1].Header.NextOffset, log.LogEndOffset);

        foreach (var segment in log.Segments)
        {
            var mine = batches.Where(b => b.Segment == segment).ToList();
            foreach (var entry in segment.OffsetIndex.Entries())
            {
                Assert.True(entry.Position < segment.Size, $"index entry {entry} points past the end {segment.Size}");
                var at = mine.FindIndex(b => b.Position == entry.Position);
                Assert.True(at >= 0, $"index entry {entry} is not on a batch boundary");
                Assert.True(entry.Offset >= mine[at].Header.LastOffset);
            }
            foreach (var entry in segment.TimeIndex.Entries())
            {
                Assert.Contains(mine, b => b.Header.LastOffset == entry.Offset);
                var upTo = mine.Where(b => b.Header.LastOffset <= entry.Offset).Max(b => b.Header.MaxTimestamp);
                Assert.Equal(upTo, entry.Timestamp);
            }
        }

        // Reading at any offset returns a region that starts with the batch containing it.
        foreach (var (_, _, header) in batches)
        {
            foreach (var offset in new[] { header.BaseOffset, header.LastOffset, (header.BaseOffset + header.LastOffset) / 2 })
            {
                if (offset < log.LogStartOffset)
                {
                    continue;
                }
                var read = log.Read(offset, 1, FetchIsolation.LogEnd);
                var bytes = read.Records.ToArray();
                var first = RecordBatchHeader.Read(bytes);
                Assert.Equal(header.BaseOffset, first.BaseOffset);
                Assert.Equal(header.SizeInBytes, bytes.Length);
            }
        }
    }

    /// <summary>OffsetForTimestamp against a scan of every record in offset order.</summary>
    public static void CheckTimestampLookups(PartitionLog log, IEnumerable<long> targets)
    {
        var records = new List<(long Offset, long Timestamp)>();
        using var scratch = new PooledBuffer();
        foreach (var (_, bytes) in Batches.ReadAll(log))
        {
            var view = new RecordBatchView(bytes);
            foreach (var r in view.GetRecords(scratch))
            {
                var offset = view.Header.BaseOffset + r.OffsetDelta;
                if (offset >= log.LogStartOffset)
                {
                    records.Add((offset, view.Header.BaseTimestamp + r.TimestampDelta));
                }
            }
        }
        foreach (var target in targets)
        {
            var expected = records.FirstOrDefault(r => r.Timestamp >= target);
            var actual = log.OffsetForTimestamp(target);
            if (expected == default)
            {
                Assert.Null(actual);
            }
            else
            {
                Assert.NotNull(actual);
                Assert.Equal(expected.Offset, actual.Value.Offset);
                Assert.Equal(expected.Timestamp, actual.Value.Timestamp);
            }
        }
    }
}
