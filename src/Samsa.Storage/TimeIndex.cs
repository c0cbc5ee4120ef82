using System.Buffers.Binary;

namespace Samsa.Storage;

/// <summary>A timestamp and the offset it was seen at.</summary>
public readonly record struct TimestampOffset(long Timestamp, long Offset);

/// <summary>
/// Kafka's <c>TimeIndex</c> (<c>NNNNNNNNNNNNNNNNNNNN.timeindex</c>): 12-byte entries of
/// [timestamp int64][relative offset int32], big-endian. An entry is added only when the segment's max
/// timestamp grew, so timestamps and offsets both increase. The last slot is kept for the entry written
/// when the segment rolls, hence <see cref="IsFull"/> at one short of the maximum (as Kafka).
/// </summary>
internal sealed class TimeIndex(string path, long baseOffset, int maxIndexSize)
    : IndexFile<TimeIndex.Entry>(path, baseOffset, maxIndexSize, 12)
{
    internal readonly record struct Entry(long Timestamp, int RelativeOffset);

    public bool IsFull => Count >= MaxEntries - 1;

    /// <summary>The last entry, or (-1, baseOffset) when empty, as Kafka's <c>lastEntry</c> (writer side).</summary>
    public TimestampOffset LastEntry =>
        Count == 0 ? new TimestampOffset(-1, BaseOffset) : new TimestampOffset(LastEntryCached.Timestamp, BaseOffset + LastEntryCached.RelativeOffset);

    public void MaybeAppend(long timestamp, long offset, bool skipFullCheck = false)
    {
        if (!skipFullCheck && IsFull)
        {
            throw new InvalidOperationException($"Attempt to append to a full time index {Path}");
        }
        var last = LastEntry;
        if (Count > 0 && offset < last.Offset)
        {
            throw new InvalidOperationException($"Time index offset {offset} is below the last entry's {last.Offset} in {Path}");
        }
        if (timestamp > last.Timestamp)
        {
            AppendEntry(new Entry(timestamp, (int)(offset - BaseOffset)));
        }
    }

    /// <summary>Entry with the largest timestamp at most <paramref name="target"/>; (-1, baseOffset) when none.</summary>
    public TimestampOffset Lookup(long target)
    {
        var slot = UpperBound(target, IndexSearchKind.Key) - 1;
        if (slot < 0)
        {
            return new TimestampOffset(-1, BaseOffset);
        }
        var entry = EntryAt(slot);
        return new TimestampOffset(entry.Timestamp, BaseOffset + entry.RelativeOffset);
    }

    public TimestampOffset[] Entries() =>
        Array.ConvertAll(AllEntries(), e => new TimestampOffset(e.Timestamp, BaseOffset + e.RelativeOffset));

    /// <summary>Removes entries whose offset is at or above <paramref name="offset"/>.</summary>
    public void TruncateTo(long offset) => TruncateToEntries(UpperBound(offset - BaseOffset - 1, IndexSearchKind.Value));

    protected override bool IsValidEntry(in Entry entry, in Entry previous, int slot, long nextOffset) =>
        entry.RelativeOffset >= 0 && BaseOffset + entry.RelativeOffset < Math.Max(nextOffset, BaseOffset + 1)
        && (slot == 0 || (entry.Timestamp > previous.Timestamp && entry.RelativeOffset >= previous.RelativeOffset));

    protected override long SearchKey(ReadOnlySpan<byte> entry, IndexSearchKind kind) =>
        kind == IndexSearchKind.Key ? BinaryPrimitives.ReadInt64BigEndian(entry) : BinaryPrimitives.ReadInt32BigEndian(entry[8..]);

    protected override void Encode(in Entry entry, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, entry.Timestamp);
        BinaryPrimitives.WriteInt32BigEndian(destination[8..], entry.RelativeOffset);
    }

    protected override Entry Decode(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt64BigEndian(source), BinaryPrimitives.ReadInt32BigEndian(source[8..]));
}
