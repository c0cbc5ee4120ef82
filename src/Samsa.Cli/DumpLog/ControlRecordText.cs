using System.Buffers.Binary;
using System.Text;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Cli.DumpLog;

/// <summary>
/// Kafka's <c>DumpLogSegments.printControlRecord</c>: a control record's key is <c>int16 version | int16 type</c>
/// (<c>ControlRecordType</c>); its value is <c>int16 version | body</c>. Transaction markers print as
/// <c> endTxnMarker: COMMIT coordinatorEpoch: N</c>, KRaft control records as their JSON.
/// </summary>
internal static class ControlRecordText
{
    public static void Append(StringBuilder line, Record record)
    {
        if (record.KeyIsNull || record.Key.Length < 4)
        {
            line.Append(" controlType: UNKNOWN(-1)");
            return;
        }
        var type = BinaryPrimitives.ReadInt16BigEndian(record.Key[2..]);
        var (label, schema) = type switch
        {
            0 or 1 => ("", ""),
            2 => (" LeaderChange: ", "LeaderChangeMessage"),
            3 => (" SnapshotHeader ", "SnapshotHeaderRecord"),
            4 => (" SnapshotFooter ", "SnapshotFooterRecord"),
            5 => (" KRaftVersion ", "KRaftVersionRecord"),
            6 => (" KRaftVoters ", "VotersRecord"),
            _ => (null, null),
        };
        if (label is null || schema is null)
        {
            line.Append($" controlType: UNKNOWN({type})");
            return;
        }
        var reader = new ProtocolReader(record.ValueIsNull ? default : record.Value);
        var version = reader.ReadInt16();
        if (schema == "")
        {
            // EndTransactionMarker: int16 version | int32 coordinatorEpoch.
            line.Append($" endTxnMarker: {(type == 0 ? "ABORT" : "COMMIT")} coordinatorEpoch: {reader.ReadInt32()}");
            return;
        }
        line.Append(label).Append(JacksonText.Write(MessageSchema.Get("messages", schema).Read(ref reader, version)));
    }
}

/// <summary>One producer's entry in a producer state snapshot (Kafka's <c>ProducerSnapshot</c> schema, version 1).</summary>
internal readonly record struct ProducerSnapshotEntry(
    long ProducerId, short ProducerEpoch, int LastSequence, long LastOffset, int OffsetDelta, long Timestamp, int CoordinatorEpoch, long CurrentTxnFirstOffset);

/// <summary>Reads Kafka's <c>NNNNNNNNNNNNNNNNNNNN.snapshot</c> producer state files, CRC checked as Kafka does.</summary>
internal static class ProducerSnapshotFile
{
    /// <summary>Where the entries start: after int16 version and uint32 crc (Kafka's <c>PRODUCER_ENTRIES_OFFSET</c>).</summary>
    private const int EntriesOffset = 6;
    private const int EntrySize = 46;

    public static List<ProducerSnapshotEntry> Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < EntriesOffset + 4)
        {
            throw new ProtocolException($"Snapshot failed schema validation: Error reading field 'version': {bytes.Length} bytes is too short");
        }
        var version = BinaryPrimitives.ReadInt16BigEndian(bytes);
        if (version != 1)
        {
            throw new ProtocolException($"Snapshot contained an unknown file version {version}");
        }
        var crc = BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]);
        var computed = Crc32C.Compute(bytes[EntriesOffset..]);
        if (crc != computed)
        {
            throw new ProtocolException($"Snapshot is corrupt (CRC is no longer valid). Stored crc: {crc}. Computed crc: {computed}");
        }
        var count = BinaryPrimitives.ReadInt32BigEndian(bytes[EntriesOffset..]);
        if (count < 0 || (long)count * EntrySize > bytes.Length - EntriesOffset - 4)
        {
            throw new ProtocolException($"Snapshot failed schema validation: Error reading array of size {count}, only {bytes.Length - EntriesOffset - 4} bytes available");
        }
        var entries = new List<ProducerSnapshotEntry>(count);
        for (var i = 0; i < count; i++)
        {
            var e = bytes[(EntriesOffset + 4 + (i * EntrySize))..];
            entries.Add(new ProducerSnapshotEntry(
                BinaryPrimitives.ReadInt64BigEndian(e),
                BinaryPrimitives.ReadInt16BigEndian(e[8..]),
                BinaryPrimitives.ReadInt32BigEndian(e[10..]),
                BinaryPrimitives.ReadInt64BigEndian(e[14..]),
                BinaryPrimitives.ReadInt32BigEndian(e[22..]),
                BinaryPrimitives.ReadInt64BigEndian(e[26..]),
                BinaryPrimitives.ReadInt32BigEndian(e[34..]),
                BinaryPrimitives.ReadInt64BigEndian(e[38..])));
        }
        return entries;
    }
}
