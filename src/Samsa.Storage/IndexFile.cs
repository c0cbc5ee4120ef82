using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace Samsa.Storage;

/// <summary>Which field of an index entry a binary search compares (Kafka's <c>IndexSearchType</c>).</summary>
internal enum IndexSearchKind
{
    /// <summary>The field the index is sorted and looked up by: the offset, or the time index's timestamp.</summary>
    Key,

    /// <summary>The time index's offset, for truncation.</summary>
    Value,
}

/// <summary>
/// Shared mechanics of Kafka's sparse indexes (<c>AbstractIndex</c>, <c>LazyIndex</c>): a file of fixed-size
/// big-endian entries, preallocated to <c>segment.index.bytes</c> (rounded down to whole entries) while its segment
/// is active and trimmed to the valid entries when the segment rolls or closes.
/// </summary>
/// <remarks>
/// <para>
/// The entries live only in the file. Like Kafka, the file is memory-mapped and entries are written into and read
/// from the mapping, so memory does not grow with the size of the file (a preallocated 10 MB index after an unclean
/// stop costs address space, not heap). The mapping is made lazily, on the first lookup or append, and dropped when
/// the file is resized (the next use maps it again), so an inactive segment costs no mapping until it is read. No
/// file descriptor is kept: the mapping outlives the descriptor that made it. Loading and the sanity check read
/// the file with <c>pread</c> into a pooled buffer and map nothing.
/// </para>
/// <para>
/// Concurrency: one writer (the partition's writer lock) appends, truncates and resizes. Readers never take that
/// lock: an entry is written into the mapping before the count that covers it is published, and a reader holds a
/// reference on the mapping while it searches. Kafka takes a read lock for this (<c>remapLock</c>); here a resize
/// unpublishes the mapping and waits for the references held by readers to drop before it changes the file's
/// length, so a reader can never touch a page the file no longer has. <see cref="_mapLock"/> (a leaf) serialises
/// making and dropping the mapping; readers take it only when no mapping is published.
/// </para>
/// </remarks>
internal abstract unsafe class IndexFile<TEntry> where TEntry : struct
{
    /// <summary>Kafka's warm section: lookups near the end touch only the last 8 KB of the file.</summary>
    private const int WarmBytes = 8192;

    private readonly Lock _mapLock = new();
    private Mapping? _mapping;
    private int _count;
    private long _length;
    private TEntry _last;
    private int _dirty;
    private bool _closed;

    protected IndexFile(string path, long baseOffset, int maxIndexSize, int entrySize)
    {
        Path = path;
        BaseOffset = baseOffset;
        EntrySize = entrySize;
        MaxIndexSize = maxIndexSize - (maxIndexSize % entrySize);
    }

    public string Path { get; private set; }
    public long BaseOffset { get; }
    public int EntrySize { get; }

    /// <summary>Kafka's <c>maxIndexSize</c>: the length the file has while its segment is active.</summary>
    public int MaxIndexSize { get; private set; }

    /// <summary>Entries the file has room for at its current length (Kafka's <c>maxEntries</c>).</summary>
    public int MaxEntries => (int)(Volatile.Read(ref _length) / EntrySize);

    public int Count => Volatile.Read(ref _count);
    public int SizeInBytes => Count * EntrySize;

    /// <summary>The file's current length in bytes.</summary>
    public long Length => Volatile.Read(ref _length);

    protected abstract void Encode(in TEntry entry, Span<byte> destination);
    protected abstract TEntry Decode(ReadOnlySpan<byte> source);

    /// <summary>The field a search compares, widened to long.</summary>
    protected abstract long SearchKey(ReadOnlySpan<byte> entry, IndexSearchKind kind);

    /// <summary>Kafka's sanity check for one entry, given the one before it (<paramref name="slot"/> 0 has none).</summary>
    protected abstract bool IsValidEntry(in TEntry entry, in TEntry previous, int slot, long bound);

    /// <summary>The last entry (writer side; cached as Kafka caches <c>lastEntry</c>). Default when empty.</summary>
    protected TEntry LastEntryCached => _last;

    protected void AppendEntry(in TEntry entry)
    {
        var count = _count;
        if (count >= MaxEntries)
        {
            throw new InvalidOperationException($"Attempt to append to a full index {Path} ({count} entries)");
        }
        var position = (long)count * EntrySize;
        if (TouchesNewPage(position))
        {
            // The preallocated file is sparse: the first store into a page allocates it, and on a full disk a store
            // through the mapping would kill the process with SIGBUS. pwrite allocates the page or fails with ENOSPC
            // (an IOException the append reports as KAFKA_STORAGE_ERROR); later stores into the page cannot fail.
            Span<byte> bytes = stackalloc byte[EntrySize];
            Encode(entry, bytes);
            using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            RandomAccess.Write(handle, bytes, position);
        }
        else
        {
            var mapping = Acquire();
            try
            {
                Encode(entry, mapping.Bytes(position, EntrySize));
            }
            finally
            {
                mapping.Release();
            }
        }
        _last = entry;
        Volatile.Write(ref _dirty, 1);
        // The entry is in the mapping before the count that lets readers see it.
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>Whether an entry at <paramref name="position"/> is the first to write into one of its pages.</summary>
    private bool TouchesNewPage(long position)
    {
        var page = Environment.SystemPageSize;
        return position == 0 || (position + EntrySize - 1) / page != (position - 1) / page;
    }

    protected void TruncateToEntries(int entries)
    {
        Volatile.Write(ref _count, entries);
        _last = entries > 0 ? EntryAt(entries - 1) : default;
        Volatile.Write(ref _dirty, 1);
    }

    /// <summary>Kafka's <c>reset</c>: no entries, and the file back at <see cref="MaxIndexSize"/> for a rebuild.</summary>
    public void Reset()
    {
        TruncateToEntries(0);
        Resize(MaxIndexSize);
    }

    /// <summary>
    /// Takes the entry count from the file's length, decoding nothing; returns false (and leaves the index empty)
    /// when the file is missing or cannot be an index. Whether the entries make sense is <see cref="IsConsistent"/>.
    /// </summary>
    public bool Load(long maxFileSize)
    {
        if (!File.Exists(Path))
        {
            return false;
        }
        using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = RandomAccess.GetLength(handle);
        if (length > Math.Max(maxFileSize, MaxIndexSize) || length % EntrySize != 0)
        {
            return false;
        }
        var count = (int)(length / EntrySize);
        TEntry last = default;
        if (count > 0)
        {
            Span<byte> entry = stackalloc byte[EntrySize];
            if (RandomAccess.Read(handle, entry, length - EntrySize) != EntrySize)
            {
                return false;
            }
            last = Decode(entry);
        }
        DropMapping();
        _length = length;
        _last = last;
        Volatile.Write(ref _count, count);
        return true;
    }

    /// <summary>
    /// Kafka's sanity check over every entry, read from the file in pooled chunks (nothing is mapped or kept), and
    /// stopping at the first bad entry: after an unclean stop that is the first zero entry of the preallocated tail.
    /// </summary>
    public bool IsConsistent(long bound)
    {
        var count = Count;
        if (count == 0)
        {
            return true;
        }
        var chunkBytes = 64 * 1024 / EntrySize * EntrySize;
        var buffer = ArrayPool<byte>.Shared.Rent(chunkBytes);
        try
        {
            using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var end = (long)count * EntrySize;
            long position = 0;
            var slot = 0;
            TEntry previous = default;
            while (position < end)
            {
                var chunk = (int)Math.Min(chunkBytes, end - position);
                if (RandomAccess.Read(handle, buffer.AsSpan(0, chunk), position) != chunk)
                {
                    return false;
                }
                for (var i = 0; i < chunk; i += EntrySize)
                {
                    var entry = Decode(buffer.AsSpan(i, EntrySize));
                    if (!IsValidEntry(entry, previous, slot, bound))
                    {
                        return false;
                    }
                    previous = entry;
                    slot++;
                }
                position += chunk;
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The first slot whose field is above <paramref name="target"/> (the count when none is); fields never
    /// decrease. Searches the warm section first, as Kafka does, so lookups near the end touch the last pages only.
    /// </summary>
    protected int UpperBound(long target, IndexSearchKind kind)
    {
        var mapping = Acquire();
        try
        {
            var count = (int)Math.Min(Volatile.Read(ref _count), mapping.Length / EntrySize);
            if (count == 0)
            {
                return 0;
            }
            var bytes = mapping.Bytes(0, count * EntrySize);
            var firstHot = Math.Max(0, count - 1 - (WarmBytes / EntrySize));
            int lo, hi;
            if (SearchKey(bytes.Slice(firstHot * EntrySize, EntrySize), kind) <= target)
            {
                (lo, hi) = (firstHot + 1, count);
            }
            else
            {
                (lo, hi) = (0, firstHot);
            }
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (SearchKey(bytes.Slice(mid * EntrySize, EntrySize), kind) <= target)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            return lo;
        }
        finally
        {
            mapping.Release();
        }
    }

    /// <summary>The entry in <paramref name="slot"/>, which must be below the count.</summary>
    protected TEntry EntryAt(int slot)
    {
        var mapping = Acquire();
        try
        {
            return Decode(mapping.Bytes((long)slot * EntrySize, EntrySize));
        }
        finally
        {
            mapping.Release();
        }
    }

    /// <summary>Every entry, decoded (tests and checks).</summary>
    protected TEntry[] AllEntries()
    {
        var mapping = Acquire();
        try
        {
            var count = (int)Math.Min(Volatile.Read(ref _count), mapping.Length / EntrySize);
            var result = new TEntry[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = Decode(mapping.Bytes((long)i * EntrySize, EntrySize));
            }
            return result;
        }
        finally
        {
            mapping.Release();
        }
    }

    /// <summary>Forces entries written since the last flush to disk (Kafka's <c>flush</c>, <c>mmap.force</c>).</summary>
    public void Flush()
    {
        if (Interlocked.Exchange(ref _dirty, 0) == 0)
        {
            return;
        }
        // fsync writes back the pages dirtied through any mapping of the file, current or already dropped.
        using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Active segment: file preallocated to the maximum size, as Kafka creates it.</summary>
    public void Preallocate(int maxIndexSize)
    {
        MaxIndexSize = maxIndexSize - (maxIndexSize % EntrySize);
        Resize(Math.Max(MaxIndexSize, (long)Count * EntrySize));
    }

    /// <summary>Roll or close: the file shrinks to the valid entries and the index stops accepting entries.</summary>
    public void TrimToValidSize() => Resize((long)Count * EntrySize);

    /// <summary>
    /// Kafka's <c>resize</c>: sets the file's length (whole entries) and drops the mapping, waiting for readers
    /// that hold it, so no mapping ever reaches past the end of the file. The next use maps the new length.
    /// </summary>
    private void Resize(long size)
    {
        size -= size % EntrySize;
        lock (_mapLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            using var handle = File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            if (RandomAccess.GetLength(handle) == size && Volatile.Read(ref _length) == size)
            {
                return;
            }
            DropMappingLocked();
            RandomAccess.SetLength(handle, size);
            Volatile.Write(ref _length, size);
        }
    }

    public void RenameTo(string path)
    {
        if (File.Exists(Path))
        {
            File.Move(Path, path, overwrite: true);
        }
        Path = path;
    }

    /// <summary>Drops the mapping for good; a later lookup throws <see cref="ObjectDisposedException"/>.</summary>
    public void Close()
    {
        lock (_mapLock)
        {
            _closed = true;
            DropMappingLocked();
        }
    }

    public void DeleteFile()
    {
        Close();
        File.Delete(Path);
    }

    private void DropMapping()
    {
        lock (_mapLock)
        {
            DropMappingLocked();
        }
    }

    private void DropMappingLocked()
    {
        var mapping = _mapping;
        if (mapping is null)
        {
            return;
        }
        Volatile.Write(ref _mapping, null);
        mapping.Retire();
    }

    /// <summary>The published mapping with a reference taken, mapping the file first if nothing is published.</summary>
    private Mapping Acquire()
    {
        while (true)
        {
            var mapping = Volatile.Read(ref _mapping) ?? MapOnFirstUse();
            if (mapping.TryAcquire())
            {
                return mapping;
            }
            // Dropped by a resize between our read and our reference: the resize publishes nothing, so look again.
        }
    }

    private Mapping MapOnFirstUse()
    {
        lock (_mapLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_mapping is { } existing)
            {
                return existing;
            }
            var mapping = Mapping.Create(Path, Volatile.Read(ref _length));
            Volatile.Write(ref _mapping, mapping);
            return mapping;
        }
    }

    /// <summary>
    /// One mapping of the file, reference counted: the index holds one reference while the mapping is published and
    /// each reader one while it reads. The view is unmapped when the last reference goes.
    /// </summary>
    private sealed class Mapping
    {
        private static readonly Mapping s_empty = new(null, null, 0);
        private readonly MemoryMappedViewAccessor? _view;
        private readonly byte* _pointer;
        private int _references = 1;

        private Mapping(MemoryMappedViewAccessor? view, byte* pointer, long length)
        {
            _view = view;
            _pointer = pointer;
            Length = length;
        }

        public long Length { get; }

        public static Mapping Create(string path, long length)
        {
            if (length == 0)
            {
                // mmap cannot map zero bytes; an empty file has nothing to read.
                return s_empty;
            }
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            // The view keeps the pages mapped after the file and its descriptor are closed.
            using var file = MemoryMappedFile.CreateFromFile(handle, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            Interlocked.Increment(ref IndexMappings.s_mapped);
            return new Mapping(view, pointer + view.PointerOffset, length);
        }

        public Span<byte> Bytes(long offset, int length)
        {
            if (offset < 0 || length < 0 || offset + length > Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), $"Bytes {offset}+{length} outside a mapping of {Length}");
            }
            return new Span<byte>(_pointer + offset, length);
        }

        public bool TryAcquire()
        {
            if (_view is null)
            {
                return true;
            }
            var references = Volatile.Read(ref _references);
            while (references > 0)
            {
                var seen = Interlocked.CompareExchange(ref _references, references + 1, references);
                if (seen == references)
                {
                    return true;
                }
                references = seen;
            }
            return false;
        }

        public void Release()
        {
            if (_view is not null && Interlocked.Decrement(ref _references) == 0)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
                Interlocked.Decrement(ref IndexMappings.s_mapped);
            }
        }

        /// <summary>Gives up the index's reference, then waits until readers have let go and the view is unmapped.</summary>
        public void Retire()
        {
            if (_view is null)
            {
                return;
            }
            Release();
            var spin = new SpinWait();
            // Readers hold a reference only for one search, never across a wait.
            while (Volatile.Read(ref _references) != 0)
            {
                spin.SpinOnce();
            }
        }
    }
}

/// <summary>Process-wide count of mapped index files, for tests of what startup costs.</summary>
internal static class IndexMappings
{
    internal static int s_mapped;

    public static int Mapped => Volatile.Read(ref s_mapped);
}
