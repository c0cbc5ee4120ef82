using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Samsa.Protocol.Records;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage;

/// <summary>File names inside a partition directory, as Kafka's <c>LogFileUtils</c> spells them.</summary>
public static class LogFileNames
{
    public const string LogSuffix = ".log";
    public const string IndexSuffix = ".index";
    public const string TimeIndexSuffix = ".timeindex";
    public const string DeletedSuffix = ".deleted";
    public const string CleanedSuffix = ".cleaned";
    public const string SwapSuffix = ".swap";

    /// <summary>Base offsets are zero-padded to 20 digits so names sort like numbers.</summary>
    public static string FormatOffset(long offset) => offset.ToString("D20", CultureInfo.InvariantCulture);

    public static bool TryParseOffset(string fileName, out long offset)
    {
        var dot = fileName.IndexOf('.', StringComparison.Ordinal);
        var stem = dot < 0 ? fileName : fileName[..dot];
        return long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out offset) && stem.Length == 20;
    }
}

/// <summary>Where an offset was found in a segment file.</summary>
internal readonly record struct BatchLocation(long Position, int Size, RecordBatchHeader Header);

/// <summary>
/// One segment: <c>base.log</c> with its <c>.index</c> and <c>.timeindex</c> (Kafka's <c>LogSegment</c>).
/// Appends come from the partition's single writer; reads are lock-free and see bytes only up to
/// <see cref="Size"/>, which the writer publishes after the bytes and index entries are in place.
/// </summary>
internal sealed class LogSegment : IDisposable
{
    private readonly TimeProvider _time;
    private readonly int _indexIntervalBytes;
    private readonly Lock _handleLock = new();
    private SafeFileHandle? _log;
    private bool _closed;
    private long _size;
    private long _nextOffset;
    private int _bytesSinceLastIndexEntry;
    private TimestampOffset _maxTimestampSoFar = new(-1, -1);
    private long? _rollingBasedTimestamp;
    private long _created;

    private LogSegment(string directory, long baseOffset, LogConfig config, TimeProvider time, long rollJitterMs, string suffix)
    {
        Directory = directory;
        BaseOffset = baseOffset;
        _time = time;
        _indexIntervalBytes = config.IndexIntervalBytes;
        RollJitterMs = rollJitterMs;
        var stem = System.IO.Path.Combine(directory, LogFileNames.FormatOffset(baseOffset));
        LogPath = stem + LogFileNames.LogSuffix + suffix;
        OffsetIndex = new OffsetIndex(stem + LogFileNames.IndexSuffix + suffix, baseOffset, config.SegmentIndexBytes);
        TimeIndex = new TimeIndex(stem + LogFileNames.TimeIndexSuffix + suffix, baseOffset, config.SegmentIndexBytes);
        TxnIndex = new TransactionIndex(stem + TransactionIndex.Suffix + suffix);
        _size = RandomAccess.GetLength(Handle);
        _nextOffset = baseOffset;
        _created = time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    public string Directory { get; }
    public long BaseOffset { get; }
    public string LogPath { get; private set; }
    public OffsetIndex OffsetIndex { get; }
    public TimeIndex TimeIndex { get; }

    /// <summary>The aborted transactions whose abort marker is in this segment.</summary>
    public TransactionIndex TxnIndex { get; }
    public long RollJitterMs { get; }
    /// <summary>
    /// The .log file handle, opened on first use. Inactive segments release theirs after loading, so a broker
    /// holds one handle per partition plus one per segment that was actually read since startup.
    /// </summary>
    public SafeFileHandle Handle
    {
        get
        {
            var handle = Volatile.Read(ref _log);
            if (handle is not null)
            {
                return handle;
            }
            lock (_handleLock)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (_log is null)
                {
                    // Asynchronous only marks the handle on Linux (file I/O here stays pread/pwrite); it lets the
                    // network layer wrap it in the FileStream that sendfile (Socket.SendPacketsAsync) requires.
                    _log = File.OpenHandle(LogPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
                    Interlocked.Increment(ref s_openHandles);
                }
                return _log;
            }
        }
    }

    private static int s_openHandles;

    /// <summary>Segment log handles currently open in this process.</summary>
    public static int OpenHandles => Volatile.Read(ref s_openHandles);

    /// <summary>Closes the handle until the next use; only while no reader can hold a region of it (during load).</summary>
    internal void ReleaseHandle()
    {
        lock (_handleLock)
        {
            if (_log is not null)
            {
                _log.Dispose();
                _log = null;
                Interlocked.Decrement(ref s_openHandles);
            }
        }
    }

    private void CloseHandle()
    {
        OffsetIndex.Close();
        TimeIndex.Close();
        lock (_handleLock)
        {
            _closed = true;
            if (_log is not null)
            {
                _log.Dispose();
                _log = null;
                Interlocked.Decrement(ref s_openHandles);
            }
        }
    }

    /// <summary>Published size of the log file; readers never look past it.</summary>
    public long Size => Volatile.Read(ref _size);

    /// <summary>The offset after the last batch in this segment (the base offset when empty).</summary>
    public long NextOffset => Volatile.Read(ref _nextOffset);

    public TimestampOffset MaxTimestampSoFar => _maxTimestampSoFar;

    /// <summary>Kafka's <c>largestTimestamp</c>: the max record timestamp, or the file's mtime when none is known.</summary>
    public long LargestTimestamp => _maxTimestampSoFar.Timestamp >= 0 ? _maxTimestampSoFar.Timestamp : LastModifiedMs;

    public long LastModifiedMs => new DateTimeOffset(File.GetLastWriteTimeUtc(LogPath)).ToUnixTimeMilliseconds();

    /// <summary>Creates a new, empty segment with indexes preallocated.</summary>
    public static LogSegment Create(string directory, long baseOffset, LogConfig config, TimeProvider time, long rollJitterMs, string suffix = "")
    {
        var segment = new LogSegment(directory, baseOffset, config, time, rollJitterMs, suffix);
        try
        {
            RandomAccess.SetLength(segment.Handle, 0);
            segment._size = 0;
            // Cleaned (suffixed) segments too, as Kafka's cleaner creates them; they are trimmed when complete.
            segment.OffsetIndex.Preallocate(config.SegmentIndexBytes);
            segment.TimeIndex.Preallocate(config.SegmentIndexBytes);
            return segment;
        }
        catch (IOException)
        {
            // Disk full: leave no half-made segment behind.
            try
            {
                segment.DeleteFiles();
            }
            catch (IOException)
            {
            }
            throw;
        }
    }

    /// <summary>
    /// Opens an existing segment. Returns false in <paramref name="indexesUsable"/> when an index is missing or
    /// fails Kafka's sanity check, in which case the caller must run <see cref="Recover"/>.
    /// </summary>
    public static LogSegment Open(string directory, long baseOffset, LogConfig config, TimeProvider time, long rollJitterMs, out bool indexesUsable)
    {
        var segment = new LogSegment(directory, baseOffset, config, time, rollJitterMs, string.Empty);
        var maxFile = Math.Max(config.SegmentIndexBytes, 64L * 1024 * 1024);
        indexesUsable = segment.OffsetIndex.Load(maxFile) && segment.TimeIndex.Load(maxFile)
            && segment.OffsetIndex.IsConsistent(segment._size);
        if (indexesUsable)
        {
            indexesUsable = segment.LoadTailState() && segment.TimeIndex.IsConsistent(segment._nextOffset);
        }
        try
        {
            segment.TxnIndex.Load();
        }
        catch (CorruptRecordException)
        {
            // Rebuilt from the batches when the log replays its producer state over this segment.
            segment.TxnIndex.Rewrite([]);
            indexesUsable = false;
        }
        return segment;
    }

    /// <summary>Computes the next offset and max timestamp by scanning from the last index entry to the end.</summary>
    private bool LoadTailState()
    {
        var last = OffsetIndex.LastEntry;
        _maxTimestampSoFar = TimeIndex.Count > 0 ? TimeIndex.LastEntry : new TimestampOffset(-1, -1);
        using var scanner = new BatchScanner(Handle, last.Position, _size, wholeBatches: false);
        var next = BaseOffset;
        var first = true;
        while (scanner.MoveNext())
        {
            if (first && scanner.Position == 0)
            {
                _rollingBasedTimestamp = scanner.Header.MaxTimestamp;
            }
            first = false;
            next = scanner.Header.NextOffset;
            if (scanner.Header.MaxTimestamp > _maxTimestampSoFar.Timestamp)
            {
                _maxTimestampSoFar = new TimestampOffset(scanner.Header.MaxTimestamp, scanner.Header.LastOffset);
            }
        }
        _nextOffset = next;
        return scanner.Stop == ScanStop.End;
    }

    public bool CanConvertToRelativeOffset(long offset) => OffsetIndex.CanAppendOffset(offset);

    /// <summary>Kafka's <c>shouldRoll</c>: size, age (with jitter), a full index, or an offset the index cannot hold.</summary>
    public bool ShouldRoll(LogConfig config, int messagesSize, long maxTimestampInMessages, long maxOffsetInMessages, long now)
    {
        var waited = _rollingBasedTimestamp is { } ts && ts >= 0 ? maxTimestampInMessages - ts : now - _created;
        var reachedRollMs = waited > config.SegmentMs - RollJitterMs;
        var size = Size;
        return size > config.SegmentBytes - messagesSize
            || (size > 0 && reachedRollMs)
            || OffsetIndex.IsFull || TimeIndex.IsFull
            || !CanConvertToRelativeOffset(maxOffsetInMessages);
    }

    /// <summary>
    /// Appends one producer request's worth of batches (Kafka's <c>LogSegment.append</c>): one index entry per
    /// append once more than index.interval.bytes were written since the last one, mapping the append's last
    /// offset to the position where the append starts.
    /// </summary>
    public void Append(long largestOffset, long largestTimestamp, long offsetOfMaxTimestamp, ReadOnlySpan<byte> records)
    {
        if (records.IsEmpty)
        {
            return;
        }
        var position = _size;
        if (position == 0)
        {
            _rollingBasedTimestamp = largestTimestamp;
        }
        if (!CanConvertToRelativeOffset(largestOffset))
        {
            throw new InvalidOperationException($"Offset {largestOffset} overflows segment {BaseOffset}");
        }
        RandomAccess.Write(Handle, records, position);
        if (largestTimestamp > _maxTimestampSoFar.Timestamp)
        {
            _maxTimestampSoFar = new TimestampOffset(largestTimestamp, offsetOfMaxTimestamp);
        }
        // An active segment rolls before its index fills; a cleaned one, built from several, may fill: it then
        // stops adding entries and lookups scan further, as they would with a larger index.interval.bytes.
        if (_bytesSinceLastIndexEntry > _indexIntervalBytes && !OffsetIndex.IsFull && !TimeIndex.IsFull)
        {
            OffsetIndex.Append(largestOffset, (int)position);
            TimeIndex.MaybeAppend(_maxTimestampSoFar.Timestamp, _maxTimestampSoFar.Offset);
            _bytesSinceLastIndexEntry = 0;
        }
        _bytesSinceLastIndexEntry += records.Length;
        Volatile.Write(ref _nextOffset, largestOffset + 1);
        Volatile.Write(ref _size, position + records.Length);
    }

    /// <summary>First batch whose last offset is at least <paramref name="offset"/>, starting from the index's hint.</summary>
    public BatchLocation? Translate(long offset, long maxPosition)
    {
        var start = OffsetIndex.Lookup(offset).Position;
        using var scanner = new BatchScanner(Handle, start, Math.Min(maxPosition, Size), wholeBatches: false, bufferSize: 8 * 1024);
        while (scanner.MoveNext())
        {
            if (scanner.Header.LastOffset >= offset)
            {
                return new BatchLocation(scanner.Position, scanner.Header.SizeInBytes, scanner.Header);
            }
        }
        return null;
    }

    /// <summary>
    /// Kafka's <c>LogSegment.read</c>: the region from the batch holding <paramref name="offset"/> for up to
    /// <paramref name="maxSize"/> bytes (at least that first batch when <paramref name="minOneMessage"/>),
    /// never past <paramref name="maxPosition"/>. The region may end inside a batch; clients skip the partial tail.
    /// </summary>
    public (FileRegion Region, BatchLocation Location)? Read(long offset, int maxSize, long maxPosition, bool minOneMessage)
    {
        var location = Translate(offset, maxPosition);
        if (location is not { } loc)
        {
            return null;
        }
        var adjusted = minOneMessage ? Math.Max(maxSize, loc.Size) : maxSize;
        var length = (int)Math.Min(Math.Min(maxPosition, Size) - loc.Position, adjusted);
        return (new FileRegion(Handle, LogPath, loc.Position, Math.Max(length, 0)), loc);
    }

    /// <summary>
    /// Kafka's <c>LogSegment.recover</c>: rebuild both indexes from the log, checking every batch's framing and
    /// CRC, and cut the file at the first batch that fails. Returns the number of bytes truncated.
    /// </summary>
    public long Recover(LeaderEpochFileCache? epochs, ILogger logger, int maxMessageBytes)
    {
        OffsetIndex.Reset();
        TimeIndex.Reset();
        _maxTimestampSoFar = new TimestampOffset(-1, -1);
        _rollingBasedTimestamp = null;
        long valid = 0, lastIndexEntry = 0;
        var next = BaseOffset;
        string? reason = null;
        using (var scanner = new BatchScanner(Handle, 0, _size, wholeBatches: true))
        {
            while (true)
            {
                if (!scanner.MoveNext())
                {
                    if (scanner.Stop != ScanStop.End)
                    {
                        reason = scanner.StopReason;
                    }
                    break;
                }
                var header = scanner.Header;
                if (RecordBatch.ComputeCrc(scanner.Batch) != header.Crc)
                {
                    reason = $"CRC mismatch in batch at offset {header.BaseOffset}";
                    break;
                }
                if (header.BaseOffset < next || header.LastOffsetDelta < 0 || !CanConvertToRelativeOffset(header.LastOffset))
                {
                    reason = $"batch offsets {header.BaseOffset}..{header.LastOffset} do not follow {next - 1}";
                    break;
                }
                if (valid == 0)
                {
                    _rollingBasedTimestamp = header.MaxTimestamp;
                }
                if (header.MaxTimestamp > _maxTimestampSoFar.Timestamp)
                {
                    _maxTimestampSoFar = new TimestampOffset(header.MaxTimestamp, header.LastOffset);
                }
                if (valid - lastIndexEntry > _indexIntervalBytes)
                {
                    OffsetIndex.Append(header.LastOffset, (int)valid);
                    TimeIndex.MaybeAppend(_maxTimestampSoFar.Timestamp, _maxTimestampSoFar.Offset);
                    lastIndexEntry = valid;
                }
                valid += header.SizeInBytes;
                next = header.NextOffset;
                if (epochs is not null && header.PartitionLeaderEpoch >= 0
                    && (epochs.LatestEpoch is not { } latest || header.PartitionLeaderEpoch > latest))
                {
                    epochs.Assign(header.PartitionLeaderEpoch, header.BaseOffset);
                }
            }
        }
        TxnIndex.TruncateTo(next);
        var truncated = _size - valid;
        if (truncated > 0)
        {
            StorageLog.CorruptionFound(logger, LogPath, valid, reason ?? "trailing bytes", truncated);
            RandomAccess.SetLength(Handle, valid);
        }
        _bytesSinceLastIndexEntry = (int)(valid - lastIndexEntry);
        _nextOffset = next;
        _size = valid;
        TimeIndex.MaybeAppend(_maxTimestampSoFar.Timestamp, _maxTimestampSoFar.Offset, skipFullCheck: true);
        OffsetIndex.TrimToValidSize();
        TimeIndex.TrimToValidSize();
        return truncated;
    }

    /// <summary>Removes every batch at or above <paramref name="offset"/>; returns the bytes removed.</summary>
    public long TruncateTo(long offset, LogConfig config)
    {
        var location = Translate(offset, Size);
        if (location is not { } loc)
        {
            return 0;
        }
        OffsetIndex.TruncateTo(offset);
        TimeIndex.TruncateTo(offset);
        TxnIndex.TruncateTo(offset);
        var removed = Size - loc.Position;
        RandomAccess.SetLength(Handle, loc.Position);
        Volatile.Write(ref _size, loc.Position);
        _bytesSinceLastIndexEntry = 0;
        if (loc.Position == 0)
        {
            _created = _time.GetUtcNow().ToUnixTimeMilliseconds();
            _rollingBasedTimestamp = null;
        }
        // Recompute the tail state (next offset, max timestamp) from what is left.
        LoadTailState();
        OffsetIndex.Preallocate(config.SegmentIndexBytes);
        TimeIndex.Preallocate(config.SegmentIndexBytes);
        return removed;
    }

    /// <summary>Kafka's <c>findOffsetByTimestamp</c>: first record at or after <paramref name="timestamp"/> with offset at least <paramref name="startingOffset"/>.</summary>
    public (long Offset, long Timestamp)? FindOffsetByTimestamp(long timestamp, long startingOffset)
    {
        var hint = TimeIndex.Lookup(timestamp);
        var start = OffsetIndex.Lookup(Math.Max(hint.Offset, startingOffset)).Position;
        using var scanner = new BatchScanner(Handle, start, Size, wholeBatches: true);
        using var scratch = new PooledBuffer();
        while (scanner.MoveNext())
        {
            var header = scanner.Header;
            if (header.MaxTimestamp < timestamp)
            {
                continue;
            }
            var view = new RecordBatchView(scanner.Batch);
            foreach (var record in view.GetRecords(scratch))
            {
                var offset = header.BaseOffset + record.OffsetDelta;
                var ts = header.TimestampType == TimestampType.LogAppendTime ? header.MaxTimestamp : header.BaseTimestamp + record.TimestampDelta;
                if (ts >= timestamp && offset >= startingOffset)
                {
                    return (offset, ts);
                }
            }
        }
        return null;
    }

    /// <summary>
    /// The timestamp of the first record at or after <paramref name="offset"/> in this segment (a compacted log may
    /// lack the offset itself), or null when the segment holds none. The offset index gives the start position; the
    /// scan reads whole batches through a pooled buffer and walks the one record batch holding the offset (decompressed
    /// into a pooled scratch buffer), so nothing is allocated per record. A LogAppendTime batch's records all carry its
    /// max timestamp, as in <see cref="FindOffsetByTimestamp"/>.
    /// </summary>
    public long? TimestampOfOffset(long offset)
    {
        var start = OffsetIndex.Lookup(offset).Position;
        using var scanner = new BatchScanner(Handle, start, Size, wholeBatches: true);
        while (scanner.MoveNext())
        {
            var header = scanner.Header;
            if (header.LastOffset < offset)
            {
                continue;
            }
            if (header.TimestampType == TimestampType.LogAppendTime)
            {
                return header.MaxTimestamp;
            }
            using var scratch = new PooledBuffer();
            var view = new RecordBatchView(scanner.Batch);
            foreach (var record in view.GetRecords(scratch))
            {
                if (header.BaseOffset + record.OffsetDelta >= offset)
                {
                    return header.BaseTimestamp + record.TimestampDelta;
                }
            }
        }
        return null;
    }

    public void Flush()
    {
        RandomAccess.FlushToDisk(Handle);
        OffsetIndex.Flush();
        TimeIndex.Flush();
        TxnIndex.Flush();
    }

    /// <summary>Kafka's <c>onBecomeInactiveSegment</c>: final time-index entry, indexes trimmed.</summary>
    public void OnBecomeInactive()
    {
        TimeIndex.MaybeAppend(_maxTimestampSoFar.Timestamp, _maxTimestampSoFar.Offset, skipFullCheck: true);
        OffsetIndex.TrimToValidSize();
        TimeIndex.TrimToValidSize();
    }

    /// <summary>Preallocates the indexes again when this segment becomes the active one (after open or truncation).</summary>
    public void MakeActive(LogConfig config)
    {
        OffsetIndex.Preallocate(config.SegmentIndexBytes);
        TimeIndex.Preallocate(config.SegmentIndexBytes);
    }

    /// <summary>Renames the files by appending or removing a suffix (.deleted, .cleaned, .swap).</summary>
    public void ChangeSuffix(string oldSuffix, string newSuffix)
    {
        string Rename(string path) => path[..^oldSuffix.Length] + newSuffix;
        var target = Rename(LogPath);
        File.Move(LogPath, target, overwrite: true);
        LogPath = target;
        OffsetIndex.RenameTo(Rename(OffsetIndex.Path));
        TimeIndex.RenameTo(Rename(TimeIndex.Path));
        TxnIndex.RenameTo(Rename(TxnIndex.Path));
    }

    /// <summary>Closing trims indexes to their entries, exactly as Kafka leaves files after a clean shutdown.</summary>
    public void Close(bool active)
    {
        if (_closed)
        {
            return;
        }
        // Kafka's LogSegment.close also records the max timestamp seen in the time index.
        // An inactive segment's time index is trimmed and already ends with that entry (written when it rolled).
        if (_maxTimestampSoFar.Timestamp >= 0 && (active || TimeIndex.Count < TimeIndex.MaxEntries))
        {
            TimeIndex.MaybeAppend(_maxTimestampSoFar.Timestamp, _maxTimestampSoFar.Offset, skipFullCheck: true);
        }
        if (active)
        {
            OffsetIndex.TrimToValidSize();
            TimeIndex.TrimToValidSize();
        }
        CloseHandle();
    }

    public void DeleteFiles()
    {
        CloseHandle();
        File.Delete(LogPath);
        OffsetIndex.DeleteFile();
        TimeIndex.DeleteFile();
        TxnIndex.DeleteFile();
    }

    public void Dispose() => CloseHandle();

    public override string ToString() => $"LogSegment(baseOffset={BaseOffset}, size={Size}, next={NextOffset})";
}
