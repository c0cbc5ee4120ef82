using System.Buffers.Binary;

namespace Samsa.Storage;

/// <summary>
/// One aborted transaction as the transaction index keeps it (Kafka's <c>AbortedTxn</c>): the producer, the offsets of
/// its first record and of its abort marker, and the partition's last stable offset when the marker was written.
/// </summary>
public readonly record struct AbortedTxn(long ProducerId, long FirstOffset, long LastOffset, long LastStableOffset);

/// <summary>
/// A segment's <c>.txnindex</c> (Kafka's <c>TransactionIndex</c>): the aborted transactions whose abort marker is in the
/// segment, in marker order, 34 bytes each (<c>int16 version 0, int64 producerId, int64 firstOffset, int64 lastOffset,
/// int64 lastStableOffset</c>). Like Kafka's, the file exists only once an entry is written. The entries also stay in
/// memory: they are few (one per aborted transaction) and read_committed fetches consult them on every read.
/// </summary>
/// <remarks>Concurrency: appended and truncated under the partition log's writer lock; readers take the published array.</remarks>
public sealed class TransactionIndex
{
    public const string Suffix = ".txnindex";
    public const int EntrySize = 34;
    private const short Version = 0;

    private AbortedTxn[] _entries = [];

    public TransactionIndex(string path)
    {
        Path = path;
    }

    public string Path { get; private set; }

    /// <summary>The entries, oldest first (an immutable snapshot).</summary>
    public AbortedTxn[] Entries => Volatile.Read(ref _entries);

    /// <summary>Reads the file if there is one; a torn last entry (a crash mid-write) is dropped, as the recovery rewrites it.</summary>
    public void Load()
    {
        if (!File.Exists(Path))
        {
            return;
        }
        var bytes = File.ReadAllBytes(Path);
        var entries = new List<AbortedTxn>(bytes.Length / EntrySize);
        for (var position = 0; position + EntrySize <= bytes.Length; position += EntrySize)
        {
            var entry = bytes.AsSpan(position, EntrySize);
            if (BinaryPrimitives.ReadInt16BigEndian(entry) != Version)
            {
                throw new CorruptRecordException($"{Path} holds an entry of unknown version {BinaryPrimitives.ReadInt16BigEndian(entry)} at position {position}");
            }
            entries.Add(new AbortedTxn(BinaryPrimitives.ReadInt64BigEndian(entry[2..]), BinaryPrimitives.ReadInt64BigEndian(entry[10..]),
                BinaryPrimitives.ReadInt64BigEndian(entry[18..]), BinaryPrimitives.ReadInt64BigEndian(entry[26..])));
        }
        Volatile.Write(ref _entries, [.. entries]);
    }

    public void Append(in AbortedTxn entry)
    {
        var current = _entries;
        if (current.Length > 0 && entry.LastOffset <= current[^1].LastOffset)
        {
            throw new InvalidOperationException($"The last offset of appended transaction {entry.LastOffset} is not above the last in {Path}, {current[^1].LastOffset}");
        }
        Span<byte> bytes = stackalloc byte[EntrySize];
        Encode(entry, bytes);
        using (var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            file.Write(bytes);
        }
        Volatile.Write(ref _entries, [.. current, entry]);
    }

    /// <summary>Kafka's <c>truncateTo</c>: drops the entries whose marker is at or above <paramref name="offset"/>.</summary>
    public void TruncateTo(long offset)
    {
        var current = _entries;
        var keep = current.TakeWhile(e => e.LastOffset < offset).ToArray();
        if (keep.Length == current.Length)
        {
            return;
        }
        Rewrite(keep);
    }

    /// <summary>Replaces every entry (the cleaner's copy, a rebuilt index).</summary>
    public void Rewrite(IReadOnlyList<AbortedTxn> entries)
    {
        if (entries.Count == 0)
        {
            File.Delete(Path);
        }
        else
        {
            var bytes = new byte[entries.Count * EntrySize];
            for (var i = 0; i < entries.Count; i++)
            {
                Encode(entries[i], bytes.AsSpan(i * EntrySize, EntrySize));
            }
            File.WriteAllBytes(Path, bytes);
        }
        Volatile.Write(ref _entries, [.. entries]);
    }

    public void Flush()
    {
        if (_entries.Length == 0 || !File.Exists(Path))
        {
            return;
        }
        using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.FlushToDisk(handle);
    }

    public void RenameTo(string path)
    {
        if (File.Exists(Path))
        {
            File.Move(Path, path, overwrite: true);
        }
        Path = path;
    }

    public void DeleteFile() => File.Delete(Path);

    private static void Encode(in AbortedTxn entry, Span<byte> bytes)
    {
        BinaryPrimitives.WriteInt16BigEndian(bytes, Version);
        BinaryPrimitives.WriteInt64BigEndian(bytes[2..], entry.ProducerId);
        BinaryPrimitives.WriteInt64BigEndian(bytes[10..], entry.FirstOffset);
        BinaryPrimitives.WriteInt64BigEndian(bytes[18..], entry.LastOffset);
        BinaryPrimitives.WriteInt64BigEndian(bytes[26..], entry.LastStableOffset);
    }
}
