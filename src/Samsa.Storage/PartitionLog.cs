using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage;

/// <summary>How a partition log is opened: the checkpointed offsets and whether the last shutdown was clean.</summary>
public sealed record LogOpenOptions
{
    public long RecoveryPoint { get; init; }
    public long LogStartOffset { get; init; }
    public long HighWatermark { get; init; }
    public bool HadCleanShutdown { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>
/// One partition's log: an ordered list of <see cref="LogSegment"/>s in <c>&lt;log.dir&gt;/&lt;topic&gt;-&lt;partition&gt;</c>
/// (Kafka's <c>UnifiedLog</c> + <c>LocalLog</c>). The newest segment is the active one and the only one written.
/// </summary>
/// <remarks>
/// Concurrency: every mutation holds <see cref="_lock"/> (one writer). Readers take the immutable segment array
/// and the published offsets without locking. Publication order on append: bytes written, index entries,
/// segment size, then log end offset; so a reader that sees an offset also sees its bytes. The high watermark
/// is published with its file position, so reads bounded by it never cross it.
/// </remarks>
public sealed partial class PartitionLog : IPartitionLog
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<(LogSegment Segment, long DueMs)> _pendingDeletes = [];
    // Fires at the earliest pending delete's due time (long.MaxValue: not armed).
    private ITimer? _deleteTimer;
    private long _deleteTimerDueMs = long.MaxValue;
    private LogSegment[] _segments = [];
    private long _logStartOffset;
    private long _logEndOffset;
    private long _recoveryPoint;
    private long _unflushedMessages;
    private long _lastFlushMs;
    private OffsetMetadata _highWatermark = new(0, 0, 0);
    private LogConfig _config;
    private bool _closed;

    /// <summary>An offset with the segment and byte position where it starts.</summary>
    private sealed record OffsetMetadata(long Offset, long SegmentBaseOffset, long Position);

    private PartitionLog(string directory, TopicPartition tp, Uuid topicId, LogConfig config, LogOpenOptions options)
    {
        Directory = directory;
        TopicPartition = tp;
        TopicId = topicId;
        _config = config;
        _time = options.Time;
        _logger = options.Logger;
        LeaderEpochCache = new LeaderEpochFileCache(directory);
        _lastFlushMs = NowMs;
    }

    public TopicPartition TopicPartition { get; }
    public Uuid TopicId { get; }
    public string Directory { get; }
    public LogConfig Config => Volatile.Read(ref _config);
    public LeaderEpochFileCache LeaderEpochCache { get; }
    public long LogStartOffset => Volatile.Read(ref _logStartOffset);
    public long LogEndOffset => Volatile.Read(ref _logEndOffset);
    public long HighWatermark => Volatile.Read(ref _highWatermark).Offset;
    public long RecoveryPoint => Volatile.Read(ref _recoveryPoint);

    /// <summary>Sum of segment sizes.</summary>
    public long Size => Volatile.Read(ref _segments).Sum(s => s.Size);

    public int SegmentCount => Volatile.Read(ref _segments).Length;

    internal LogSegment[] Segments => Volatile.Read(ref _segments);

    internal LogSegment ActiveSegment => Volatile.Read(ref _segments)[^1];

    internal Lock WriterLock => _lock;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Opens (creating if needed) the log of <paramref name="topic"/>-<paramref name="partition"/> under <paramref name="logDir"/>.</summary>
    public static PartitionLog Open(string logDir, string topic, int partition, Uuid topicId, LogConfig config, LogOpenOptions? options = null)
    {
        options ??= new LogOpenOptions();
        var tp = new TopicPartition(topic, partition);
        var directory = Path.Combine(logDir, tp.ToString());
        System.IO.Directory.CreateDirectory(directory);
        var existingId = PartitionMetadataFile.Read(directory);
        if (existingId is { } id && id != topicId && !topicId.IsZero)
        {
            throw new StorageException(StorageErrorCode.KafkaStorageError, $"{directory} belongs to topic id {id}, not {topicId}");
        }
        if (existingId is null && !topicId.IsZero)
        {
            PartitionMetadataFile.Write(directory, topicId);
        }
        var log = new PartitionLog(directory, tp, existingId ?? topicId, config, options);
        log.Load(options);
        return log;
    }

    private long NewJitter()
    {
        var jitter = Config.SegmentJitterMs;
        return jitter <= 0 ? 0 : Random.Shared.NextInt64(Math.Min(jitter, Config.SegmentMs));
    }

    /// <summary>
    /// Kafka's <c>LogLoader</c>: clear leftovers of interrupted deletes and cleanings, finish interrupted swaps,
    /// open every segment, recover those past the recovery point after an unclean shutdown (CRC and framing
    /// check, truncation at the first bad batch, index rebuild), drop segments after a truncated one.
    /// </summary>
    private void Load(LogOpenOptions options)
    {
        var config = Config;
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(LogFileNames.DeletedSuffix, StringComparison.Ordinal) || name.EndsWith(LogFileNames.CleanedSuffix, StringComparison.Ordinal)
                || name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                File.Delete(file);
            }
        }
        CompleteSwaps();
        var offsets = System.IO.Directory.EnumerateFiles(Directory, "*" + LogFileNames.LogSuffix)
            .Select(f => LogFileNames.TryParseOffset(Path.GetFileName(f), out var o) ? o : -1)
            .Where(o => o >= 0).Order().ToList();
        var segments = new List<LogSegment>();
        var needsRecovery = new List<bool>();
        foreach (var baseOffset in offsets)
        {
            segments.Add(LogSegment.Open(Directory, baseOffset, config, _time, NewJitter(), out var usable));
            needsRecovery.Add(!usable);
        }
        var recoveredAny = false;
        for (var i = 0; i < segments.Count; i++)
        {
            var beyondRecoveryPoint = segments[i].NextOffset > options.RecoveryPoint || (i + 1 < segments.Count && segments[i + 1].BaseOffset > options.RecoveryPoint);
            if (!needsRecovery[i] && (options.HadCleanShutdown || !beyondRecoveryPoint))
            {
                continue;
            }
            if (needsRecovery[i])
            {
                StorageLog.RebuildingIndex(_logger, segments[i].OffsetIndex.Path);
            }
            StorageLog.RecoveringSegment(_logger, TopicPartition.ToString(), segments[i].BaseOffset);
            var truncated = segments[i].Recover(LeaderEpochCache, _logger, config.MaxMessageBytes);
            recoveredAny = true;
            if (truncated > 0 && i + 1 < segments.Count)
            {
                StorageLog.DeletingAfterTruncation(_logger, TopicPartition.ToString(), segments[i].BaseOffset);
                foreach (var later in segments.Skip(i + 1))
                {
                    later.DeleteFiles();
                }
                segments.RemoveRange(i + 1, segments.Count - i - 1);
            }
        }
        if (segments.Count == 0)
        {
            segments.Add(LogSegment.Create(Directory, Math.Max(options.LogStartOffset, 0), config, _time, NewJitter()));
        }
        else
        {
            segments[^1].MakeActive(config);
        }
        _segments = [.. segments];
        _logEndOffset = Math.Max(segments[^1].NextOffset, segments[^1].BaseOffset);
        _logStartOffset = Math.Clamp(options.LogStartOffset, segments[0].BaseOffset, _logEndOffset);
        if (recoveredAny)
        {
            foreach (var segment in segments)
            {
                segment.Flush();
            }
        }
        _recoveryPoint = _logEndOffset;
        if (LeaderEpochCache.LoadError is { } epochError)
        {
            RebuildLeaderEpochs(segments);
            StorageLog.RebuiltLeaderEpochs(_logger, LeaderEpochCache.Path, TopicPartition.ToString(), epochError);
        }
        LeaderEpochCache.TruncateFromEnd(_logEndOffset);
        _highWatermark = MetadataFor(Math.Clamp(options.HighWatermark, _logStartOffset, _logEndOffset));
        foreach (var inactive in segments.SkipLast(1))
        {
            inactive.ReleaseHandle();
        }
        LeaderEpochCache.TruncateFromStart(_logStartOffset);
        LoadProducerState(options.HadCleanShutdown && !recoveredAny);
    }

    /// <summary>An unreadable leader-epoch-checkpoint: every batch header carries its leader epoch, so scan them.</summary>
    private void RebuildLeaderEpochs(List<LogSegment> segments)
    {
        var entries = new List<EpochEntry>();
        foreach (var segment in segments)
        {
            using var scanner = new BatchScanner(segment.Handle, 0, segment.Size, wholeBatches: false, bufferSize: 4096);
            while (scanner.MoveNext())
            {
                var epoch = scanner.Header.PartitionLeaderEpoch;
                if (epoch >= 0 && (entries.Count == 0 || epoch > entries[^1].Epoch))
                {
                    entries.Add(new EpochEntry(epoch, scanner.Header.BaseOffset));
                }
            }
        }
        LeaderEpochCache.Rebuild(entries);
    }

    /// <summary>
    /// A <c>.swap</c> set is a cleaned replacement that was fully written before a crash: delete the segments it
    /// replaces (those whose base offset falls in its range) and drop the suffix, as Kafka's loader does.
    /// </summary>
    private void CompleteSwaps()
    {
        foreach (var swap in System.IO.Directory.EnumerateFiles(Directory, "*" + LogFileNames.LogSuffix + LogFileNames.SwapSuffix).ToList())
        {
            if (!LogFileNames.TryParseOffset(Path.GetFileName(swap), out var baseOffset))
            {
                continue;
            }
            long end;
            using (var handle = File.OpenHandle(swap, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var scanner = new BatchScanner(handle, 0, RandomAccess.GetLength(handle), wholeBatches: false))
            {
                end = baseOffset;
                while (scanner.MoveNext())
                {
                    end = scanner.Header.NextOffset;
                }
            }
            foreach (var log in System.IO.Directory.EnumerateFiles(Directory, "*" + LogFileNames.LogSuffix).ToList())
            {
                if (LogFileNames.TryParseOffset(Path.GetFileName(log), out var o) && o >= baseOffset && o < end)
                {
                    var stem = log[..^LogFileNames.LogSuffix.Length];
                    File.Delete(log);
                    File.Delete(stem + LogFileNames.IndexSuffix);
                    File.Delete(stem + LogFileNames.TimeIndexSuffix);
                    File.Delete(stem + TransactionIndex.Suffix);
                }
            }
            var swapStem = swap[..^(LogFileNames.LogSuffix.Length + LogFileNames.SwapSuffix.Length)];
            foreach (var suffix in new[] { LogFileNames.LogSuffix, LogFileNames.IndexSuffix, LogFileNames.TimeIndexSuffix, TransactionIndex.Suffix })
            {
                if (File.Exists(swapStem + suffix + LogFileNames.SwapSuffix))
                {
                    File.Move(swapStem + suffix + LogFileNames.SwapSuffix, swapStem + suffix, overwrite: true);
                }
            }
        }
    }

    public LogAppendInfo Append(Span<byte> records, int leaderEpoch) => Append(records, leaderEpoch, AppendOrigin.Client);

    /// <summary>A leader append from <paramref name="origin"/>: a coordinator may write transaction markers, a client may not.</summary>
    public LogAppendInfo Append(Span<byte> records, int leaderEpoch, AppendOrigin origin) => AppendCore(records, origin, leaderEpoch);

    /// <summary>
    /// A new leader epoch starts at the log end (Kafka's <c>makeLeader</c> assigns it before any append, so a follower
    /// asking for the end of the previous epoch is answered even before this leader wrote anything).
    /// </summary>
    public void AssignLeaderEpoch(int leaderEpoch)
    {
        lock (_lock)
        {
            if (!_closed && leaderEpoch >= 0 && (LeaderEpochCache.LatestEpoch is not { } latest || leaderEpoch > latest))
            {
                LeaderEpochCache.Assign(leaderEpoch, _logEndOffset);
            }
        }
    }

    public LogAppendInfo AppendAsFollower(Span<byte> records) => AppendCore(records, AppendOrigin.Replication, RecordBatch.NoPartitionLeaderEpoch);

    private LogAppendInfo AppendCore(Span<byte> records, AppendOrigin origin, int leaderEpoch)
    {
        var assignOffsets = origin != AppendOrigin.Replication;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            var config = Config;
            var now = NowMs;
            PooledBuffer? recompressed = null;
            // Decompression space lives for one append only: a partition that once saw a huge batch keeps nothing.
            var scratch = new PooledBuffer(64 * 1024);
            try
            {
                if (assignOffsets && config.CompressionType is { } target)
                {
                    recompressed = new PooledBuffer(records.Length);
                    if (Recompression.TryRecompress(records, target, config.CompressionLevel(target), recompressed, scratch, Math.Max(64 * 1024 * 1024, config.MaxMessageBytes)))
                    {
                        records = recompressed.WrittenSpan;
                    }
                }
                return AppendValidated(records, origin, leaderEpoch, config, now, scratch);
            }
            finally
            {
                recompressed?.Dispose();
                scratch.Dispose();
            }
        }
    }

    private LogAppendInfo AppendValidated(Span<byte> records, AppendOrigin origin, int leaderEpoch, LogConfig config, long now, PooledBuffer scratch)
    {
        var assignOffsets = origin != AppendOrigin.Replication;
        var summary = BatchValidator.Validate(records, config, now, assignOffsets, _logEndOffset, leaderEpoch, scratch, fromClient: origin == AppendOrigin.Client);
        // Kafka checks the producer state after offsets are assigned and only for the leader's appends: a follower
        // copies what its leader accepted.
        if (assignOffsets && CheckProducerState(records, origin, scratch) is { } original)
        {
            return DuplicateAppendInfo(original, records, config);
        }
        var segment = MaybeRoll(records.Length, summary, now);
        segment.Append(summary.LastOffset, summary.MaxTimestamp, summary.OffsetOfMaxTimestamp, records);
        UpdateProducerState(records, segment, scratch);
        UpdateLeaderEpochs(records, assignOffsets, leaderEpoch, summary.FirstOffset);
        Volatile.Write(ref _logEndOffset, summary.LastOffset + 1);
        _unflushedMessages += summary.LastOffset - summary.FirstOffset + 1;
        if (_unflushedMessages >= config.FlushMessages)
        {
            FlushLocked();
        }
        var logAppendTime = config.MessageTimestampLogAppendTime && assignOffsets ? now : RecordBatch.NoTimestamp;
        return new LogAppendInfo(summary.FirstOffset, summary.LastOffset, logAppendTime, LogStartOffset, summary.RecordCount, summary.MaxTimestamp);
    }

    private void UpdateLeaderEpochs(ReadOnlySpan<byte> records, bool leader, int leaderEpoch, long firstOffset)
    {
        if (leader)
        {
            if (leaderEpoch >= 0 && (LeaderEpochCache.LatestEpoch is not { } latest || leaderEpoch > latest))
            {
                LeaderEpochCache.Assign(leaderEpoch, firstOffset);
            }
            return;
        }
        var position = 0;
        while (position < records.Length)
        {
            var header = RecordBatchHeader.Read(records[position..]);
            if (header.PartitionLeaderEpoch >= 0 && (LeaderEpochCache.LatestEpoch is not { } latest || header.PartitionLeaderEpoch > latest))
            {
                LeaderEpochCache.Assign(header.PartitionLeaderEpoch, header.BaseOffset);
            }
            position += header.SizeInBytes;
        }
    }

    private LogSegment MaybeRoll(int size, in AppendSummary summary, long now)
    {
        var active = ActiveSegment;
        if (!active.ShouldRoll(Config, size, summary.MaxTimestamp, summary.LastOffset, now))
        {
            return active;
        }
        return RollLocked(summary.FirstOffset);
    }

    /// <summary>Rolls now, regardless of size or age (tests and tools; Kafka's <c>roll()</c>).</summary>
    public void Roll()
    {
        lock (_lock)
        {
            RollLocked(_logEndOffset);
        }
    }

    private LogSegment RollLocked(long expectedNextOffset)
    {
        var newBase = Math.Max(expectedNextOffset, _logEndOffset);
        var segments = _segments;
        var active = segments[^1];
        LogSegment created;
        if (active.Size == 0)
        {
            // An empty active segment is replaced rather than left behind as an empty file.
            active.DeleteFiles();
            segments = segments[..^1];
            created = LogSegment.Create(Directory, newBase, Config, _time, NewJitter());
        }
        else
        {
            // Created first: if the disk is full the roll fails with the active segment untouched and still active.
            created = LogSegment.Create(Directory, newBase, Config, _time, NewJitter());
            active.OnBecomeInactive();
        }
        Volatile.Write(ref _segments, [.. segments, created]);
        StorageLog.RolledSegment(_logger, TopicPartition.ToString(), newBase);
        // Kafka snapshots the producer state at every roll, so recovery replays at most the segments after it. Its
        // fsync waits for the background flush below, like the rolled segment's.
        TakeProducerSnapshotLocked(_logEndOffset, sync: false);
        if (active.Size > 0)
        {
            // Kafka flushes the rolled segment in the background so the writer does not wait for the disk.
            ThreadPool.UnsafeQueueUserWorkItem(_ => FlushUpTo(newBase), null);
        }
        return created;
    }

    private void FlushUpTo(long offset)
    {
        try
        {
            foreach (var segment in Segments)
            {
                if (segment.BaseOffset < offset && segment.NextOffset > RecoveryPoint)
                {
                    segment.Flush();
                }
            }
            FlushProducerSnapshot(offset);
            lock (_lock)
            {
                if (offset > _recoveryPoint && offset <= _logEndOffset)
                {
                    Volatile.Write(ref _recoveryPoint, offset);
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            // The segment went away (retention, truncation) before the background flush reached it.
        }
    }

    public LogReadInfo Read(long offset, int maxBytes, FetchIsolation isolation, bool minOneMessage = true)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return ReadCore(offset, maxBytes, isolation, minOneMessage);
            }
            catch (ObjectDisposedException) when (attempt < 2)
            {
                // Retention or truncation removed a segment between our snapshot and the read: look again.
                // If the offset is now below the log start, ReadCore reports it as out of range.
            }
        }
    }

    private LogReadInfo ReadCore(long offset, int maxBytes, FetchIsolation isolation, bool minOneMessage)
    {
        var hw = Volatile.Read(ref _highWatermark);
        var lastStable = Volatile.Read(ref _lastStable);
        var segments = Volatile.Read(ref _segments);
        var logEnd = LogEndOffset;
        var logStart = LogStartOffset;
        if (offset < logStart || offset > logEnd)
        {
            throw new OffsetOutOfRangeException($"Offset {offset} is outside [{logStart}, {logEnd}] of {TopicPartition}");
        }
        var limit = isolation switch
        {
            FetchIsolation.LogEnd => null,
            FetchIsolation.TxnCommitted => lastStable,
            _ => hw,
        };
        var maxOffset = limit?.Offset ?? logEnd;
        if (offset >= maxOffset)
        {
            return new LogReadInfo(offset, FileRegion.Empty, hw.Offset, logStart, logEnd, false) { LastStableOffset = lastStable.Offset };
        }
        for (var i = FloorIndex(segments, offset); i < segments.Length; i++)
        {
            var segment = segments[i];
            if (limit is not null && segment.BaseOffset > limit.SegmentBaseOffset)
            {
                break;
            }
            var maxPosition = limit is not null && segment.BaseOffset == limit.SegmentBaseOffset ? limit.Position : segment.Size;
            var result = segment.Read(offset, maxBytes, maxPosition, minOneMessage);
            if (result is { } r)
            {
                return new LogReadInfo(offset, r.Region, hw.Offset, logStart, logEnd, r.Region.Length < r.Location.Size) { LastStableOffset = lastStable.Offset };
            }
        }
        return new LogReadInfo(offset, FileRegion.Empty, hw.Offset, logStart, logEnd, false) { LastStableOffset = lastStable.Offset };
    }

    /// <summary>Index of the last segment whose base offset is at most <paramref name="offset"/> (0 when none).</summary>
    private static int FloorIndex(LogSegment[] segments, long offset)
    {
        int lo = 0, hi = segments.Length - 1, found = 0;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (segments[mid].BaseOffset <= offset)
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

    public void UpdateHighWatermark(long offset)
    {
        lock (_lock)
        {
            var clamped = Math.Clamp(offset, _logStartOffset, _logEndOffset);
            Volatile.Write(ref _highWatermark, MetadataFor(clamped));
            PublishLastStableOffset();
        }
    }

    /// <summary>Where <paramref name="offset"/> starts in the file (the end of the active segment for the log end offset).</summary>
    private OffsetMetadata MetadataFor(long offset)
    {
        var segments = _segments;
        var active = segments[^1];
        if (offset >= _logEndOffset)
        {
            return new OffsetMetadata(offset, active.BaseOffset, active.Size);
        }
        for (var i = FloorIndex(segments, offset); i < segments.Length; i++)
        {
            if (segments[i].Translate(offset, segments[i].Size) is { } location)
            {
                var position = location.Header.BaseOffset >= offset ? location.Position : location.Position + location.Size;
                return new OffsetMetadata(offset, segments[i].BaseOffset, position);
            }
        }
        return new OffsetMetadata(offset, active.BaseOffset, active.Size);
    }

    public TimestampAndOffset? OffsetForTimestamp(long timestamp)
    {
        var logStart = LogStartOffset;
        int EpochAt(long offset) => LeaderEpochCache.EpochForOffset(offset) ?? -1;
        switch (timestamp)
        {
            case IPartitionLog.EarliestTimestamp:
                return new TimestampAndOffset(RecordBatch.NoTimestamp, logStart, EpochAt(logStart));
            case IPartitionLog.LatestTimestamp:
                var end = LogEndOffset;
                return new TimestampAndOffset(RecordBatch.NoTimestamp, end, LeaderEpochCache.LatestEpoch ?? -1);
            case IPartitionLog.MaxTimestamp:
                // Kafka since KAFKA-16310 (3.8) answers the offset of the first record carrying the largest timestamp,
                // not the batch's last offset that the segment and time index keep: read that one batch to find it, so
                // the answer is the same after a restart and for compressed batches.
                LogSegment? bestSegment = null;
                foreach (var segment in Segments)
                {
                    if (segment.MaxTimestampSoFar.Timestamp > (bestSegment?.MaxTimestampSoFar.Timestamp ?? -1))
                    {
                        bestSegment = segment;
                    }
                }
                if (bestSegment is null || bestSegment.MaxTimestampSoFar.Offset < 0)
                {
                    return null;
                }
                var best = bestSegment.MaxTimestampSoFar;
                var recordOffset = bestSegment.FindOffsetByTimestamp(best.Timestamp, bestSegment.BaseOffset)?.Offset ?? best.Offset;
                return new TimestampAndOffset(best.Timestamp, recordOffset, EpochAt(recordOffset));
        }
        foreach (var segment in Segments)
        {
            if (segment.MaxTimestampSoFar.Timestamp < timestamp || segment.NextOffset <= logStart)
            {
                continue;
            }
            if (segment.FindOffsetByTimestamp(timestamp, logStart) is { } found)
            {
                return new TimestampAndOffset(found.Timestamp, found.Offset, EpochAt(found.Offset));
            }
        }
        return null;
    }

    /// <summary>
    /// The timestamp of the record at <paramref name="offset"/> (or the first one after it, where compaction removed
    /// it), read through the segment's offset index: what a consumer-lag-in-seconds figure measures from. Null when
    /// the offset is outside [log start, log end) or no record follows it. Reads the segment file, so it belongs on a
    /// background thread (the lag monitor's), never a request handler's.
    /// </summary>
    public long? TimestampOfOffset(long offset)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (offset < LogStartOffset || offset >= LogEndOffset)
            {
                return null;
            }
            try
            {
                var segments = Volatile.Read(ref _segments);
                for (var i = FloorIndex(segments, offset); i < segments.Length; i++)
                {
                    if (segments[i].TimestampOfOffset(offset) is { } timestamp)
                    {
                        return timestamp;
                    }
                }
                return null;
            }
            catch (ObjectDisposedException) when (attempt < 2)
            {
                // Retention or truncation removed the segment between the snapshot and the read: look again.
            }
        }
    }

    public void UpdateConfig(LogConfig config) => Volatile.Write(ref _config, config);

    public override string ToString() => $"PartitionLog({TopicPartition}, start={LogStartOffset}, end={LogEndOffset}, segments={SegmentCount})";
}
