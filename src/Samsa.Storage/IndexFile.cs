using System.Buffers;


namespace Samsa.Storage;

/// <summary>
/// Shared mechanics of Kafka's sparse indexes (<c>AbstractIndex</c>): a file of fixed-size big-endian entries,
/// preallocated to <c>segment.index.bytes</c> (rounded down to whole entries) while its segment is active and
/// trimmed to the valid entries when the segment rolls or closes.
/// </summary>
/// <remarks>
/// Kafka memory-maps the file. Here the entries live in a managed array and are written to the file on flush,
/// roll and close; nothing else reads the file while the broker runs, and after an unclean stop the indexes of
/// every segment past the recovery point are rebuilt from the log anyway (as Kafka does). This keeps no index
/// file handle open between flushes, so a broker with thousands of partitions holds one handle per segment.
/// Readers never lock: the writer publishes a new array before the count that covers it.
/// </remarks>
internal abstract class IndexFile<TEntry> where TEntry : struct
{
    private TEntry[] _entries = new TEntry[16];
    private int _count;
    private int _persisted;
    private bool _dirty;

    protected IndexFile(string path, long baseOffset, int maxIndexSize, int entrySize)
    {
        Path = path;
        BaseOffset = baseOffset;
        EntrySize = entrySize;
        MaxIndexSize = maxIndexSize;
    }

    public string Path { get; private set; }
    public long BaseOffset { get; }
    public int EntrySize { get; }
    public int MaxIndexSize { get; private set; }
    public int MaxEntries => MaxIndexSize / EntrySize;
    public int Count => Volatile.Read(ref _count);
    public int SizeInBytes => Count * EntrySize;

    protected abstract void Encode(in TEntry entry, Span<byte> destination);
    protected abstract TEntry Decode(ReadOnlySpan<byte> source);

    /// <summary>A consistent view for readers: count first, then the array that holds at least that many.</summary>
    protected ReadOnlySpan<TEntry> Snapshot()
    {
        var count = Volatile.Read(ref _count);
        var array = Volatile.Read(ref _entries);
        return array.AsSpan(0, Math.Min(count, array.Length));
    }

    protected void AppendEntry(in TEntry entry)
    {
        if (_count == _entries.Length)
        {
            var bigger = new TEntry[_entries.Length * 2];
            _entries.AsSpan().CopyTo(bigger);
            Volatile.Write(ref _entries, bigger);
        }
        _entries[_count] = entry;
        Volatile.Write(ref _count, _count + 1);
        _dirty = true;
    }

    protected void TruncateToEntries(int entries)
    {
        Volatile.Write(ref _count, entries);
        _persisted = Math.Min(_persisted, entries);
        _dirty = true;
    }

    public void Reset() => TruncateToEntries(0);

    /// <summary>Loads entries from the file; returns false (and leaves the index empty) when the file is unusable.</summary>
    public bool Load(long maxFileSize)
    {
        if (!File.Exists(Path))
        {
            return false;
        }
        var length = new FileInfo(Path).Length;
        // Bound before allocating: an index can never legally exceed the configured maximum size.
        if (length > Math.Max(maxFileSize, MaxIndexSize) || length % EntrySize != 0)
        {
            return false;
        }
        var count = (int)(length / EntrySize);
        var array = new TEntry[Math.Max(16, count)];
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024 - (64 * 1024 % EntrySize));
        try
        {
            using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long position = 0;
            var index = 0;
            while (position < length)
            {
                // The pool may hand out a larger array than asked for: read whole entries only.
                var chunk = (int)Math.Min(buffer.Length - (buffer.Length % EntrySize), length - position);
                var read = RandomAccess.Read(handle, buffer.AsSpan(0, chunk), position);
                if (read != chunk)
                {
                    return false;
                }
                for (var i = 0; i < chunk; i += EntrySize)
                {
                    array[index++] = Decode(buffer.AsSpan(i, EntrySize));
                }
                position += chunk;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _entries = array;
        _count = count;
        _persisted = count;
        _dirty = false;
        return true;
    }

    /// <summary>Writes unpersisted entries; when <paramref name="fileLength"/> is given the file is set to that length.</summary>
    public void Persist(long? fileLength = null, bool fsync = false)
    {
        if (!_dirty && fileLength is null && !fsync)
        {
            return;
        }
        using var handle = File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var count = _count;
        if (count > _persisted)
        {
            var bytes = (count - _persisted) * EntrySize;
            var buffer = ArrayPool<byte>.Shared.Rent(bytes);
            try
            {
                for (var i = _persisted; i < count; i++)
                {
                    Encode(_entries[i], buffer.AsSpan((i - _persisted) * EntrySize, EntrySize));
                }
                RandomAccess.Write(handle, buffer.AsSpan(0, bytes), (long)_persisted * EntrySize);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            _persisted = count;
        }
        if (fileLength is { } len)
        {
            RandomAccess.SetLength(handle, Math.Max(len, (long)count * EntrySize));
        }
        if (fsync)
        {
            RandomAccess.FlushToDisk(handle);
        }
        _dirty = false;
    }

    /// <summary>Active segment: file preallocated to the maximum size, as Kafka creates it.</summary>
    public void Preallocate(int maxIndexSize)
    {
        MaxIndexSize = maxIndexSize - (maxIndexSize % EntrySize);
        Persist(MaxIndexSize);
    }

    /// <summary>Roll or close: the file shrinks to the valid entries and the index stops accepting entries.</summary>
    public void TrimToValidSize()
    {
        Persist((long)Count * EntrySize);
        MaxIndexSize = Count * EntrySize;
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
}
