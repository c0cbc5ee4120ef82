using System.Buffers.Binary;
using System.Text;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests.Records;

public class RecordBatchCodecTests
{
    public static TheoryData<CompressionType> AllCompressions => [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    [Theory]
    [MemberData(nameof(AllCompressions))]
    public void BuildThenRead_EveryCompression_RoundTripsRecordsAndHeaders(CompressionType compression)
    {
        using var builder = new RecordBatchBuilder { Compression = compression, ProducerId = 42, ProducerEpoch = 3, BaseSequence = 7, BaseOffset = 100, PartitionLeaderEpoch = 5 };
        builder.Append(1000, "a"u8.ToArray(), Encoding.UTF8.GetBytes(new string('x', 5000)), [new("h1", "v1"u8.ToArray()), new("h2", null)]);
        builder.Append(1005, null, null);
        builder.Append(999, "c"u8.ToArray(), []);
        var bytes = builder.Build();

        var view = new RecordBatchView(bytes);
        Assert.True(view.IsCrcValid);
        var h = view.Header;
        Assert.Equal((100L, 5, (byte)2, compression, 2, 3), (h.BaseOffset, h.PartitionLeaderEpoch, h.Magic, h.Compression, h.LastOffsetDelta, h.RecordCount));
        Assert.Equal((1000L, 1005L, 42L, (short)3, 7), (h.BaseTimestamp, h.MaxTimestamp, h.ProducerId, h.ProducerEpoch, h.BaseSequence));

        using var scratch = new PooledBuffer();
        var seen = new List<string>();
        foreach (var r in view.GetRecords(scratch))
        {
            var headers = new List<string>();
            foreach (var header in r.Headers)
            {
                headers.Add($"{Encoding.UTF8.GetString(header.Key)}={(header.ValueIsNull ? "null" : Encoding.UTF8.GetString(header.Value))}");
            }
            seen.Add($"{r.OffsetDelta}:{h.BaseTimestamp + r.TimestampDelta}:{(r.KeyIsNull ? "null" : Encoding.UTF8.GetString(r.Key))}:{(r.ValueIsNull ? "null" : r.Value.Length.ToString())}:{string.Join(",", headers)}");
        }
        Assert.Equal(["0:1000:a:5000:h1=v1,h2=null", "1:1005:null:null:", "2:999:c:0:"], seen);
    }

    [Fact]
    public void Uncompressed_RecordValues_AreSlicesOfTheBatchBuffer()
    {
        var bytes = Batches.Make(3, 50);
        var view = new RecordBatchView(bytes);
        foreach (var record in view.GetRecords())
        {
            var offset = System.Runtime.CompilerServices.Unsafe.ByteOffset(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bytes.AsSpan()),
                ref System.Runtime.InteropServices.MemoryMarshal.GetReference(record.Value));
            Assert.InRange((long)offset, RecordBatch.RecordsOffset, bytes.Length - 50);
        }
    }

    [Fact]
    public void Lz4_FrameHeader_IsKafkasIndependent64KBlocksWithoutChecksums()
    {
        var bytes = Batches.Make(5, 100, CompressionType.Lz4);
        var records = bytes.AsSpan(RecordBatch.RecordsOffset);
        // Magic 0x184D2204 little-endian; FLG = version 01, block independence (0x60); BD = 64 KiB blocks (0x40).
        Assert.Equal("04224d186040", Batches.Hex(records[..6]));
        // Frame ends with the 4-byte zero end mark and no content checksum.
        Assert.Equal("00000000", Batches.Hex(records[^4..]));
    }

    [Fact]
    public void Snappy_Writes_XerialFraming_LikeTheJavaClient()
    {
        var bytes = Batches.Make(5, 100, CompressionType.Snappy);
        var records = bytes.AsSpan(RecordBatch.RecordsOffset);
        Assert.Equal("82534e41505059000000000100000001", Batches.Hex(records[..16]));
    }

    [Fact]
    public void Snappy_ReadsRawBlocks_AsLibrdkafkaWritesThem()
    {
        using var plain = new RecordBatchBuilder();
        plain.Append(5, "k"u8.ToArray(), "value"u8.ToArray());
        var uncompressed = plain.Build();
        var section = uncompressed.AsSpan(RecordBatch.RecordsOffset).ToArray();
        var raw = Snappier.Snappy.CompressToArray(section);
        var batch = Rebuild(uncompressed, CompressionType.Snappy, raw);
        using var scratch = new PooledBuffer();
        var count = 0;
        foreach (var r in new RecordBatchView(batch).GetRecords(scratch))
        {
            Assert.Equal("value", Encoding.UTF8.GetString(r.Value));
            count++;
        }
        Assert.Equal(1, count);
    }

    [Fact]
    public void Decompress_OverTheBound_ThrowsProtocolException()
    {
        var bytes = Batches.Make(100, 10_000, CompressionType.Zstd);
        using var scratch = new PooledBuffer();
        Assert.Throws<ProtocolException>(() =>
        {
            var e = new RecordBatchView(bytes).GetRecords(scratch, maxDecompressedBytes: 10_000);
            while (e.MoveNext())
            {
            }
        });
    }

    [Fact]
    public void ControlBatch_EndTransactionMarker_HasKafkasLayout()
    {
        var bytes = RecordBatchBuilder.EndTransactionMarker(ControlRecordType.Commit, 9, 1, 4, 1234);
        var view = new RecordBatchView(bytes);
        Assert.True(view.Header.IsControl);
        Assert.True(view.Header.IsTransactional);
        foreach (var r in view.GetRecords())
        {
            Assert.Equal("00000001", Batches.Hex(r.Key));
            Assert.Equal("000000000004", Batches.Hex(r.Value));
        }
    }

    [Fact]
    public void RandomGarbage_InRecords_OnlyEverThrowsProtocolException()
    {
        var random = new Random(3);
        var good = Batches.Make(5, 30);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = (byte[])good.Clone();
            for (var j = 0; j < 1 + random.Next(5); j++)
            {
                bytes[RecordBatch.RecordsOffset + random.Next(bytes.Length - RecordBatch.RecordsOffset)] = (byte)random.Next(256);
            }
            try
            {
                var e = new RecordBatchView(bytes).GetRecords();
                while (e.MoveNext())
                {
                }
            }
            catch (ProtocolException)
            {
            }
        }
    }

    /// <summary>Replaces the records section and compression bits, fixing length and CRC.</summary>
    internal static byte[] Rebuild(byte[] batch, CompressionType compression, byte[] recordsSection)
    {
        var result = new byte[RecordBatch.RecordsOffset + recordsSection.Length];
        batch.AsSpan(0, RecordBatch.RecordsOffset).CopyTo(result);
        recordsSection.CopyTo(result.AsSpan(RecordBatch.RecordsOffset));
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(RecordBatch.LengthOffset), result.Length - RecordBatch.LogOverhead);
        var attributes = BinaryPrimitives.ReadInt16BigEndian(result.AsSpan(RecordBatch.AttributesOffset));
        BinaryPrimitives.WriteInt16BigEndian(result.AsSpan(RecordBatch.AttributesOffset), (short)((attributes & ~RecordBatch.CompressionMask) | (int)compression));
        RecordBatch.UpdateCrc(result);
        return result;
    }
}
