using System.Text;
using Samsa.Broker.Coordinator;
using Samsa.Protocol;
using Samsa.Protocol.GroupCoordinatorRecords;

namespace Samsa.Broker.Groups;

/// <summary>A TxnOffsetCommit as the coordinator sees it (the partitions of known topics, in request order).</summary>
public sealed record TxnOffsetCommitArgs(
    string GroupId,
    long ProducerId,
    short ProducerEpoch,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    short ApiVersion,
    IReadOnlyList<OffsetCommitPartition> Partitions);

/// <summary>
/// Transactional offsets (Kafka's <c>OffsetMetadataManager</c> <c>pendingTransactionalOffsets</c> and
/// <c>openTransactionsByGroup</c>): offsets a producer commits inside its transaction (TxnOffsetCommit) are written
/// as a transactional batch and held here, per producer id, until the transaction's marker reaches this partition:
/// a commit makes them the committed offsets, an abort drops them.
/// </summary>
/// <remarks>
/// <para>A pending offset becomes committed only if no later offset of the same partition was committed outside the
/// transaction: Kafka compares the records' log offsets; we compare <see cref="OffsetAndMetadata.ReplaySequence"/>,
/// which grows with every offset record replayed (log order while loading, append order on the live path, where
/// records are replayed just before they are appended under the shard lock).</para>
/// <para>While a group has pending offsets, OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for those
/// partitions, the retention check neither expires a partition's offset nor deletes the group, and deleting the
/// group (or an offset) writes tombstones that also drop the pending offsets of those partitions.</para>
/// </remarks>
public sealed partial class GroupCoordinatorShard : ITransactionalCoordinatorShard<CoordinatorRecord>
{
    private readonly Dictionary<long, Dictionary<(string Group, string Topic, int Partition), OffsetAndMetadata>> _pendingByProducer = [];
    // For each group, its producers with pending offsets and how many partitions each holds.
    private readonly Dictionary<string, Dictionary<long, int>> _openTransactionsByGroup = new(StringComparer.Ordinal);
    private long _replaySequence;

    /// <summary>Kafka's <c>hasPendingTransactionalOffsets</c>: any producer's transaction holds an offset of the partition.</summary>
    public bool HasPendingTransactionalOffsets(string groupId, string topic, int partition)
    {
        if (!_openTransactionsByGroup.TryGetValue(groupId, out var producers))
        {
            return false;
        }
        foreach (var producerId in producers.Keys)
        {
            if (_pendingByProducer[producerId].ContainsKey((groupId, topic, partition)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True while some transaction holds offsets of the group (it is then never deleted by retention).</summary>
    public bool HasOpenTransactions(string groupId) => _openTransactionsByGroup.ContainsKey(groupId);

    /// <summary>The offset the producer's open transaction holds for the partition, or null (tests).</summary>
    public OffsetAndMetadata? PendingOffset(long producerId, string groupId, string topic, int partition)
    {
        lock (SyncRoot)
        {
            return _pendingByProducer.TryGetValue(producerId, out var pending) ? pending.GetValueOrDefault((groupId, topic, partition)) : null;
        }
    }

    /// <summary>
    /// Kafka's <c>replay</c> of an offset record with a producer id: held as the producer's pending offset. Like a
    /// plain commit, it creates a simple group when the group is unknown. A tombstone in a transaction is not
    /// something Kafka writes; it is applied as a plain one.
    /// </summary>
    public void ReplayTransactional(long producerId, short producerEpoch, CoordinatorRecord record, CoordinatorChanges? changes)
    {
        if (record.Key is not OffsetCommitKey key || record.Value is not OffsetCommitValue value)
        {
            Replay(record, changes);
            return;
        }
        if (!_groups.ContainsKey(key.group))
        {
            var simple = new ClassicGroup(key.group, NowMs);
            _groups.Add(key.group, simple);
            changes?.OnRevert(() => DropSimpleGroup(simple));
        }
        SetPending(producerId, key.group, key.topic, key.partition, OffsetFromRecord(value), changes);
    }

    /// <summary>
    /// Kafka's <c>replayEndTransactionMarker</c>: the producer's pending offsets become committed (each unless a
    /// later plain commit of its partition is already there) or are dropped.
    /// </summary>
    public void ReplayEndTransactionMarker(long producerId, short producerEpoch, bool commit, CoordinatorChanges? changes)
    {
        if (!_pendingByProducer.TryGetValue(producerId, out var pending))
        {
            return;
        }
        foreach (var ((groupId, topic, partition), offset) in pending.ToList())
        {
            SetPending(producerId, groupId, topic, partition, null, changes);
            if (!commit)
            {
                continue;
            }
            if (_offsets.Get(groupId, topic, partition) is { } existing && existing.ReplaySequence > offset.ReplaySequence)
            {
                continue;
            }
            if (changes is not null)
            {
                RegisterOffsetUndo(groupId, topic, partition, changes);
            }
            _offsets.Put(groupId, topic, partition, offset);
        }
    }

    /// <summary>The offset an offset record holds, stamped with the next replay sequence.</summary>
    private OffsetAndMetadata OffsetFromRecord(OffsetCommitValue value)
    {
        long? expireAt = value.expireTimestamp >= 0 ? value.expireTimestamp : null;
        return new OffsetAndMetadata(value.offset, value.leaderEpoch, value.metadata, value.commitTimestamp, expireAt) { ReplaySequence = ++_replaySequence };
    }

    /// <summary>Sets (or with null removes) a pending offset, keeping the per-group index, and registers the undo.</summary>
    private void SetPending(long producerId, string groupId, string topic, int partition, OffsetAndMetadata? offset, CoordinatorChanges? changes)
    {
        var key = (groupId, topic, partition);
        _pendingByProducer.TryGetValue(producerId, out var pending);
        var previous = pending?.GetValueOrDefault(key);
        if (changes is not null)
        {
            changes.OnRevert(() => SetPending(producerId, groupId, topic, partition, previous, null));
        }
        if (offset is not null)
        {
            if (pending is null)
            {
                pending = [];
                _pendingByProducer.Add(producerId, pending);
            }
            pending[key] = offset;
            if (previous is null)
            {
                CountOpenPartition(groupId, producerId, +1);
            }
        }
        else if (previous is not null)
        {
            pending!.Remove(key);
            if (pending.Count == 0)
            {
                _pendingByProducer.Remove(producerId);
            }
            CountOpenPartition(groupId, producerId, -1);
        }
    }

    private void CountOpenPartition(string groupId, long producerId, int delta)
    {
        if (!_openTransactionsByGroup.TryGetValue(groupId, out var producers))
        {
            producers = [];
            _openTransactionsByGroup.Add(groupId, producers);
        }
        var count = producers.GetValueOrDefault(producerId) + delta;
        if (count > 0)
        {
            producers[producerId] = count;
            return;
        }
        producers.Remove(producerId);
        if (producers.Count == 0)
        {
            _openTransactionsByGroup.Remove(groupId);
        }
    }

    /// <summary>A tombstone for the partition's offset also drops every transaction's pending offset of it (Kafka's replay of a tombstone).</summary>
    private void DropPendingOffsets(string groupId, string topic, int partition, CoordinatorChanges? changes)
    {
        if (!_openTransactionsByGroup.TryGetValue(groupId, out var producers))
        {
            return;
        }
        foreach (var producerId in producers.Keys.ToList())
        {
            if (_pendingByProducer[producerId].ContainsKey((groupId, topic, partition)))
            {
                SetPending(producerId, groupId, topic, partition, null, changes);
            }
        }
    }

    /// <summary>Partitions that only a transaction holds an offset of (deleting the group tombstones them too, as Kafka's <c>deleteAllOffsets</c>).</summary>
    private IEnumerable<(string Topic, int Partition)> PendingOnlyPartitions(string groupId)
    {
        if (!_openTransactionsByGroup.TryGetValue(groupId, out var producers))
        {
            return [];
        }
        return producers.Keys
            .SelectMany(p => _pendingByProducer[p].Keys)
            .Where(k => k.Group == groupId && _offsets.Get(groupId, k.Topic, k.Partition) is null)
            .Select(k => (k.Topic, k.Partition))
            .Distinct()
            .OrderBy(k => k.Topic, StringComparer.Ordinal).ThenBy(k => k.Partition);
    }

    /// <summary>
    /// TxnOffsetCommit (Kafka's <c>commitTransactionalOffset</c>): validates the commit against the group, writes one
    /// offset record per partition as a transactional batch of the request's producer id and epoch, and answers once
    /// the high watermark covers it. The offsets stay pending until the transaction's marker. Errors per partition, in
    /// the request's order.
    /// </summary>
    public async Task<List<ErrorCode>> CommitTransactionalOffsetsAsync(TxnOffsetCommitArgs args)
    {
        Task<ErrorCode> written;
        var results = new List<ErrorCode>(args.Partitions.Count);
        lock (SyncRoot)
        {
            var error = ValidateTransactionalOffsetCommit(args);
            if (error != ErrorCode.None)
            {
                results.AddRange(Enumerable.Repeat(error, args.Partitions.Count));
                return results;
            }
            var now = NowMs;
            var records = new List<CoordinatorRecord>();
            foreach (var p in args.Partitions)
            {
                var metadata = p.Metadata ?? "";
                if (Encoding.UTF8.GetByteCount(metadata) > _config.OffsetMetadataMaxBytes)
                {
                    results.Add(ErrorCode.OffsetMetadataTooLarge);
                    continue;
                }
                results.Add(ErrorCode.None);
                records.Add(CoordinatorRecord.OffsetCommit(args.GroupId, p.Topic, p.Partition, new OffsetAndMetadata(p.Offset, p.LeaderEpoch, metadata, now, null)));
            }
            written = Context.WriteTransactional(args.ProducerId, args.ProducerEpoch, records);
        }
        var outcome = OffsetWriteError(await written);
        if (outcome != ErrorCode.None)
        {
            for (var i = 0; i < results.Count; i++)
            {
                if (results[i] == ErrorCode.None)
                {
                    results[i] = outcome;
                }
            }
        }
        return results;
    }

    /// <summary>
    /// Kafka's <c>validateTransactionalOffsetCommit</c>: an unknown group is accepted (and created as a simple group by
    /// the write) when the commit carries no generation (-1), else ILLEGAL_GENERATION; a known group checks member and
    /// generation as a transactional commit, a stale member epoch being ILLEGAL_GENERATION.
    /// </summary>
    private ErrorCode ValidateTransactionalOffsetCommit(TxnOffsetCommitArgs args)
    {
        if (Availability is var unavailable && unavailable != ErrorCode.None)
        {
            return unavailable;
        }
        if (!_groups.TryGetValue(args.GroupId, out var group))
        {
            return args.GenerationId < 0 ? ErrorCode.None : ErrorCode.IllegalGeneration;
        }
        var error = group.ValidateOffsetCommit(args.MemberId, args.GroupInstanceId, args.GenerationId, isTransactional: true, args.ApiVersion);
        return error == ErrorCode.StaleMemberEpoch ? ErrorCode.IllegalGeneration : error;
    }
}
