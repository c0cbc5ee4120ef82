namespace Samsa.Storage;

/// <summary>Flush, truncation, log start offset, retention and segment replacement.</summary>
public sealed partial class PartitionLog
{
    public void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    /// <summary>fsyncs every segment that holds data past the recovery point, then moves the recovery point to the log end.</summary>
    private void FlushLocked()
    {
        var recoveryPoint = _recoveryPoint;
        foreach (var segment in _segments)
        {
            if (segment.NextOffset > recoveryPoint || segment == _segments[^1])
            {
                segment.Flush();
            }
        }
        Volatile.Write(ref _recoveryPoint, _logEndOffset);
        _unflushedMessages = 0;
        _lastFlushMs = NowMs;
    }

    /// <summary>flush.ms: called by the log manager's flusher every log.flush.scheduler.interval.ms.</summary>
    public bool FlushIfDue()
    {
        lock (_lock)
        {
            if (_closed || _unflushedMessages == 0 || NowMs - _lastFlushMs < Config.FlushMs)
            {
                return false;
            }
            FlushLocked();
            return true;
        }
    }

    public void TruncateTo(long offset)
    {
        lock (_lock)
        {
            if (offset < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(offset));
            }
            if (offset >= _logEndOffset)
            {
                return;
            }
            var segments = _segments;
            if (offset < _logStartOffset || offset < segments[0].BaseOffset)
            {
                TruncateFullyAndStartAt(offset);
                return;
            }
            var keep = segments.Where(s => s.BaseOffset <= offset).ToList();
            foreach (var gone in segments.Where(s => s.BaseOffset > offset))
            {
                ScheduleDelete(gone, "truncation");
            }
            var active = keep[^1];
            active.TruncateTo(offset, Config);
            active.MakeActive(Config);
            Volatile.Write(ref _segments, [.. keep]);
            // A target inside a batch removes that whole batch: the log ends where the data ends.
            offset = Math.Max(active.NextOffset, active.BaseOffset);
            Volatile.Write(ref _logEndOffset, offset);
            Volatile.Write(ref _recoveryPoint, Math.Min(_recoveryPoint, offset));
            if (_highWatermark.Offset > offset)
            {
                Volatile.Write(ref _highWatermark, MetadataFor(offset));
            }
            LeaderEpochCache.TruncateFromEnd(offset);
            TruncateProducerStateLocked();
        }
    }

    /// <summary>Drops every segment and starts an empty log at <paramref name="offset"/> (Kafka's truncateFullyAndStartAt).</summary>
    public void TruncateFullyAndStartAt(long offset)
    {
        lock (_lock)
        {
            foreach (var segment in _segments)
            {
                ScheduleDelete(segment, "full truncation");
            }
            var created = LogSegment.Create(Directory, offset, Config, _time, NewJitter());
            Volatile.Write(ref _segments, [created]);
            Volatile.Write(ref _logStartOffset, offset);
            Volatile.Write(ref _logEndOffset, offset);
            Volatile.Write(ref _recoveryPoint, offset);
            Volatile.Write(ref _highWatermark, MetadataFor(offset));
            LeaderEpochCache.TruncateFromEnd(offset);
            LeaderEpochCache.TruncateFromStart(offset);
            _producerState.Clear();
            foreach (var snapshot in SnapshotOffsets())
            {
                File.Delete(SnapshotPath(snapshot));
            }
            _lastSnapshotOffset = -1;
            PublishLastStableOffset(force: true);
        }
    }

    public long DeleteRecordsBefore(long offset)
    {
        lock (_lock)
        {
            if (offset > _highWatermark.Offset)
            {
                throw new OffsetOutOfRangeException($"Cannot move the log start offset of {TopicPartition} to {offset}: the high watermark is {_highWatermark.Offset}");
            }
            if (offset > _logStartOffset)
            {
                Volatile.Write(ref _logStartOffset, offset);
                LeaderEpochCache.TruncateFromStart(offset);
                DeleteSegmentsBelowLogStart();
            }
            return _logStartOffset;
        }
    }

    /// <summary>
    /// Kafka's <c>deleteOldSegments</c>: segments wholly below the log start offset, then (with cleanup.policy
    /// delete) the oldest segments whose largest timestamp is older than retention.ms, then the oldest while
    /// the log exceeds retention.bytes. The active segment is never deleted. Returns the segments removed.
    /// </summary>
    public int DeleteOldSegments()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return 0;
            }
            var deleted = DeleteSegmentsBelowLogStart();
            var config = Config;
            var now = NowMs;
            if (config.Delete && config.RetentionMs >= 0)
            {
                deleted += DeleteOldestWhile((s, _) => now - s.LargestTimestamp > config.RetentionMs, "retention.ms");
            }
            if (config.Delete && config.RetentionBytes >= 0)
            {
                var excess = _segments.Sum(s => s.Size) - config.RetentionBytes;
                deleted += DeleteOldestWhile((s, _) =>
                {
                    if (excess - s.Size < 0)
                    {
                        return false;
                    }
                    excess -= s.Size;
                    return true;
                }, "retention.bytes");
            }
            return deleted;
        }
    }

    private int DeleteSegmentsBelowLogStart() =>
        DeleteOldestWhile((s, next) => next is not null && next.BaseOffset <= _logStartOffset, "log start offset");

    private int DeleteOldestWhile(Func<LogSegment, LogSegment?, bool> predicate, string reason)
    {
        var segments = _segments;
        var count = 0;
        while (count < segments.Length - 1 && predicate(segments[count], segments[count + 1]))
        {
            count++;
        }
        if (count == 0)
        {
            return 0;
        }
        for (var i = 0; i < count; i++)
        {
            ScheduleDelete(segments[i], reason);
        }
        var remaining = segments[count..];
        Volatile.Write(ref _segments, remaining);
        DeleteSnapshotsBelowFirstSegment();
        if (remaining[0].BaseOffset > _logStartOffset)
        {
            Volatile.Write(ref _logStartOffset, remaining[0].BaseOffset);
            LeaderEpochCache.TruncateFromStart(_logStartOffset);
        }
        if (_highWatermark.Offset < _logStartOffset)
        {
            Volatile.Write(ref _highWatermark, MetadataFor(_logStartOffset));
        }
        PublishLastStableOffset(force: _lastStable.Offset < _logStartOffset);
        return count;
    }

    /// <summary>
    /// A segment leaving the log is renamed to <c>.deleted</c> at once and removed after file.delete.delay.ms,
    /// so a fetch that already holds a region of it can still finish (Kafka's asynchronous delete, a task
    /// scheduled per deletion: not the retention check, which runs only every log.retention.check.interval.ms,
    /// 5 minutes by default, while the cleaner replaces segments many times a second under a commit loop).
    /// </summary>
    private void ScheduleDelete(LogSegment segment, string reason)
    {
        StorageLog.DeletingSegment(_logger, TopicPartition.ToString(), segment.BaseOffset, reason);
        segment.ChangeSuffix(string.Empty, LogFileNames.DeletedSuffix);
        if (Config.FileDeleteDelayMs <= 0)
        {
            segment.DeleteFiles();
            return;
        }
        var due = NowMs + Config.FileDeleteDelayMs;
        _pendingDeletes.Add((segment, due));
        ArmDeleteTimer(due);
    }

    /// <summary>
    /// One timer for the earliest pending delete. It is only ever brought forward here, never pushed back, so a
    /// stream of new deletions cannot postpone the older ones. Called under <c>_lock</c>.
    /// </summary>
    private void ArmDeleteTimer(long dueMs)
    {
        if (_closed || dueMs >= _deleteTimerDueMs)
        {
            return;
        }
        _deleteTimerDueMs = dueMs;
        var delay = TimeSpan.FromMilliseconds(Math.Max(0, dueMs - NowMs));
        if (_deleteTimer is null)
        {
            _deleteTimer = _time.CreateTimer(_ => OnDeleteTimer(), null, delay, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _deleteTimer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnDeleteTimer()
    {
        try
        {
            DeletePendingFiles();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // Left for the next timer or the retention pass, which also removes due files.
            StorageLog.BackgroundTaskFailed(_logger, e.Message);
        }
    }

    /// <summary>Removes <c>.deleted</c> files whose delay has passed; returns how many segments went.</summary>
    public int DeletePendingFiles()
    {
        lock (_lock)
        {
            var now = NowMs;
            var due = _pendingDeletes.Where(p => p.DueMs <= now).ToList();
            foreach (var (segment, _) in due)
            {
                segment.DeleteFiles();
            }
            _pendingDeletes.RemoveAll(p => p.DueMs <= now);
            _deleteTimerDueMs = long.MaxValue;
            if (_pendingDeletes.Count > 0)
            {
                ArmDeleteTimer(_pendingDeletes.Min(p => p.DueMs));
            }
            return due.Count;
        }
    }

    /// <summary>
    /// Replaces <paramref name="old"/> (consecutive inactive segments) with <paramref name="replacement"/>,
    /// written by the cleaner under the <c>.cleaned</c> suffix. The crash-safe order is Kafka's:
    /// .cleaned -> .swap, old -> .deleted, .swap -> live name. A crash in between is finished by the loader.
    /// Returns false, deleting the replacement, when the log changed underneath the cleaner.
    /// </summary>
    internal bool ReplaceSegments(IReadOnlyList<LogSegment> old, LogSegment replacement)
    {
        lock (_lock)
        {
            var segments = _segments;
            var start = Array.IndexOf(segments, old[0]);
            if (_closed || start < 0 || start + old.Count >= segments.Length || !old.Select((s, i) => segments[start + i] == s).All(x => x))
            {
                replacement.DeleteFiles();
                return false;
            }
            replacement.ChangeSuffix(LogFileNames.CleanedSuffix, LogFileNames.SwapSuffix);
            foreach (var segment in old)
            {
                ScheduleDelete(segment, "replaced by cleaned segment");
            }
            replacement.ChangeSuffix(LogFileNames.SwapSuffix, string.Empty);
            Volatile.Write(ref _segments, [.. segments[..start], replacement, .. segments[(start + old.Count)..]]);
            return true;
        }
    }

    /// <summary>Closes the log: flushes nothing extra (the log manager decides), trims the active indexes, closes handles.</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            // Kafka's close: the producer state as of the log end, so a clean restart replays nothing.
            TakeProducerSnapshotLocked(_logEndOffset, sync: true);
            _closed = true;
            _deleteTimer?.Dispose();
            var segments = _segments;
            for (var i = 0; i < segments.Length; i++)
            {
                segments[i].Close(active: i == segments.Length - 1);
            }
            foreach (var (segment, _) in _pendingDeletes)
            {
                segment.DeleteFiles();
            }
            _pendingDeletes.Clear();
        }
    }

    /// <summary>Removes the partition directory entirely (topic deletion).</summary>
    public void DeleteLog()
    {
        Close();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    public void Dispose() => Close();
}
