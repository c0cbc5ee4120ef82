using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Storage.ProducerState;

namespace Samsa.Storage;

/// <summary>
/// Idempotent-producer state of the partition (Kafka's <c>UnifiedLog</c> with its <c>ProducerStateManager</c>):
/// checked on every leader append, updated on every append, snapshotted at segment roll and close, rebuilt at open.
/// </summary>
/// <remarks>
/// Snapshots are named by the offset they cover up to (<c>&lt;offset&gt;.snapshot</c>, Kafka's format): one at every
/// roll (the new segment's base offset) and one at close (the log end offset). At open the newest snapshot at or
/// below the log end is loaded and the batch headers after it are replayed; a clean shutdown with no snapshot at all
/// (a log written before producer state existed) starts empty, as Kafka does, instead of scanning the whole log.
/// All of it runs under the log's writer lock.
/// </remarks>
public sealed partial class PartitionLog
{
    private readonly ProducerStateManager _producerState = new();
    // The offset of the newest snapshot on disk, or -1.
    private long _lastSnapshotOffset = -1;
    private OffsetMetadata _lastStable = new(0, 0, 0);

    /// <summary>Kafka's last stable offset: read_committed fetches and ListOffsets read up to it, never past.</summary>
    public long LastStableOffset => Volatile.Read(ref _lastStable).Offset;

    /// <summary>
    /// Kafka's <c>analyzeAndValidateProducerState</c> on a leader append, after offsets are assigned: the original
    /// batch's metadata when the batch was already appended (a retry), else null; throws for a stale epoch or a gap.
    /// A coordinator's append is checked for the epoch only (Kafka checks sequences and duplicates only for
    /// <c>AppendOrigin.CLIENT</c>): its transactional batches all carry sequence 0.
    /// </summary>
    private BatchMetadata? CheckProducerState(ReadOnlySpan<byte> records, AppendOrigin origin, PooledBuffer scratch)
    {
        var position = 0;
        while (records.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(records[position..]);
            if (header.IsControl && header.HasProducerId
                && TransactionMarker.TryRead(records.Slice(position, header.SizeInBytes), scratch) is { } marker)
            {
                switch (_producerState.CheckMarker(header.ProducerId, header.ProducerEpoch, marker.CoordinatorEpoch))
                {
                    case ProducerAppendOutcome.InvalidProducerEpoch:
                        throw new InvalidProducerEpochException(
                            $"Marker epoch {header.ProducerEpoch} of producer {header.ProducerId} is older than the current epoch {_producerState.Producers[header.ProducerId].ProducerEpoch} on {TopicPartition}");
                    case ProducerAppendOutcome.CoordinatorFenced:
                        throw new TransactionCoordinatorFencedException(
                            $"Marker of producer {header.ProducerId} on {TopicPartition} comes from coordinator epoch {marker.CoordinatorEpoch}, older than {_producerState.Producers[header.ProducerId].CoordinatorEpoch}");
                }
                position += header.SizeInBytes;
                continue;
            }
            switch (_producerState.Check(header, checkSequence: origin == AppendOrigin.Client))
            {
                case (ProducerAppendOutcome.Duplicate, var original):
                    return original;
                case (ProducerAppendOutcome.InvalidProducerEpoch, _):
                    throw new InvalidProducerEpochException(
                        $"Epoch {header.ProducerEpoch} of producer {header.ProducerId} is older than the current epoch {_producerState.Producers[header.ProducerId].ProducerEpoch} on {TopicPartition}");
                case (ProducerAppendOutcome.OutOfOrderSequence, _):
                    var entry = _producerState.Producers[header.ProducerId];
                    throw new OutOfOrderSequenceException(
                        $"Out of order sequence number for producer {header.ProducerId} at offset {header.BaseOffset} in partition {TopicPartition}: {header.BaseSequence} (incoming seq. number), {entry.LastSequence} (current end sequence number), epoch {header.ProducerEpoch} (current {entry.ProducerEpoch})");
            }
            position += header.SizeInBytes;
        }
        return null;
    }

    /// <summary>
    /// Records every producer batch of an append in the producer state (after it is in <paramref name="segment"/>); a
    /// marker ends its producer's transaction, and an abort is indexed in the segment holding the marker.
    /// </summary>
    private void UpdateProducerState(ReadOnlySpan<byte> records, LogSegment segment, PooledBuffer scratch)
    {
        var position = 0;
        while (records.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(records[position..]);
            if (header.IsControl && header.HasProducerId)
            {
                if (TransactionMarker.TryRead(records.Slice(position, header.SizeInBytes), scratch) is { } marker)
                {
                    ApplyMarker(header, marker, segment);
                }
            }
            else
            {
                _producerState.Update(header);
            }
            position += header.SizeInBytes;
        }
        PublishLastStableOffset();
    }

    private void ApplyMarker(in RecordBatchHeader header, TransactionMarker marker, LogSegment segment)
    {
        var completed = _producerState.ApplyMarker(header.ProducerId, header.ProducerEpoch, marker.CoordinatorEpoch, marker.IsCommit, header.BaseOffset, header.MaxTimestamp);
        if (completed is { IsAborted: true } aborted)
        {
            segment.TxnIndex.Append(new AbortedTxn(aborted.ProducerId, aborted.FirstOffset, aborted.LastOffset, _producerState.LastStableOffsetAfter(aborted)));
        }
    }

    /// <summary>
    /// The last stable offset: the high watermark, or the first offset of a transaction still open (or whose marker the
    /// high watermark has not passed), whichever is lower. Published with its file position, like the high watermark,
    /// so read_committed reads stop exactly there. Call under the writer lock.
    /// </summary>
    private void PublishLastStableOffset(bool force = false)
    {
        var hw = _highWatermark;
        _producerState.OnHighWatermarkUpdated(hw.Offset);
        var lso = _producerState.FirstUnstableOffset() is { } unstable ? Math.Clamp(unstable, _logStartOffset, hw.Offset) : hw.Offset;
        if (lso == hw.Offset)
        {
            Volatile.Write(ref _lastStable, hw);
        }
        else if (force || _lastStable.Offset != lso)
        {
            Volatile.Write(ref _lastStable, MetadataFor(lso));
        }
    }

    /// <summary>
    /// Kafka's <c>collectAbortedTransactions</c>: the aborted transactions overlapping [<paramref name="fetchOffset"/>,
    /// <paramref name="upperBoundOffset"/>), from the segment holding the fetch offset on; an entry whose last stable
    /// offset reaches the upper bound ends the search (no later marker can belong to a transaction that started below it).
    /// </summary>
    public List<AbortedTxn> CollectAbortedTransactions(long fetchOffset, long upperBoundOffset)
    {
        var result = new List<AbortedTxn>();
        var segments = Volatile.Read(ref _segments);
        for (var i = FloorIndex(segments, fetchOffset); i < segments.Length; i++)
        {
            foreach (var entry in segments[i].TxnIndex.Entries)
            {
                if (entry.LastOffset >= fetchOffset && entry.FirstOffset < upperBoundOffset)
                {
                    result.Add(entry);
                }
                if (entry.LastStableOffset >= upperBoundOffset)
                {
                    return result;
                }
            }
        }
        return result;
    }

    /// <summary>Whether the producer has a transaction open on this partition (its first transactional batch needs no verification after that).</summary>
    public bool HasOngoingTransaction(long producerId)
    {
        lock (_lock)
        {
            return _producerState.Producers.TryGetValue(producerId, out var entry) && entry.CurrentTxnFirstOffset >= 0;
        }
    }

    /// <summary>Open transactions on this partition, oldest first: (producer id, first offset) (DescribeProducers, tools).</summary>
    public List<(long ProducerId, long FirstOffset)> OngoingTransactions()
    {
        lock (_lock)
        {
            return _producerState.OngoingTransactions();
        }
    }

    /// <summary>The answer to a retried batch: the offsets it got the first time.</summary>
    private LogAppendInfo DuplicateAppendInfo(in BatchMetadata original, ReadOnlySpan<byte> records, LogConfig config)
    {
        var header = RecordBatchHeader.Read(records);
        var logAppendTime = config.MessageTimestampLogAppendTime ? original.Timestamp : RecordBatch.NoTimestamp;
        return new LogAppendInfo(original.FirstOffset, original.LastOffset, logAppendTime, LogStartOffset, header.RecordCount, original.Timestamp)
        {
            IsDuplicate = true,
        };
    }

    /// <summary>Snapshot file offsets in the partition directory, oldest first.</summary>
    private List<long> SnapshotOffsets() =>
    [
        .. System.IO.Directory.EnumerateFiles(Directory, "*" + ProducerSnapshotFile.Suffix)
            .Select(f => Path.GetFileName(f))
            .Select(n => n.Length == 20 + ProducerSnapshotFile.Suffix.Length && long.TryParse(n.AsSpan(0, 20), out var o) ? o : -1)
            .Where(o => o >= 0).Order(),
    ];

    private string SnapshotPath(long offset) => Path.Combine(Directory, ProducerSnapshotFile.FileName(offset));

    /// <summary>
    /// Kafka's <c>rebuildProducerState</c>: snapshots past the log end are removed (their batches are gone), the newest
    /// readable one is loaded (an unreadable one is deleted and the next older tried) and the batches after it replayed.
    /// </summary>
    private void LoadProducerState(bool hadCleanShutdown)
    {
        _producerState.Clear();
        _lastSnapshotOffset = -1;
        var snapshots = SnapshotOffsets();
        foreach (var offset in snapshots.Where(o => o > _logEndOffset))
        {
            File.Delete(SnapshotPath(offset));
        }
        long replayFrom = _logStartOffset;
        foreach (var offset in snapshots.Where(o => o <= _logEndOffset).Reverse())
        {
            try
            {
                _producerState.LoadSnapshot(File.ReadAllBytes(SnapshotPath(offset)));
                _lastSnapshotOffset = offset;
                replayFrom = Math.Max(offset, _logStartOffset);
                break;
            }
            catch (ProtocolException e)
            {
                StorageLog.DeletingCorruptSnapshot(_logger, SnapshotPath(offset), e.Message);
                File.Delete(SnapshotPath(offset));
            }
        }
        if (_lastSnapshotOffset >= 0 || !hadCleanShutdown)
        {
            ReplayProducerState(replayFrom);
        }
        PublishLastStableOffset(force: true);
    }

    /// <summary>
    /// Updates the producer state from the batches at and after <paramref name="from"/>; the transaction indexes from
    /// there on are rebuilt from the markers met, so an index torn by a crash comes back whole.
    /// </summary>
    private void ReplayProducerState(long from)
    {
        using var scratch = new PooledBuffer(1024);
        var marker = new byte[4096];
        foreach (var segment in _segments)
        {
            if (segment.NextOffset <= from || segment.Size == 0)
            {
                continue;
            }
            segment.TxnIndex.TruncateTo(from);
            using var scanner = new BatchScanner(segment.Handle, 0, segment.Size, wholeBatches: false, bufferSize: 8 * 1024);
            while (scanner.MoveNext())
            {
                var header = scanner.Header;
                if (header.LastOffset < from)
                {
                    continue;
                }
                if (!header.IsControl || !header.HasProducerId)
                {
                    _producerState.Update(header);
                    continue;
                }
                // A marker: its one record says commit or abort (markers are a few dozen bytes; a larger control batch is not one).
                if (header.SizeInBytes <= marker.Length)
                {
                    var batch = marker.AsSpan(0, header.SizeInBytes);
                    RandomAccess.Read(segment.Handle, batch, scanner.Position);
                    if (TransactionMarker.TryRead(batch, scratch) is { } parsed)
                    {
                        ApplyMarker(header, parsed, segment);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Writes the producer state as of <paramref name="offset"/> (everything before it is applied), unless a snapshot
    /// that new already exists. Written to a temporary name and renamed, so a crash never leaves half a snapshot.
    /// A failure is logged and skipped: without this snapshot, recovery replays from an older one.
    /// </summary>
    private void TakeProducerSnapshotLocked(long offset, bool sync)
    {
        if (offset <= _lastSnapshotOffset)
        {
            return;
        }
        var path = SnapshotPath(offset);
        try
        {
            var temporary = path + ".tmp";
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                file.Write(_producerState.TakeSnapshot());
                if (sync)
                {
                    file.Flush(flushToDisk: true);
                }
            }
            File.Move(temporary, path, overwrite: true);
            _lastSnapshotOffset = offset;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            StorageLog.SnapshotFailed(_logger, path, e.Message);
        }
    }

    /// <summary>The fsync of a roll's snapshot, with the rolled segment's, off the writer's thread (it may be gone already: nothing to do).</summary>
    private void FlushProducerSnapshot(long offset)
    {
        try
        {
            using var handle = File.OpenHandle(SnapshotPath(offset), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Removes snapshots above the new log end (truncation) and reloads the state from the log that remains.</summary>
    private void TruncateProducerStateLocked()
    {
        foreach (var offset in SnapshotOffsets().Where(o => o > _logEndOffset))
        {
            File.Delete(SnapshotPath(offset));
        }
        LoadProducerState(hadCleanShutdown: false);
    }

    /// <summary>Deletes snapshots below the first segment (their segments were deleted), as Kafka deletes a segment's snapshot with it.</summary>
    private void DeleteSnapshotsBelowFirstSegment()
    {
        var first = _segments[0].BaseOffset;
        foreach (var offset in SnapshotOffsets().Where(o => o < first))
        {
            try
            {
                File.Delete(SnapshotPath(offset));
            }
            catch (IOException)
            {
                // Tried again at the next deletion.
            }
        }
    }

    /// <summary>
    /// Kafka's <c>removeExpiredProducers</c>: forgets producers with no write for <paramref name="expirationMs"/> and no open
    /// transaction (<c>producer.id.expiration.ms</c>); their next batch is then accepted at any sequence, as in Kafka.
    /// </summary>
    public int RemoveExpiredProducers(long expirationMs)
    {
        lock (_lock)
        {
            return _closed ? 0 : _producerState.RemoveExpired(NowMs, expirationMs);
        }
    }

    /// <summary>The producers the partition knows, as snapshot entries (DescribeProducers, tools, tests).</summary>
    public List<ProducerSnapshotEntry> ActiveProducers()
    {
        lock (_lock)
        {
            return [.. _producerState.Producers.Values.OrderBy(e => e.ProducerId).Select(e => e.ToSnapshot())];
        }
    }

    /// <summary>The last offset of each producer's last batch: compaction keeps those batches (as empty batches if need be).</summary>
    internal HashSet<long> LastBatchOffsetsOfProducers()
    {
        lock (_lock)
        {
            return _producerState.LastBatchOffsets();
        }
    }
}
