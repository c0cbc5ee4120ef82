using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Storage.ProducerState;

/// <summary>One producer's entry in a producer state snapshot (Kafka's <c>ProducerSnapshot</c> schema, version 1).</summary>
public readonly record struct ProducerSnapshotEntry(
    long ProducerId, short ProducerEpoch, int LastSequence, long LastOffset, int OffsetDelta, long Timestamp, int CoordinatorEpoch, long CurrentTxnFirstOffset);

/// <summary>
/// Kafka's producer state snapshot files, <c>NNNNNNNNNNNNNNNNNNNN.snapshot</c> (<c>ProducerStateManager.readSnapshot</c>
/// / <c>writeSnapshot</c>): <c>int16 version (1) | uint32 crc32c of the rest | int32 count | entries</c>, each
/// <c>producerId int64, epoch int16, lastSequence int32, lastOffset int64, offsetDelta int32, timestamp int64,
/// coordinatorEpoch int32, currentTxnFirstOffset int64</c>. Read CRC checked, as Kafka does.
/// </summary>
public static class ProducerSnapshotFile
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

    public const string Suffix = ".snapshot";

    /// <summary>The file name of the snapshot taken at <paramref name="offset"/> (the log end offset it covers up to).</summary>
    public static string FileName(long offset) => offset.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + Suffix;

    /// <summary>The bytes of a snapshot holding <paramref name="entries"/>, as Kafka's <c>writeSnapshot</c> lays them out.</summary>
    public static byte[] Write(IReadOnlyCollection<ProducerSnapshotEntry> entries)
    {
        var bytes = new byte[EntriesOffset + 4 + (entries.Count * EntrySize)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, 1);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(EntriesOffset), entries.Count);
        var position = EntriesOffset + 4;
        foreach (var entry in entries)
        {
            var e = bytes.AsSpan(position, EntrySize);
            BinaryPrimitives.WriteInt64BigEndian(e, entry.ProducerId);
            BinaryPrimitives.WriteInt16BigEndian(e[8..], entry.ProducerEpoch);
            BinaryPrimitives.WriteInt32BigEndian(e[10..], entry.LastSequence);
            BinaryPrimitives.WriteInt64BigEndian(e[14..], entry.LastOffset);
            BinaryPrimitives.WriteInt32BigEndian(e[22..], entry.OffsetDelta);
            BinaryPrimitives.WriteInt64BigEndian(e[26..], entry.Timestamp);
            BinaryPrimitives.WriteInt32BigEndian(e[34..], entry.CoordinatorEpoch);
            BinaryPrimitives.WriteInt64BigEndian(e[38..], entry.CurrentTxnFirstOffset);
            position += EntrySize;
        }
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(2), Crc32C.Compute(bytes.AsSpan(EntriesOffset)));
        return bytes;
    }
}
