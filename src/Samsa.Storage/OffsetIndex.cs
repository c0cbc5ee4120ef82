using System.Buffers.Binary;

namespace Samsa.Storage;

/// <summary>A relative offset and a byte position in the segment's log file.</summary>
public readonly record struct OffsetPosition(long Offset, int Position);

/// <summary>
/// Kafka's <c>OffsetIndex</c> (<c>NNNNNNNNNNNNNNNNNNNN.index</c>): 8-byte entries of
/// [relative offset int32][physical position int32], big-endian, offsets strictly increasing.
/// An entry maps the last offset of an append to the position where that append starts.
/// </summary>
internal sealed class OffsetIndex(string path, long baseOffset, int maxIndexSize)
    : IndexFile<OffsetIndex.Entry>(path, baseOffset, maxIndexSize - (maxIndexSize % 8), 8)
{
    internal readonly record struct Entry(int RelativeOffset, int Position);

    public bool IsFull => Count >= MaxEntries;

    public long LastOffset
    {
        get
        {
            var entries = Snapshot();
            return entries.IsEmpty ? BaseOffset : BaseOffset + entries[^1].RelativeOffset;
        }
    }

    public bool CanAppendOffset(long offset) => offset - BaseOffset is >= 0 and <= int.MaxValue;

    public void Append(long offset, int position)
    {
        var entries = Snapshot();
        if (IsFull)
        {
            throw new InvalidOperationException($"Attempt to append to a full index {Path}");
        }
        if (!entries.IsEmpty && offset <= BaseOffset + entries[^1].RelativeOffset)
        {
            throw new InvalidOperationException($"Index entry {offset} is not above the last offset {LastOffset} in {Path}");
        }
        AppendEntry(new Entry((int)(offset - BaseOffset), position));
    }

    /// <summary>Largest entry whose offset is at most <paramref name="target"/>; (baseOffset, 0) when none.</summary>
    public OffsetPosition Lookup(long target)
    {
        var entries = Snapshot();
        var slot = LargestLowerBound(entries, target - BaseOffset);
        return slot < 0 ? new OffsetPosition(BaseOffset, 0) : new OffsetPosition(BaseOffset + entries[slot].RelativeOffset, entries[slot].Position);
    }

    /// <summary>All entries, for tests and sanity checks.</summary>
    public OffsetPosition[] Entries()
    {
        var entries = Snapshot();
        var result = new OffsetPosition[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            result[i] = new OffsetPosition(BaseOffset + entries[i].RelativeOffset, entries[i].Position);
        }
        return result;
    }

    /// <summary>Removes entries with offset at or above <paramref name="offset"/> (Kafka's truncateTo).</summary>
    public void TruncateTo(long offset)
    {
        var entries = Snapshot();
        var relative = offset - BaseOffset;
        var slot = LargestLowerBound(entries, relative);
        var keep = slot < 0 ? 0 : entries[slot].RelativeOffset == relative ? slot : slot + 1;
        TruncateToEntries(keep);
    }

    /// <summary>Kafka's sanity check: offsets strictly increase and every position lies inside the log.</summary>
    public bool IsConsistent(long logSize)
    {
        var entries = Snapshot();
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].RelativeOffset < 0 || entries[i].Position < 0 || entries[i].Position >= logSize
                || (i > 0 && (entries[i].RelativeOffset <= entries[i - 1].RelativeOffset || entries[i].Position <= entries[i - 1].Position)))
            {
                return false;
            }
        }
        return true;
    }

    private static int LargestLowerBound(ReadOnlySpan<Entry> entries, long relative)
    {
        int lo = 0, hi = entries.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (entries[mid].RelativeOffset <= relative)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    protected override void Encode(in Entry entry, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination, entry.RelativeOffset);
        BinaryPrimitives.WriteInt32BigEndian(destination[4..], entry.Position);
    }

    protected override Entry Decode(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt32BigEndian(source), BinaryPrimitives.ReadInt32BigEndian(source[4..]));
}
