using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Metadata.Quorum;

/// <summary>What a snapshot holds besides its id: the state machine's records and the quorum's control records.</summary>
/// <param name="Records">The state machine's record values (for the metadata log, MetadataRecordSerde frames), in order.</param>
/// <param name="Voters">The voter set in force at the snapshot's end (kraft.version 1); null writes kraft.version 0, with no KRaftVersionRecord and no VotersRecord.</param>
/// <param name="LastContainedLogTimestamp">SnapshotHeaderRecord.LastContainedLogTimestamp: the append time of the last batch the snapshot covers.</param>
/// <param name="KRaftVersion">The kraft.version of a snapshot that has one (0 when it has none).</param>
public sealed record RaftSnapshotContents(IReadOnlyList<byte[]> Records, IReadOnlyList<QuorumVoter>? Voters, long LastContainedLogTimestamp, short KRaftVersion = 1);

/// <summary>
/// Kafka's snapshot file format (<c>RecordsSnapshotWriter</c> / <c>RecordsSnapshotReader</c>): the whole
/// <c>&lt;endOffset:D20&gt;-&lt;epoch:D10&gt;.checkpoint</c> file is v2 record batches, uncompressed, every batch
/// stamped with the snapshot's epoch as partition leader epoch, create-time timestamps, no producer, and offsets
/// counted from 0 within the file (not log offsets):
/// <list type="number">
/// <item>a control batch: SnapshotHeaderRecord v0 (control type 3) and, at kraft.version 1, KRaftVersionRecord v0
/// (type 5) and VotersRecord v0 (type 6), all three in the one batch;</item>
/// <item>data batches of the state machine's records (null key, the value as given, no headers, timestamp delta 0),
/// filled up to <see cref="MaxBatchSizeBytes"/> each (Kafka's <c>KafkaRaftClient.MAX_BATCH_SIZE_BYTES</c>);</item>
/// <item>a control batch with SnapshotFooterRecord v0 (type 4).</item>
/// </list>
/// A control record's key is <c>version int16 = 0 | type int16</c>; its value the message in its version, unprefixed.
/// Kafka stamps the batches with the clock as it writes; here one <c>timestampMs</c> serves the whole file.
/// </summary>
public static class RaftSnapshot
{
    /// <summary>Kafka's <c>ControlRecordType</c> keys the snapshot uses.</summary>
    public const short SnapshotHeaderType = 3;
    public const short SnapshotFooterType = 4;
    public const short KRaftVersionType = 5;
    public const short VotersType = VoterSetHistory.VotersControlType;

    /// <summary>KafkaRaftClient.MAX_BATCH_SIZE_BYTES: the most bytes one batch of a snapshot takes, header included.</summary>
    public const int MaxBatchSizeBytes = 8 * 1024;

    /// <summary>The bytes of the snapshot <paramref name="id"/> holding <paramref name="contents"/>.</summary>
    public static byte[] Write(OffsetAndEpoch id, RaftSnapshotContents contents, long timestampMs)
    {
        using var output = new MemoryStream();
        long offset = 0;

        using (var header = new RecordBatchBuilder { IsControl = true, BaseOffset = offset, PartitionLeaderEpoch = id.Epoch })
        {
            AppendControl(header, 0, timestampMs, SnapshotHeaderType, new SnapshotHeaderRecord { Version = 0, LastContainedLogTimestamp = contents.LastContainedLogTimestamp }.ToArray(0));
            if (contents.Voters is { } voters)
            {
                AppendControl(header, 1, timestampMs, KRaftVersionType, new KRaftVersionRecord { Version = 0, KRaftVersion = contents.KRaftVersion }.ToArray(0));
                AppendControl(header, 2, timestampMs, VotersType, QuorumVoter.ToRecord(voters).ToArray(0));
            }
            offset += header.Count;
            output.Write(header.Build());
        }

        var next = 0;
        while (next < contents.Records.Count)
        {
            using var data = new RecordBatchBuilder { BaseOffset = offset, PartitionLeaderEpoch = id.Epoch };
            var size = RecordBatch.HeaderSize;
            while (next < contents.Records.Count)
            {
                var record = contents.Records[next];
                var recordSize = DataRecordSize(data.Count, record.Length);
                if (data.Count > 0 && size + recordSize > MaxBatchSizeBytes)
                {
                    break;
                }
                data.Append(timestampMs, null, record);
                size += recordSize;
                next++;
            }
            offset += data.Count;
            output.Write(data.Build());
        }

        using (var footer = new RecordBatchBuilder { IsControl = true, BaseOffset = offset, PartitionLeaderEpoch = id.Epoch })
        {
            AppendControl(footer, 0, timestampMs, SnapshotFooterType, new SnapshotFooterRecord { Version = 0 }.ToArray(0));
            output.Write(footer.Build());
        }
        return output.ToArray();
    }

    /// <summary>
    /// Reads a snapshot file: its header, kraft.version and voters (null when it has no VotersRecord), and the
    /// values of its data records. Throws <see cref="InvalidDataException"/> on a torn or corrupt file, or one
    /// without the header first and the footer last.
    /// </summary>
    public static RaftSnapshotContents Read(ReadOnlySpan<byte> snapshot)
    {
        var records = new List<byte[]>();
        IReadOnlyList<QuorumVoter>? voters = null;
        short kraftVersion = 0;
        long? lastContained = null;
        var footer = false;
        var position = 0;
        using var scratch = new PooledBuffer(1024);
        while (position < snapshot.Length)
        {
            if (snapshot.Length - position < RecordBatch.HeaderSize)
            {
                throw new InvalidDataException($"Snapshot is truncated at byte {position}");
            }
            var header = RecordBatchHeader.Read(snapshot[position..]);
            if (header.SizeInBytes < RecordBatch.HeaderSize || header.SizeInBytes > snapshot.Length - position)
            {
                throw new InvalidDataException($"Snapshot is truncated at byte {position}");
            }
            var view = new RecordBatchView(snapshot.Slice(position, header.SizeInBytes));
            if (!view.IsCrcValid)
            {
                throw new InvalidDataException($"Snapshot has a corrupt batch at byte {position}");
            }
            if (footer)
            {
                throw new InvalidDataException($"Snapshot has a batch after its footer at byte {position}");
            }
            foreach (var record in view.GetRecords(scratch))
            {
                if (!header.IsControl)
                {
                    if (lastContained is null)
                    {
                        throw new InvalidDataException("Snapshot has data before its SnapshotHeaderRecord");
                    }
                    records.Add(record.Value.ToArray());
                    continue;
                }
                var type = record.Key.Length >= 4 ? BinaryPrimitives.ReadInt16BigEndian(record.Key[2..]) : (short)-1;
                if (lastContained is null && type != SnapshotHeaderType)
                {
                    throw new InvalidDataException($"Snapshot starts with control record type {type}, not a SnapshotHeaderRecord");
                }
                switch (type)
                {
                    case SnapshotHeaderType:
                        lastContained = ProtocolMessageExtensions.Parse<SnapshotHeaderRecord>(record.Value.ToArray(), 0).LastContainedLogTimestamp;
                        break;
                    case KRaftVersionType:
                        kraftVersion = ProtocolMessageExtensions.Parse<KRaftVersionRecord>(record.Value.ToArray(), 0).KRaftVersion;
                        break;
                    case VotersType:
                        voters = QuorumVoter.FromRecord(ProtocolMessageExtensions.Parse<VotersRecord>(record.Value.ToArray(), 0));
                        break;
                    case SnapshotFooterType:
                        footer = true;
                        break;
                }
            }
            position += header.SizeInBytes;
        }
        if (lastContained is null || !footer)
        {
            throw new InvalidDataException("Snapshot lacks its SnapshotHeaderRecord or SnapshotFooterRecord");
        }
        return new RaftSnapshotContents(records, voters, lastContained.Value, kraftVersion);
    }

    private static void AppendControl(RecordBatchBuilder builder, int offsetDelta, long timestampMs, short type, byte[] value)
    {
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key[2..], type);
        builder.AppendRaw(offsetDelta, timestampMs, key, false, value, false, 0, default);
    }

    /// <summary>The bytes a data record takes in a batch: length varint, attributes, timestamp delta 0, offset delta, null key, value, no headers.</summary>
    private static int DataRecordSize(int offsetDelta, int valueLength)
    {
        var body = 1 + 1 + ProtocolSize.VarInt(offsetDelta) + 1 + ProtocolSize.VarInt(valueLength) + valueLength + 1;
        return ProtocolSize.VarInt(body) + body;
    }
}
