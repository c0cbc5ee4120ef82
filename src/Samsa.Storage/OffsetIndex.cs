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
    : IndexFile<OffsetIndex.Entry>(path, baseOffset, maxIndexSize, 8)
{
    internal readonly record struct Entry(int RelativeOffset, int Position);

    public bool IsFull => Count >= MaxEntries;

    /// <summary>The last entry, or (baseOffset, 0) when empty (writer side).</summary>
    public OffsetPosition LastEntry =>
        Count == 0 ? new OffsetPosition(BaseOffset, 0) : new OffsetPosition(BaseOffset + LastEntryCached.RelativeOffset, LastEntryCached.Position);

    public long LastOffset => LastEntry.Offset;

    public bool CanAppendOffset(long offset) => offset - BaseOffset is >= 0 and <= int.MaxValue;

    public void Append(long offset, int position)
    {
        if (IsFull)
        {
            throw new InvalidOperationException($"Attempt to append to a full index {Path}");
        }
        if (Count > 0 && offset <= LastOffset)
        {
            throw new InvalidOperationException($"Index entry {offset} is not above the last offset {LastOffset} in {Path}");
        }
        AppendEntry(new Entry((int)(offset - BaseOffset), position));
    }

    /// <summary>Largest entry whose offset is at most <paramref name="target"/>; (baseOffset, 0) when none.</summary>
    public OffsetPosition Lookup(long target)
    {
        var slot = UpperBound(target - BaseOffset, IndexSearchKind.Key) - 1;
        if (slot < 0)
        {
            return new OffsetPosition(BaseOffset, 0);
        }
        var entry = EntryAt(slot);
        return new OffsetPosition(BaseOffset + entry.RelativeOffset, entry.Position);
    }

    /// <summary>All entries, for tests and sanity checks.</summary>
    public OffsetPosition[] Entries() =>
        Array.ConvertAll(AllEntries(), e => new OffsetPosition(BaseOffset + e.RelativeOffset, e.Position));

    /// <summary>Removes entries with offset at or above <paramref name="offset"/> (Kafka's truncateTo).</summary>
    public void TruncateTo(long offset) => TruncateToEntries(UpperBound(offset - BaseOffset - 1, IndexSearchKind.Key));

    /// <summary>Kafka's sanity check: offsets strictly increase and every position lies inside the log.</summary>
    protected override bool IsValidEntry(in Entry entry, in Entry previous, int slot, long logSize) =>
        entry.RelativeOffset >= 0 && entry.Position >= 0 && entry.Position < logSize
        && (slot == 0 || (entry.RelativeOffset > previous.RelativeOffset && entry.Position > previous.Position));

    protected override long SearchKey(ReadOnlySpan<byte> entry, IndexSearchKind kind) => BinaryPrimitives.ReadInt32BigEndian(entry);

    protected override void Encode(in Entry entry, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination, entry.RelativeOffset);
        BinaryPrimitives.WriteInt32BigEndian(destination[4..], entry.Position);
    }

    protected override Entry Decode(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt32BigEndian(source), BinaryPrimitives.ReadInt32BigEndian(source[4..]));
}
