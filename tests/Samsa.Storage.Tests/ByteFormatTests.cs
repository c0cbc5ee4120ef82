using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

/// <summary>
/// Files written by Samsa must equal the files Kafka writes for the same input. The expected bytes come from
/// Golden/make_golden.py, a separate encoder written from Kafka's format description.
/// </summary>
public class ByteFormatTests
{
    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", name));

    [Fact]
    public void Segment_ForFixedInput_EqualsGoldenLogIndexAndTimeIndex()
    {
        using var dir = new TempDir();
        string stem;
        using (var log = Batches.Open(dir.Path, LogConfig.Default with { IndexIntervalBytes = 1 }))
        {
            using (var b1 = new RecordBatchBuilder())
            {
                b1.Append(Batches.T0, "k"u8.ToArray(), "v1"u8.ToArray());
                log.Append(b1.Build(), 5);
            }
            using (var b2 = new RecordBatchBuilder())
            {
                b2.Append(Batches.T0 + 1, "k"u8.ToArray(), "v2"u8.ToArray());
                b2.Append(Batches.T0 + 2, "j"u8.ToArray(), null);
                log.Append(b2.Build(), 5);
            }
            using (var b3 = new RecordBatchBuilder())
            {
                b3.Append(Batches.T0 + 3, "k"u8.ToArray(), "v3"u8.ToArray(), [new("h", "x"u8.ToArray())]);
                log.Append(b3.Build(), 5);
            }
            stem = Path.Combine(log.Directory, "00000000000000000000");
        }
        Assert.Equal(Batches.Hex(Batches.FromHex(Golden("segment.log.hex"))), Batches.Hex(File.ReadAllBytes(stem + ".log")));
        Assert.Equal(Batches.Hex(Batches.FromHex(Golden("segment.index.hex"))), Batches.Hex(File.ReadAllBytes(stem + ".index")));
        Assert.Equal(Batches.Hex(Batches.FromHex(Golden("segment.timeindex.hex"))), Batches.Hex(File.ReadAllBytes(stem + ".timeindex")));
    }

    [Fact]
    public void ActiveSegmentIndexes_ArePreallocatedToSegmentIndexBytes_RoundedToEntries()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        Assert.Equal(10 * 1024 * 1024, new FileInfo(log.ActiveSegment.OffsetIndex.Path).Length);
        Assert.Equal(10 * 1024 * 1024 / 12 * 12, new FileInfo(log.ActiveSegment.TimeIndex.Path).Length);
    }

    public static TheoryData<string> CaptureFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Captures"), "*.hex").Order())
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    /// <summary>Client batches go through append and read unchanged except base offset and leader epoch.</summary>
    [Theory]
    [MemberData(nameof(CaptureFiles))]
    public void CapturedBatch_AppendThenRead_IsUnchangedExceptOffsetAndEpoch(string file)
    {
        var input = Batches.FromHex(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Captures", file)));
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, LogConfig.Default with { MessageTimestampBeforeMaxMs = long.MaxValue, MessageTimestampAfterMaxMs = long.MaxValue });
        log.Append(Batches.Make(2), 0);
        var appended = (byte[])input.Clone();
        var info = log.Append(appended, 9);
        Assert.Equal(2, info.FirstOffset);
        var stored = log.Read(2, 1 << 20, FetchIsolation.LogEnd).Records.ToArray();
        var expected = (byte[])input.Clone();
        RecordBatch.SetBaseOffsetAndEpoch(expected, 2, 9);
        Assert.Equal(Batches.Hex(expected), Batches.Hex(stored));
        // And the records decode to what the capture holds.
        using var scratch = new PooledBuffer();
        var count = 0;
        foreach (var record in new RecordBatchView(stored).GetRecords(scratch))
        {
            // Constructed files use key-N; the real captures were produced with keys k1..k3.
            Assert.Matches("^(key-.*|k[1-3])$", System.Text.Encoding.UTF8.GetString(record.Key));
            Assert.False(record.Value.IsEmpty);
            count++;
        }
        Assert.Equal(RecordBatchHeader.Read(input).RecordCount, count);
    }
}
