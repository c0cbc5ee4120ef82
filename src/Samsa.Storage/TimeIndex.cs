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
    : IndexFile<TimeIndex.Entry>(path, baseOffset, maxIndexSize - (maxIndexSize % 12), 12)
{
    internal readonly record struct Entry(long Timestamp, int RelativeOffset);

    public bool IsFull => Count >= MaxEntries - 1;

    /// <summary>The last entry, or (-1, baseOffset) when empty, as Kafka's <c>lastEntry</c>.</summary>
    public TimestampOffset LastEntry
    {
        get
        {
            var entries = Snapshot();
            return entries.IsEmpty ? new TimestampOffset(-1, BaseOffset) : new TimestampOffset(entries[^1].Timestamp, BaseOffset + entries[^1].RelativeOffset);
        }
    }

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
        var entries = Snapshot();
        int lo = 0, hi = entries.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (entries[mid].Timestamp <= target)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found < 0 ? new TimestampOffset(-1, BaseOffset) : new TimestampOffset(entries[found].Timestamp, BaseOffset + entries[found].RelativeOffset);
    }

    public TimestampOffset[] Entries()
    {
        var entries = Snapshot();
        var result = new TimestampOffset[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            result[i] = new TimestampOffset(entries[i].Timestamp, BaseOffset + entries[i].RelativeOffset);
        }
        return result;
    }

    /// <summary>Removes entries whose offset is at or above <paramref name="offset"/>.</summary>
    public void TruncateTo(long offset)
    {
        var entries = Snapshot();
        var keep = entries.Length;
        while (keep > 0 && BaseOffset + entries[keep - 1].RelativeOffset >= offset)
        {
            keep--;
        }
        TruncateToEntries(keep);
    }

    public bool IsConsistent(long nextOffset)
    {
        var entries = Snapshot();
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].RelativeOffset < 0 || BaseOffset + entries[i].RelativeOffset >= Math.Max(nextOffset, BaseOffset + 1)
                || (i > 0 && (entries[i].Timestamp <= entries[i - 1].Timestamp || entries[i].RelativeOffset < entries[i - 1].RelativeOffset)))
            {
                return false;
            }
        }
        return true;
    }

    protected override void Encode(in Entry entry, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, entry.Timestamp);
        BinaryPrimitives.WriteInt32BigEndian(destination[8..], entry.RelativeOffset);
    }

    protected override Entry Decode(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt64BigEndian(source), BinaryPrimitives.ReadInt32BigEndian(source[8..]));
}
