using System.Buffers.Binary;
using System.Text;
using Samsa.Metadata.Log;
using Samsa.Metadata.Quorum;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>
/// Golden bytes for what the quorum writes to disk, built here field by field from Kafka's formats without any
/// Samsa encoder: the v2 record batch (<c>DefaultRecordBatch</c>: baseOffset, batchLength, partitionLeaderEpoch,
/// magic 2, CRC-32C over attributes..end, attributes, lastOffsetDelta, base/max timestamp, producer id/epoch, base
/// sequence, record count), the record (<c>DefaultRecord</c>: zig-zag varints), control record keys
/// (<c>ControlRecordType</c>: version 0, type), the control messages (SnapshotHeaderRecord, KRaftVersionRecord,
/// VotersRecord, SnapshotFooterRecord, LeaderChangeMessage, all flexible v0) and <c>MetadataRecordSerde</c> frames.
/// The CRC is a bitwise CRC-32C (Castagnoli, reflected 0x82F63B78) written out here.
/// </summary>
public sealed class SnapshotGoldenTests : IDisposable
{
    private const long Now = 1_700_000_001_234;
    private static readonly Uuid Dir1 = new(0x0102030405060708, 0x090a0b0c0d0e0f10);
    private static readonly Uuid Dir2 = new(0x1112131415161718, 0x191a1b1c1d1e1f20);
    private static readonly Uuid TopicId = new(0x2122232425262728, 0x292a2b2c2d2e2f30);

    private readonly string _directory = Directory.CreateTempSubdirectory("samsa-snapshot-golden-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void SnapshotFile_IsKafkasRecordsSnapshotWriterFormat_ByteForByte()
    {
        byte[] feature = MetadataRecordSerde.Serialize(MetadataRecord.Of(new FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 27 }));
        byte[] topic = MetadataRecordSerde.Serialize(MetadataRecord.Of(new TopicRecord { Name = "t", TopicId = TopicId }));
        QuorumVoter[] voters =
        [
            new(2, Dir2, [new VoterEndpoint("CONTROLLER", "h2", 9094)]),
            new(1, Dir1, [new VoterEndpoint("CONTROLLER", "h1", 9093)]),
        ];

        OffsetAndEpoch id;
        string path;
        using (var log = PartitionRaftLog.Open(_directory))
        {
            log.AppendAsLeader(RaftRpc.DataBatch([[1], [2], [3]], Now - 1000), 3);
            log.Flush();
            id = log.CreateSnapshot(3, new RaftSnapshotContents([feature, topic], voters, LastContainedLogTimestamp: Now - 1000), Now);
            path = Path.Combine(log.Directory, "00000000000000000003-0000000003.checkpoint");
        }
        Assert.Equal(new OffsetAndEpoch(3, 3), id);

        // The MetadataRecordSerde frames, by hand: frame version 1, api key, record version, then the record.
        var featureValue = new Bytes().UVarInt(1).UVarInt(12).UVarInt(0).CStr("metadata.version").I16(27).UVarInt(0).ToArray();
        var topicValue = new Bytes().UVarInt(1).UVarInt(2).UVarInt(0).CStr("t").Uuid(TopicId).UVarInt(0).ToArray();
        Assert.Equal(featureValue, feature);
        Assert.Equal(topicValue, topic);

        var header = new Bytes().I16(0).I64(Now - 1000).UVarInt(0).ToArray();
        var kraftVersion = new Bytes().I16(0).I16(1).UVarInt(0).ToArray();
        var votersRecord = new Bytes().I16(0).UVarInt(2 + 1)
            .I32(1).Uuid(Dir1).UVarInt(1 + 1).CStr("CONTROLLER").CStr("h1").I16(9093).UVarInt(0).I16(0).I16(1).UVarInt(0).UVarInt(0)
            .I32(2).Uuid(Dir2).UVarInt(1 + 1).CStr("CONTROLLER").CStr("h2").I16(9094).UVarInt(0).I16(0).I16(1).UVarInt(0).UVarInt(0)
            .UVarInt(0).ToArray();
        var footer = new Bytes().I16(0).UVarInt(0).ToArray();

        // Offsets count from 0 in the file; every batch carries the snapshot's epoch; one clock reading stamps them all.
        var expected = new Bytes()
            .Raw(Batch(0, 3, control: true, Now, [Record(0, ControlKey(3), header), Record(1, ControlKey(5), kraftVersion), Record(2, ControlKey(6), votersRecord)]))
            .Raw(Batch(3, 3, control: false, Now, [Record(0, null, featureValue), Record(1, null, topicValue)]))
            .Raw(Batch(5, 3, control: true, Now, [Record(0, ControlKey(4), footer)]))
            .ToArray();
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(File.ReadAllBytes(path)));

        var read = RaftSnapshot.Read(expected);
        Assert.Equal([featureValue, topicValue], read.Records);
        Assert.Equal([voters[1], voters[0]], read.Voters!);
        Assert.Equal(1, read.KRaftVersion);
        Assert.Equal(Now - 1000, read.LastContainedLogTimestamp);
    }

    [Fact]
    public void SnapshotFile_AtKRaftVersion0_HoldsOnlyTheHeader_DataAndFooter()
    {
        var expected = new Bytes()
            .Raw(Batch(0, 7, control: true, Now, [Record(0, ControlKey(3), new Bytes().I16(0).I64(5).UVarInt(0).ToArray())]))
            .Raw(Batch(1, 7, control: false, Now, [Record(0, null, [0xab])]))
            .Raw(Batch(2, 7, control: true, Now, [Record(0, ControlKey(4), new Bytes().I16(0).UVarInt(0).ToArray())]))
            .ToArray();
        var written = RaftSnapshot.Write(new OffsetAndEpoch(40, 7), new RaftSnapshotContents([[0xab]], null, 5, 0), Now);
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(written));
        Assert.Null(RaftSnapshot.Read(written).Voters);
    }

    [Fact]
    public void SnapshotData_FillsBatchesUpTo8KiB_AsKafkasBatchAccumulator()
    {
        var records = Enumerable.Range(0, 40).Select(i => new byte[500]).ToList();
        var written = RaftSnapshot.Write(new OffsetAndEpoch(10, 1), new RaftSnapshotContents(records, null, 0, 0), Now);
        var batches = RaftRpc.Batches(written);
        Assert.All(batches, b => Assert.True(b.Header.SizeInBytes <= RaftSnapshot.MaxBatchSizeBytes));
        // A 500-byte value takes 509 bytes as a record: 61 header bytes + 15 records fit in 8 KiB, a 16th does not.
        Assert.Equal(new long[] { 1, 15, 15, 10, 1 }, batches.Select(b => b.Header.LastOffset - b.Header.BaseOffset + 1));
        Assert.Equal(records.Count, RaftSnapshot.Read(written).Records.Count);
    }

    [Fact]
    public void Read_RefusesATornOrCorruptSnapshot()
    {
        var written = RaftSnapshot.Write(new OffsetAndEpoch(10, 1), new RaftSnapshotContents([[1, 2]], [QuorumVoter.OfId(1)], 0), Now);
        Assert.Throws<InvalidDataException>(() => RaftSnapshot.Read(written.AsSpan(0, written.Length - 1)));
        var corrupt = written.ToArray();
        corrupt[^1] ^= 1;
        Assert.Throws<InvalidDataException>(() => RaftSnapshot.Read(corrupt));
        var headerless = written.AsSpan(RaftRpc.Batches(written)[1].Position).ToArray();
        Assert.Throws<InvalidDataException>(() => RaftSnapshot.Read(headerless));
    }

    [Fact]
    public void MetadataLogSegment_HoldsTheLeaderChangeAndDataBatches_ByteForByte()
    {
        using (var log = PartitionRaftLog.Open(_directory))
        {
            log.AppendAsLeader(RaftRpc.LeaderChangeBatch(1, [3, 1, 2], [2, 1], Now), 5);
            log.AppendAsLeader(RaftRpc.DataBatch([[0x0a, 0x0b], [0x0c]], Now + 7), 5);
            log.Flush();
        }
        var segment = Path.Combine(_directory, "__cluster_metadata-0", "00000000000000000000.log");

        // LeaderChangeMessage v0: Version, LeaderId, Voters, GrantingVoters (voter: VoterId, tags), tags.
        var leaderChange = new Bytes().I16(0).I32(1)
            .UVarInt(3 + 1).I32(1).UVarInt(0).I32(2).UVarInt(0).I32(3).UVarInt(0)
            .UVarInt(2 + 1).I32(1).UVarInt(0).I32(2).UVarInt(0)
            .UVarInt(0).ToArray();
        var expected = new Bytes()
            .Raw(Batch(0, 5, control: true, Now, [Record(0, ControlKey(2), leaderChange)]))
            .Raw(Batch(1, 5, control: false, Now + 7, [Record(0, null, [0x0a, 0x0b]), Record(1, null, [0x0c])]))
            .ToArray();
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(File.ReadAllBytes(segment)));
    }

    // -- Kafka's v2 batch and record, by hand ------------------------------------------------------------------------

    private static byte[] ControlKey(short type) => new Bytes().I16(0).I16(type).ToArray();

    /// <summary>One DefaultRecord with timestamp delta 0 and no headers; a null key is length -1.</summary>
    private static byte[] Record(int offsetDelta, byte[]? key, byte[] value)
    {
        var body = new Bytes().I8(0).VarLong(0).VarInt(offsetDelta);
        if (key is null)
        {
            body.VarInt(-1);
        }
        else
        {
            body.VarInt(key.Length).Raw(key);
        }
        body.VarInt(value.Length).Raw(value).VarInt(0);
        var bytes = body.ToArray();
        return new Bytes().VarInt(bytes.Length).Raw(bytes).ToArray();
    }

    /// <summary>A v2 batch, create time, no producer, uncompressed; base and max timestamp both <paramref name="timestamp"/>.</summary>
    private static byte[] Batch(long baseOffset, int epoch, bool control, long timestamp, IReadOnlyList<byte[]> records)
    {
        var tail = new Bytes()
            .I16(control ? 0x20 : 0)
            .I32(records.Count - 1)
            .I64(timestamp)
            .I64(timestamp)
            .I64(-1)
            .I16(-1)
            .I32(-1)
            .I32(records.Count);
        foreach (var record in records)
        {
            tail.Raw(record);
        }
        var afterCrc = tail.ToArray();
        // batchLength counts from partitionLeaderEpoch: epoch 4 + magic 1 + crc 4 + the rest.
        return new Bytes().I64(baseOffset).I32(4 + 1 + 4 + afterCrc.Length).I32(epoch).I8(2).U32(Crc32C(afterCrc)).Raw(afterCrc).ToArray();
    }

    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }
        return ~crc;
    }

    /// <summary>Big-endian fixed-width fields, (zig-zag) varints, compact strings and UUIDs, appended in order.</summary>
    private sealed class Bytes
    {
        private readonly List<byte> _bytes = [];

        public byte[] ToArray() => [.. _bytes];

        public Bytes Raw(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                _bytes.Add(b);
            }
            return this;
        }

        public Bytes I8(int v) => Raw([(byte)v]);

        public Bytes I16(int v)
        {
            Span<byte> b = stackalloc byte[2];
            BinaryPrimitives.WriteInt16BigEndian(b, (short)v);
            return Raw(b);
        }

        public Bytes I32(int v)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, v);
            return Raw(b);
        }

        public Bytes U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, v);
            return Raw(b);
        }

        public Bytes I64(long v)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteInt64BigEndian(b, v);
            return Raw(b);
        }

        public Bytes UVarInt(ulong v)
        {
            while (v >= 0x80)
            {
                _bytes.Add((byte)(v | 0x80));
                v >>= 7;
            }
            _bytes.Add((byte)v);
            return this;
        }

        public Bytes VarInt(int v) => UVarInt((uint)((v << 1) ^ (v >> 31)));

        public Bytes VarLong(long v) => UVarInt((ulong)((v << 1) ^ (v >> 63)));

        public Bytes CStr(string s) => UVarInt((ulong)Encoding.UTF8.GetByteCount(s) + 1).Raw(Encoding.UTF8.GetBytes(s));

        public Bytes Uuid(Uuid u)
        {
            Span<byte> b = stackalloc byte[16];
            u.WriteBytes(b);
            return Raw(b);
        }
    }
}
