using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Protocol.Records;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage;

/// <summary>What one cleaning pass did.</summary>
public readonly record struct CleanerStats(long FirstDirtyOffset, long EndOffset, long BytesRead, long BytesWritten, long RecordsRead, long RecordsKept);

/// <summary>
/// Log compaction (Kafka's <c>LogCleaner</c> + <c>Cleaner</c>), for logs with cleanup.policy containing compact.
/// </summary>
/// <remarks>
/// A pass over one log:
/// <list type="number">
/// <item>The dirty section runs from the first dirty offset (cleaner-offset-checkpoint) to the first uncleanable
/// offset: the active segment's base, or earlier where a segment's records are younger than min.compaction.lag.ms.</item>
/// <item>The log is cleaned when dirty bytes / total bytes reaches min.cleanable.dirty.ratio, or when the first dirty
/// batch is older than max.compaction.lag.ms.</item>
/// <item>An offset map (key -> last offset) is built over the dirty section, bounded by log.cleaner.dedupe.buffer.size;
/// the section is cut at the last segment that fit.</item>
/// <item>Every segment from the log start to the end of the mapped section is rewritten, in groups that fit one
/// segment: a record is kept unless the map holds a later offset for its key; a tombstone is kept until the
/// delete horizon of its batch passes. The horizon is written into the batch when the cleaner first sees its
/// tombstones (KIP-534: attribute bit 6, baseTimestamp = now + delete.retention.ms).</item>
/// <item>Cleaned groups replace the originals by Kafka's crash-safe rename sequence (.cleaned, .swap, .deleted).</item>
/// </list>
/// Transactions: control batches are always kept, and aborted transactional data is not yet removed. When the
/// transaction index exists, the plug-in point is <see cref="ShouldRetainBatch"/> (drop aborted batches, drop
/// markers once no data of their transaction remains, as Kafka's <c>CleanedTransactionMetadata</c>).
/// Batches whose records are all removed are dropped whole, except the last batch of each producer the log knows,
/// which stays as an empty batch (Kafka's <c>RETAIN_EMPTY</c>) so its sequence survives the cleaning.
/// </remarks>
public sealed class LogCleaner : IDisposable
{
    private readonly LogManager _manager;
    private readonly LogManagerConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Throttler _throttler;
    private readonly ConcurrentDictionary<TopicPartition, long> _firstDirty = new();
    // Logs being cleaned: each cleaner thread claims its log, so two threads never clean the same one.
    private readonly ConcurrentDictionary<TopicPartition, bool> _inProgress = new();
    private readonly Lock _checkpointWrite = new();
    private readonly CancellationTokenSource _stop = new();
    private Task[] _loops = [];
    private bool _loaded;

    internal LogCleaner(LogManager manager, LogManagerConfig config, TimeProvider time, ILogger logger)
    {
        _manager = manager;
        _config = config;
        _time = time;
        _logger = logger;
        _throttler = new Throttler(config.LogCleanerIoMaxBytesPerSecond, time);
    }

    /// <summary>Milliseconds the I/O throttle has slept so far.</summary>
    public long ThrottledMs => _throttler.SleptMs;

    internal Throttler Throttler => _throttler;

    /// <summary>Starts <c>log.cleaner.threads</c> cleaner loops, each cleaning the dirtiest due log no other is cleaning.</summary>
    public void Start()
    {
        if (_loops.Length > 0)
        {
            return;
        }
        _loops = [.. Enumerable.Range(0, Math.Max(1, _config.LogCleanerThreads)).Select(_ => Task.Run(RunLoopAsync))];
    }

    private async Task RunLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var cleaned = false;
            try
            {
                cleaned = CleanDirtiest();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ObjectDisposedException)
            {
                StorageLog.CleanerFailed(_logger, e, "(any)");
            }
            if (!cleaned)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(_config.LogCleanerBackoffMs), _time, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    internal void Forget(TopicPartition tp) => _firstDirty.TryRemove(tp, out _);

    private void LoadCheckpoints()
    {
        if (_loaded)
        {
            return;
        }
        _loaded = true;
        foreach (var dir in _manager.LogDirs)
        {
            try
            {
                foreach (var (tp, offset) in new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.CleanerOffset)).Read())
                {
                    _firstDirty[tp] = offset;
                }
            }
            catch (InvalidDataException)
            {
                // Unreadable: every log is treated as fully dirty, which only costs work.
            }
        }
    }

    public long FirstDirtyOffset(PartitionLog log)
    {
        LoadCheckpoints();
        return Math.Max(_firstDirty.GetValueOrDefault(log.TopicPartition), log.LogStartOffset);
    }

    /// <summary>Cleans the compacted log with the highest dirty ratio that is due; returns whether one was cleaned.</summary>
    public bool CleanDirtiest()
    {
        var candidates = _manager.AllLogs.Where(l => l.Config.Compact && !_inProgress.ContainsKey(l.TopicPartition))
            .Select(l => (Log: l, Ratio: DirtyRatio(l, out var mustClean), MustClean: mustClean))
            .Where(c => c.MustClean || c.Ratio >= c.Log.Config.MinCleanableDirtyRatio && c.Ratio > 0)
            .OrderByDescending(c => c.MustClean).ThenByDescending(c => c.Ratio).ToList();
        foreach (var (log, _, _) in candidates)
        {
            try
            {
                if (Clean(log) is not null)
                {
                    return true;
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
            {
                StorageLog.CleanerFailed(_logger, e, log.TopicPartition.ToString());
            }
        }
        return false;
    }

    /// <summary>Dirty bytes over total bytes of the cleanable range; <paramref name="mustClean"/> when max.compaction.lag.ms is exceeded.</summary>
    public double DirtyRatio(PartitionLog log, out bool mustClean)
    {
        var (firstDirty, uncleanable) = CleanableRange(log);
        long clean = 0, dirty = 0;
        mustClean = false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var segment in log.Segments)
        {
            if (segment.BaseOffset >= uncleanable)
            {
                break;
            }
            if (segment.NextOffset <= firstDirty)
            {
                clean += segment.Size;
            }
            else
            {
                dirty += segment.Size;
                if (!mustClean && segment.Size > 0 && log.Config.MaxCompactionLagMs < long.MaxValue
                    && now - FirstBatchTimestamp(segment) > log.Config.MaxCompactionLagMs)
                {
                    mustClean = true;
                }
            }
        }
        return clean + dirty == 0 ? 0 : (double)dirty / (clean + dirty);
    }

    private static long FirstBatchTimestamp(LogSegment segment)
    {
        using var scanner = new BatchScanner(segment.Handle, 0, segment.Size, wholeBatches: false, bufferSize: 256);
        return scanner.MoveNext() ? scanner.Header.MaxTimestamp : long.MaxValue;
    }

    private (long FirstDirty, long FirstUncleanable) CleanableRange(PartitionLog log)
    {
        var segments = log.Segments;
        var firstDirty = FirstDirtyOffset(log);
        var uncleanable = segments[^1].BaseOffset;
        var lag = log.Config.MinCompactionLagMs;
        if (lag > 0)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var segment in segments)
            {
                if (segment.BaseOffset >= uncleanable)
                {
                    break;
                }
                if (segment.NextOffset > firstDirty && segment.LargestTimestamp > now - lag)
                {
                    uncleanable = segment.BaseOffset;
                    break;
                }
            }
        }
        return (Math.Min(firstDirty, uncleanable), uncleanable);
    }

    /// <summary>Runs one pass over <paramref name="log"/> regardless of its dirty ratio; null when there was nothing to clean.</summary>
    public CleanerStats? Clean(PartitionLog log)
    {
        if (!_inProgress.TryAdd(log.TopicPartition, true))
        {
            return null;
        }
        try
        {
            var (firstDirty, uncleanable) = CleanableRange(log);
            var segments = log.Segments.Where(s => s.BaseOffset < uncleanable).ToList();
            if (segments.Count == 0)
            {
                return null;
            }
            var map = new Dictionary<byte[], long>(ByteArrayComparer.Instance);
            var end = BuildOffsetMap(segments, firstDirty, map, out var mappedBytes);
            long read = 0, written = 0, recordsRead = 0, recordsKept = 0;
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var producersLastBatches = log.LastBatchOffsetsOfProducers();
            foreach (var group in GroupSegments(segments.Where(s => s.BaseOffset < end).ToList(), log.Config))
            {
                var cleaned = CleanGroup(log, group, map, producersLastBatches, now, ref read, ref written, ref recordsRead, ref recordsKept);
                if (!log.ReplaceSegments(group, cleaned))
                {
                    return null;
                }
            }
            _firstDirty[log.TopicPartition] = end;
            WriteCheckpoint(log);
            StorageLog.Cleaned(_logger, log.TopicPartition.ToString(), read, written, recordsKept, recordsRead);
            return new CleanerStats(firstDirty, end, read, written, recordsRead, recordsKept);
        }
        finally
        {
            _inProgress.TryRemove(log.TopicPartition, out _);
        }
    }

    private void WriteCheckpoint(PartitionLog log)
    {
        lock (_checkpointWrite)
        {
            var dir = Path.GetDirectoryName(log.Directory)!;
            var entries = _manager.AllLogs.Where(l => Path.GetDirectoryName(l.Directory) == dir && _firstDirty.ContainsKey(l.TopicPartition))
                .ToDictionary(l => l.TopicPartition, l => _firstDirty[l.TopicPartition]);
            new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.CleanerOffset)).Write(entries);
        }
    }

    /// <summary>Maps each key of the dirty section to its last offset; returns the end of the mapped section.</summary>
    private long BuildOffsetMap(List<LogSegment> segments, long firstDirty, Dictionary<byte[], long> map, out long bytes)
    {
        bytes = 0;
        var end = firstDirty;
        using var scratch = new PooledBuffer();
        foreach (var segment in segments.Where(s => s.NextOffset > firstDirty))
        {
            // Kafka's SkimpyOffsetMap spends ~24 bytes per entry; stop before the next segment could overflow it.
            if (end > firstDirty && map.Count * 48L + segment.Size / 8 > _config.LogCleanerDedupeBufferSize / Math.Max(1, _config.LogCleanerThreads))
            {
                break;
            }
            using var scanner = new BatchScanner(segment.Handle, 0, segment.Size, wholeBatches: true);
            while (scanner.MoveNext())
            {
                _throttler.MaybeThrottle(scanner.Header.SizeInBytes);
                if (scanner.Header.LastOffset < firstDirty || scanner.Header.IsControl)
                {
                    continue;
                }
                var view = new RecordBatchView(scanner.Batch);
                foreach (var record in view.GetRecords(scratch))
                {
                    var offset = scanner.Header.BaseOffset + record.OffsetDelta;
                    if (offset >= firstDirty && !record.KeyIsNull)
                    {
                        map[record.Key.ToArray()] = offset;
                    }
                }
            }
            bytes += segment.Size;
            end = Math.Max(segment.NextOffset, end);
        }
        return end;
    }

    /// <summary>Consecutive segments whose sizes add up to at most segment.bytes and whose offsets fit one index.</summary>
    private static IEnumerable<List<LogSegment>> GroupSegments(List<LogSegment> segments, LogConfig config)
    {
        var group = new List<LogSegment>();
        long size = 0;
        foreach (var segment in segments)
        {
            if (group.Count > 0 && (size + segment.Size > config.SegmentBytes || segment.NextOffset - 1 - group[0].BaseOffset > int.MaxValue))
            {
                yield return group;
                group = [];
                size = 0;
            }
            group.Add(segment);
            size += segment.Size;
        }
        if (group.Count > 0)
        {
            yield return group;
        }
    }

    /// <summary>Plug-in point for transaction-aware cleaning (aborted data, obsolete markers); today every control batch is kept.</summary>
    private static bool ShouldRetainBatch(in RecordBatchHeader header) => true;

    private LogSegment CleanGroup(PartitionLog log, List<LogSegment> group, Dictionary<byte[], long> map, HashSet<long> producersLastBatches, long now,
        ref long read, ref long written, ref long recordsRead, ref long recordsKept)
    {
        var config = log.Config;
        var cleaned = LogSegment.Create(log.Directory, group[0].BaseOffset, config, _time, 0, LogFileNames.CleanedSuffix);
        using var scratch = new PooledBuffer();
        using var output = new PooledBuffer();
        var lastModified = DateTime.MinValue;
        foreach (var segment in group)
        {
            var modified = File.GetLastWriteTimeUtc(segment.LogPath);
            lastModified = modified > lastModified ? modified : lastModified;
            using var scanner = new BatchScanner(segment.Handle, 0, segment.Size, wholeBatches: true);
            while (scanner.MoveNext())
            {
                var header = scanner.Header;
                read += header.SizeInBytes;
                _throttler.MaybeThrottle(header.SizeInBytes);
                if (!ShouldRetainBatch(header))
                {
                    continue;
                }
                output.Clear();
                var kept = FilterBatch(scanner.Batch, header, map, now, config, scratch, output, out var total);
                recordsRead += total;
                recordsKept += kept;
                if (kept == 0 && !header.IsControl)
                {
                    if (!header.HasProducerId || !producersLastBatches.Contains(header.LastOffset))
                    {
                        continue;
                    }
                    WriteEmptyBatch(scanner.Batch, output);
                }
                var bytes = output.Length > 0 ? output.WrittenSpan : scanner.Batch;
                var outHeader = RecordBatchHeader.Read(bytes);
                cleaned.Append(outHeader.LastOffset, outHeader.MaxTimestamp, outHeader.LastOffset, bytes);
                written += bytes.Length;
                _throttler.MaybeThrottle(bytes.Length);
            }
        }
        cleaned.OnBecomeInactive();
        cleaned.Flush();
        if (lastModified > DateTime.MinValue)
        {
            File.SetLastWriteTimeUtc(cleaned.LogPath, lastModified);
        }
        return cleaned;
    }

    /// <summary>
    /// Kafka's <c>DefaultRecordBatch.writeEmptyHeader</c>: the batch's header with no records (uncompressed, no delete horizon, count 0,
    /// both timestamps the batch's max), keeping its offsets, producer id, epoch and sequences.
    /// </summary>
    private static void WriteEmptyBatch(ReadOnlySpan<byte> batch, PooledBuffer output)
    {
        var empty = output.GetSpan(RecordBatch.HeaderSize)[..RecordBatch.HeaderSize];
        batch[..RecordBatch.HeaderSize].CopyTo(empty);
        BinaryPrimitives.WriteInt32BigEndian(empty[RecordBatch.LengthOffset..], RecordBatch.HeaderSize - RecordBatch.LogOverhead);
        var attributes = BinaryPrimitives.ReadInt16BigEndian(empty[RecordBatch.AttributesOffset..]);
        BinaryPrimitives.WriteInt16BigEndian(empty[RecordBatch.AttributesOffset..], (short)(attributes & ~(RecordBatch.CompressionMask | RecordBatch.DeleteHorizonMask)));
        empty[RecordBatch.MaxTimestampOffset..(RecordBatch.MaxTimestampOffset + 8)].CopyTo(empty[RecordBatch.BaseTimestampOffset..]);
        BinaryPrimitives.WriteInt32BigEndian(empty[RecordBatch.RecordCountOffset..], 0);
        RecordBatch.UpdateCrc(empty);
        output.Advance(RecordBatch.HeaderSize);
    }

    /// <summary>
    /// Decides record by record. Leaves <paramref name="output"/> empty when the batch can be copied as is,
    /// otherwise writes the rebuilt batch there. Returns the records kept.
    /// </summary>
    private static int FilterBatch(ReadOnlySpan<byte> batch, in RecordBatchHeader header, Dictionary<byte[], long> map, long now, LogConfig config,
        PooledBuffer scratch, PooledBuffer output, out int total)
    {
        total = header.RecordCount;
        if (header.IsControl)
        {
            return header.RecordCount;
        }
        var view = new RecordBatchView(batch);
        var lookup = map.GetAlternateLookup<ReadOnlySpan<byte>>();
        var horizonPassed = header.HasDeleteHorizon && now >= header.BaseTimestamp;
        int kept = 0, tombstones = 0;
        foreach (var record in view.GetRecords(scratch))
        {
            if (Retain(record, header, lookup, horizonPassed))
            {
                kept++;
                tombstones += record.ValueIsNull ? 1 : 0;
            }
        }
        var needsHorizon = tombstones > 0 && !header.HasDeleteHorizon;
        if (kept == header.RecordCount && !needsHorizon)
        {
            return kept;
        }
        if (kept == 0)
        {
            return 0;
        }
        using var builder = new RecordBatchBuilder(header)
        {
            DeleteHorizonMs = tombstones > 0 ? (header.HasDeleteHorizon ? header.BaseTimestamp : now + config.DeleteRetentionMs) : null,
        };
        var originalBase = header.BaseTimestamp;
        foreach (var record in view.GetRecords(scratch))
        {
            if (Retain(record, header, lookup, horizonPassed))
            {
                builder.AppendRaw(record.OffsetDelta, originalBase + record.TimestampDelta, record.Key, record.KeyIsNull, record.Value, record.ValueIsNull,
                    record.HeaderCount, record.HeaderBytes);
            }
        }
        builder.Build(output);
        return kept;
    }

    private static bool Retain(in Record record, in RecordBatchHeader header, Dictionary<byte[], long>.AlternateLookup<ReadOnlySpan<byte>> map, bool horizonPassed)
    {
        if (record.KeyIsNull)
        {
            return true;
        }
        var offset = header.BaseOffset + record.OffsetDelta;
        if (map.TryGetValue(record.Key, out var latest) && latest > offset)
        {
            return false;
        }
        return !(record.ValueIsNull && horizonPassed);
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll(_loops, TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // The loop logs its own failures.
        }
        _stop.Dispose();
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
