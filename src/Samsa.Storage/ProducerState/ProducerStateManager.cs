using Samsa.Protocol.Records;

namespace Samsa.Storage.ProducerState;

/// <summary>One appended batch of an idempotent producer, as Kafka's <c>BatchMetadata</c> keeps it.</summary>
public readonly record struct BatchMetadata(int FirstSequence, int LastSequence, long LastOffset, int OffsetDelta, long Timestamp)
{
    public long FirstOffset => LastOffset - OffsetDelta;
}

/// <summary>
/// What a partition remembers of one producer (Kafka's <c>ProducerStateEntry</c>): its epoch, the metadata of its last
/// <see cref="ProducerStateManager.NumBatchesToRetain"/> batches (so a retried batch among the five a producer may have
/// in flight is recognised), the coordinator epoch of its last transaction marker, its open transaction's first offset
/// and the timestamp of its last write.
/// </summary>
public sealed class ProducerStateEntry(long producerId, short epoch)
{
    private readonly Queue<BatchMetadata> _batches = new(ProducerStateManager.NumBatchesToRetain);

    public long ProducerId { get; } = producerId;

    public short ProducerEpoch { get; private set; } = epoch;

    public int CoordinatorEpoch { get; set; } = -1;

    /// <summary>The first offset of this producer's open transaction, or -1.</summary>
    public long CurrentTxnFirstOffset { get; set; } = -1;

    public long LastTimestamp { get; private set; } = RecordBatch.NoTimestamp;

    public IReadOnlyCollection<BatchMetadata> Batches => _batches;

    /// <summary>The last sequence appended in the current epoch, or -1 (Kafka's <c>RecordBatch.NO_SEQUENCE</c>).</summary>
    public int LastSequence => _batches.Count == 0 ? -1 : _batches.Last().LastSequence;

    /// <summary>The batch with the same epoch and sequence range, if it was already appended (a producer's retry).</summary>
    public BatchMetadata? FindDuplicate(short epoch, int firstSequence, int lastSequence)
    {
        if (epoch != ProducerEpoch)
        {
            return null;
        }
        foreach (var batch in _batches)
        {
            if (batch.FirstSequence == firstSequence && batch.LastSequence == lastSequence)
            {
                return batch;
            }
        }
        return null;
    }

    /// <summary>Records an appended batch; a new epoch forgets the batches of the old one.</summary>
    public void Add(short epoch, BatchMetadata batch)
    {
        MaybeUpdateProducerEpoch(epoch);
        if (_batches.Count == ProducerStateManager.NumBatchesToRetain)
        {
            _batches.Dequeue();
        }
        _batches.Enqueue(batch);
        LastTimestamp = batch.Timestamp;
    }

    /// <summary>Kafka's <c>maybeUpdateProducerEpoch</c>: a new epoch (a marker or a batch) forgets the old epoch's batches.</summary>
    public void MaybeUpdateProducerEpoch(short epoch)
    {
        if (epoch != ProducerEpoch)
        {
            _batches.Clear();
            ProducerEpoch = epoch;
        }
    }

    /// <summary>A transaction marker's timestamp counts as the producer's last write.</summary>
    public void Touch(long timestamp) => LastTimestamp = timestamp;

    /// <summary>The snapshot form: only the last batch is kept on disk, as in Kafka's snapshot files.</summary>
    public ProducerSnapshotEntry ToSnapshot()
    {
        var last = _batches.Count == 0 ? (BatchMetadata?)null : _batches.Last();
        return new ProducerSnapshotEntry(ProducerId, ProducerEpoch, last?.LastSequence ?? -1, last?.LastOffset ?? -1, last?.OffsetDelta ?? 0,
            LastTimestamp, CoordinatorEpoch, CurrentTxnFirstOffset);
    }

    public static ProducerStateEntry FromSnapshot(ProducerSnapshotEntry snapshot)
    {
        var entry = new ProducerStateEntry(snapshot.ProducerId, snapshot.ProducerEpoch)
        {
            CoordinatorEpoch = snapshot.CoordinatorEpoch,
            CurrentTxnFirstOffset = snapshot.CurrentTxnFirstOffset,
        };
        if (snapshot.LastOffset >= 0)
        {
            // Kafka's snapshot keeps the last batch only; its first sequence follows from the offset delta.
            var firstSequence = ProducerStateManager.DecrementSequence(snapshot.LastSequence, snapshot.OffsetDelta);
            entry.Add(snapshot.ProducerEpoch, new BatchMetadata(firstSequence, snapshot.LastSequence, snapshot.LastOffset, snapshot.OffsetDelta, snapshot.Timestamp));
        }
        entry.LastTimestamp = snapshot.Timestamp;
        return entry;
    }
}

/// <summary>What the producer state says of a batch about to be appended.</summary>
public enum ProducerAppendOutcome
{
    /// <summary>Append it (no producer id, or in sequence).</summary>
    Append,

    /// <summary>Already appended: answer with the original batch's offsets, append nothing (Kafka's duplicate path).</summary>
    Duplicate,

    /// <summary>INVALID_PRODUCER_EPOCH: an epoch older than the producer's current one (a fenced or zombie producer).</summary>
    InvalidProducerEpoch,

    /// <summary>OUT_OF_ORDER_SEQUENCE_NUMBER: a gap or a repeat that is not one of the retained batches.</summary>
    OutOfOrderSequence,

    /// <summary>TRANSACTION_COORDINATOR_FENCED: a marker from a coordinator epoch older than the last marker's.</summary>
    CoordinatorFenced,
}

/// <summary>A transaction ended by its marker (Kafka's <c>CompletedTxn</c>): its first offset, the marker's offset, and how it ended.</summary>
public readonly record struct CompletedTxn(long ProducerId, long FirstOffset, long LastOffset, bool IsAborted);

/// <summary>
/// The idempotent-producer state of one partition (Kafka's <c>ProducerStateManager</c> with its
/// <c>ProducerAppendInfo</c> checks): per producer id its epoch and last five batches, checked before each append so
/// that a retried batch is answered with its original offsets and a gap in sequence numbers is refused; snapshots in
/// Kafka's file format. Not thread-safe: the partition log calls it under its append lock.
/// </summary>
public sealed class ProducerStateManager
{
    /// <summary>Kafka's <c>ProducerStateEntry.NUM_BATCHES_TO_RETAIN</c>: a producer has at most five batches in flight.</summary>
    public const int NumBatchesToRetain = 5;

    private readonly Dictionary<long, ProducerStateEntry> _producers = [];
    // Open transactions by first offset (Kafka's ongoingTxns) and ended ones whose marker is not yet below the high
    // watermark (unreplicatedTxns): together they hold the last stable offset down.
    private readonly SortedDictionary<long, long> _ongoingTxns = [];
    private readonly Queue<CompletedTxn> _unreplicatedTxns = new();

    public IReadOnlyDictionary<long, ProducerStateEntry> Producers => _producers;

    /// <summary>
    /// Kafka's <c>ProducerAppendInfo.checkProducerEpoch</c> and <c>checkSequence</c>, after its duplicate lookup. A
    /// producer the partition does not know (new, or whose state expired or was deleted with the log) may start at any
    /// sequence, as Kafka allows since KIP-360; a new epoch must start at sequence 0.
    /// <para>With <paramref name="checkSequence"/> false (a coordinator's own append: Kafka checks sequences and
    /// duplicates only for <c>AppendOrigin.CLIENT</c>) only the epoch is checked; a coordinator writes every
    /// transactional batch with sequence 0.</para>
    /// </summary>
    public (ProducerAppendOutcome Outcome, BatchMetadata? Original) Check(in RecordBatchHeader header, bool checkSequence = true)
    {
        if (!header.HasProducerId || header.IsControl)
        {
            return (ProducerAppendOutcome.Append, null);
        }
        if (!_producers.TryGetValue(header.ProducerId, out var entry))
        {
            return (ProducerAppendOutcome.Append, null);
        }
        if (!checkSequence)
        {
            return (header.ProducerEpoch < entry.ProducerEpoch ? ProducerAppendOutcome.InvalidProducerEpoch : ProducerAppendOutcome.Append, null);
        }
        var lastSequence = LastSequenceOf(header);
        if (entry.FindDuplicate(header.ProducerEpoch, header.BaseSequence, lastSequence) is { } original)
        {
            return (ProducerAppendOutcome.Duplicate, original);
        }
        if (header.ProducerEpoch < entry.ProducerEpoch)
        {
            return (ProducerAppendOutcome.InvalidProducerEpoch, null);
        }
        if (header.ProducerEpoch != entry.ProducerEpoch)
        {
            return (header.BaseSequence == 0 ? ProducerAppendOutcome.Append : ProducerAppendOutcome.OutOfOrderSequence, null);
        }
        var current = entry.LastSequence;
        return (current == -1 || InSequence(current, header.BaseSequence) ? ProducerAppendOutcome.Append : ProducerAppendOutcome.OutOfOrderSequence, null);
    }

    /// <summary>Records a batch once it is in the log (appended, or replayed while loading the log); a transactional batch opens its producer's transaction.</summary>
    public void Update(in RecordBatchHeader header)
    {
        if (!header.HasProducerId || header.IsControl)
        {
            return;
        }
        var entry = EntryFor(header.ProducerId, header.ProducerEpoch);
        entry.Add(header.ProducerEpoch, new BatchMetadata(header.BaseSequence, LastSequenceOf(header), header.LastOffset, header.LastOffsetDelta, header.MaxTimestamp));
        if (header.IsTransactional && entry.CurrentTxnFirstOffset < 0)
        {
            entry.CurrentTxnFirstOffset = header.BaseOffset;
            _ongoingTxns[header.BaseOffset] = header.ProducerId;
        }
    }

    private ProducerStateEntry EntryFor(long producerId, short epoch)
    {
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            entry = new ProducerStateEntry(producerId, epoch);
            _producers.Add(producerId, entry);
        }
        return entry;
    }

    /// <summary>
    /// Kafka's <c>appendEndTxnMarker</c> checks, before the marker is written: an epoch older than the producer's is
    /// INVALID_PRODUCER_EPOCH, a coordinator epoch older than the last marker's is TRANSACTION_COORDINATOR_FENCED.
    /// </summary>
    public ProducerAppendOutcome CheckMarker(long producerId, short epoch, int coordinatorEpoch)
    {
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            return ProducerAppendOutcome.Append;
        }
        if (epoch < entry.ProducerEpoch)
        {
            return ProducerAppendOutcome.InvalidProducerEpoch;
        }
        return entry.CoordinatorEpoch > coordinatorEpoch ? ProducerAppendOutcome.CoordinatorFenced : ProducerAppendOutcome.Append;
    }

    /// <summary>
    /// A marker in the log at <paramref name="offset"/>: the producer's open transaction (if any) ends. Returns it, so the
    /// log can index an abort; it holds the last stable offset down until the high watermark passes the marker.
    /// </summary>
    public CompletedTxn? ApplyMarker(long producerId, short epoch, int coordinatorEpoch, bool commit, long offset, long timestamp)
    {
        var entry = EntryFor(producerId, epoch);
        entry.MaybeUpdateProducerEpoch(epoch);
        entry.CoordinatorEpoch = coordinatorEpoch;
        entry.Touch(timestamp);
        if (entry.CurrentTxnFirstOffset < 0)
        {
            return null;
        }
        var completed = new CompletedTxn(producerId, entry.CurrentTxnFirstOffset, offset, !commit);
        _ongoingTxns.Remove(entry.CurrentTxnFirstOffset);
        entry.CurrentTxnFirstOffset = -1;
        _unreplicatedTxns.Enqueue(completed);
        return completed;
    }

    /// <summary>
    /// Kafka's <c>lastStableOffset(completedTxn)</c>, stored with an aborted transaction in the index: the first offset of
    /// another producer's open transaction, or the offset after the marker.
    /// </summary>
    public long LastStableOffsetAfter(in CompletedTxn completed)
    {
        foreach (var (firstOffset, producerId) in _ongoingTxns)
        {
            if (producerId != completed.ProducerId)
            {
                return firstOffset;
            }
        }
        return completed.LastOffset + 1;
    }

    /// <summary>The high watermark passed these markers: their transactions no longer hold the last stable offset.</summary>
    public void OnHighWatermarkUpdated(long highWatermark)
    {
        while (_unreplicatedTxns.TryPeek(out var completed) && completed.LastOffset < highWatermark)
        {
            _unreplicatedTxns.Dequeue();
        }
    }

    /// <summary>Kafka's <c>firstUnstableOffset</c>: the first offset of an open or not yet replicated transaction, or null.</summary>
    public long? FirstUnstableOffset()
    {
        if (_ongoingTxns.Count == 0 && _unreplicatedTxns.Count == 0)
        {
            // The common case, on every append and high watermark move: no enumerator (a sorted dictionary's allocates).
            return null;
        }
        long? first = null;
        foreach (var (firstOffset, _) in _ongoingTxns)
        {
            first = firstOffset;
            break;
        }
        foreach (var completed in _unreplicatedTxns)
        {
            first = first is { } f ? Math.Min(f, completed.FirstOffset) : completed.FirstOffset;
        }
        return first;
    }

    /// <summary>Open transactions, oldest first: (producer id, first offset).</summary>
    public List<(long ProducerId, long FirstOffset)> OngoingTransactions() => [.. _ongoingTxns.Select(t => (t.Value, t.Key))];

    /// <summary>Kafka's <c>removeExpiredProducers</c>: producers with no write for <paramref name="expirationMs"/> and no open transaction.</summary>
    public int RemoveExpired(long nowMs, long expirationMs)
    {
        // A producer with an open transaction does not expire: it ends by a marker (the coordinator's timeout sends one).
        var expired = _producers.Values.Where(e => e.CurrentTxnFirstOffset < 0 && nowMs - e.LastTimestamp >= expirationMs).Select(e => e.ProducerId).ToList();
        foreach (var id in expired)
        {
            _producers.Remove(id);
        }
        return expired.Count;
    }

    /// <summary>Forgets every producer (a log truncated to nothing, or a state about to be rebuilt).</summary>
    public void Clear()
    {
        _producers.Clear();
        _ongoingTxns.Clear();
        _unreplicatedTxns.Clear();
    }

    /// <summary>The last offset of each producer's last batch: the batches compaction must keep (Kafka's <c>lastRecordsOfActiveProducers</c>).</summary>
    public HashSet<long> LastBatchOffsets()
    {
        var offsets = new HashSet<long>();
        foreach (var entry in _producers.Values)
        {
            if (entry.Batches.Count > 0)
            {
                offsets.Add(entry.Batches.Last().LastOffset);
            }
        }
        return offsets;
    }

    /// <summary>The snapshot file's bytes for the current state, producers in id order.</summary>
    public byte[] TakeSnapshot() => ProducerSnapshotFile.Write([.. _producers.Values.OrderBy(e => e.ProducerId).Select(e => e.ToSnapshot())]);

    /// <summary>Replaces the state with a snapshot's (the log is then replayed from the snapshot's offset).</summary>
    public void LoadSnapshot(ReadOnlySpan<byte> snapshot)
    {
        Clear();
        foreach (var entry in ProducerSnapshotFile.Read(snapshot))
        {
            _producers[entry.ProducerId] = ProducerStateEntry.FromSnapshot(entry);
            if (entry.CurrentTxnFirstOffset >= 0)
            {
                _ongoingTxns[entry.CurrentTxnFirstOffset] = entry.ProducerId;
            }
        }
    }

    /// <summary>The last sequence of a batch; sequences wrap from int.MaxValue to 0.</summary>
    private static int LastSequenceOf(in RecordBatchHeader header) => IncrementSequence(header.BaseSequence, header.LastOffsetDelta);

    /// <summary>Kafka's <c>inSequence</c>: the next sequence follows the last one, wrapping at int.MaxValue.</summary>
    public static bool InSequence(int lastSequence, int nextSequence) =>
        nextSequence == (long)lastSequence + 1 || (nextSequence == 0 && lastSequence == int.MaxValue);

    public static int IncrementSequence(int sequence, int increment) =>
        sequence > int.MaxValue - increment ? increment - (int.MaxValue - sequence) - 1 : sequence + increment;

    public static int DecrementSequence(int sequence, int decrement) =>
        sequence < decrement ? int.MaxValue - (decrement - sequence) + 1 : sequence - decrement;
}
