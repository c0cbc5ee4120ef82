using Microsoft.Extensions.Logging;
using Samsa.Broker.Coordinator;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.GroupCoordinatorRecords;

namespace Samsa.Broker.Groups;

/// <summary>Where a group shard's records go when it runs without the runtime (tests give it an in-memory log).</summary>
public interface ICoordinatorLog : ICoordinatorLog<CoordinatorRecord>
{
}

/// <summary>The group API's view of <see cref="CoordinatorState"/>: loading its partition, serving, or gone.</summary>
public enum ShardState
{
    Loading,
    Active,
    Closed,
}

/// <summary>
/// The groups and committed offsets of one <c>__consumer_offsets</c> partition (Kafka's
/// <c>GroupCoordinatorShard</c>, holding what its <c>GroupMetadataManager</c> and <c>OffsetMetadataManager</c>
/// hold). A shard is the unit of ownership: it is created when this broker leads the partition, replays the
/// partition's records while <see cref="ShardState.Loading"/>, and is dropped when leadership goes. It runs on
/// the coordinator runtime (<see cref="CoordinatorRuntime{TShard, TRecord}"/>), whose
/// <see cref="CoordinatorContext{TRecord}"/> holds its lock, its state and its write path.
/// </summary>
/// <remarks>
/// <para>Concurrency: one lock per shard (<see cref="SyncRoot"/>) guards every group and offset in it; requests,
/// timer callbacks and commit callbacks all take it, so the state machine runs as if on one thread, like Kafka's
/// shard event loop. Records are appended while the lock is held, so the log order is the order of the state
/// changes. Waiting for the high watermark happens outside the lock.</para>
/// <para>Records: offset records are applied through <see cref="Replay(CoordinatorRecord, CoordinatorChanges)"/>
/// just before they are appended (the only way offsets change) and undone when the write fails to append or to
/// commit; a group deletion likewise. Classic group records are written at Kafka's points (a SyncGroup that stores
/// an assignment, a group becoming empty, a static member replaced) but not replayed on the live path, because the
/// in-memory group already holds more than the record (Kafka's <c>replayRecords=false</c>); their callbacks handle
/// a failed write, as Kafka's do. KIP-848 records are applied to the group as they are built, also not replayed.</para>
/// </remarks>
public sealed partial class GroupCoordinatorShard : ICoordinatorShard<CoordinatorRecord>, IDisposable
{
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly OffsetStore _offsets = new();

    /// <summary>Appends this shard's committed offsets to <paramref name="into"/>; on the coordinator thread.</summary>
    public void CollectCommittedOffsets(List<CommittedOffset> into) => _offsets.CollectAll(into);
    private readonly CoordinatorTimer _timer;
    private readonly GroupCoordinatorConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>A shard of the runtime, which binds it to <paramref name="context"/>.</summary>
    public GroupCoordinatorShard(CoordinatorContext<CoordinatorRecord> context, GroupCoordinatorConfig config, TimeProvider time, ILogger logger)
    {
        Context = context;
        _config = config;
        _time = time;
        _logger = logger;
        _timer = new CoordinatorTimer(time);
    }

    /// <summary>A shard on its own, writing to <paramref name="log"/> (tests).</summary>
    public GroupCoordinatorShard(int partitionIndex, GroupCoordinatorConfig config, ICoordinatorLog log, TimeProvider time, ILogger logger)
        : this(new CoordinatorContext<CoordinatorRecord>(GroupCoordinator.OffsetsTopic, partitionIndex, log, logger), config, time, logger)
    {
        Context.Bind(this);
    }

    public CoordinatorContext<CoordinatorRecord> Context { get; }

    /// <summary>The <c>__consumer_offsets</c> partition this shard owns.</summary>
    public int PartitionIndex => Context.PartitionIndex;

    /// <summary>Guards everything in the shard.</summary>
    public Lock SyncRoot => Context.SyncRoot;

    public ShardState State => Context.State switch
    {
        CoordinatorState.Loading => ShardState.Loading,
        CoordinatorState.Active => ShardState.Active,
        _ => ShardState.Closed,
    };

    /// <summary>Completes when the shard leaves <see cref="ShardState.Loading"/> (serving, or closed before it served).</summary>
    public Task Loaded => Context.Loaded;

    /// <summary>Records replayed while loading.</summary>
    public long LoadedRecords { get; private set; }

    public int GroupCount
    {
        get
        {
            lock (SyncRoot)
            {
                return _groups.Count;
            }
        }
    }

    /// <summary>Classic groups in <paramref name="state"/> (Kafka's NumGroupsStable etc.), for the metrics scrape.</summary>
    public int ClassicGroupCount(ClassicGroupState state)
    {
        lock (SyncRoot)
        {
            var count = 0;
            foreach (var group in _groups.Values)
            {
                if (group is ClassicGroup classic && classic.State == state)
                {
                    count++;
                }
            }
            return count;
        }
    }

    /// <summary>Committed offsets held by this shard (Kafka's NumOffsets), for the metrics scrape.</summary>
    public int OffsetCount
    {
        get
        {
            lock (SyncRoot)
            {
                return _offsets.Count;
            }
        }
    }

    /// <summary>The error a request for this shard gets before it touches any group, or None when it is serving.</summary>
    public ErrorCode Availability => Context.Availability;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The group with this id, or null.</summary>
    public Group? GroupOrNull(string groupId) => _groups.GetValueOrDefault(groupId);

    /// <summary>Every group, for listing; call under <see cref="SyncRoot"/>.</summary>
    public IEnumerable<Group> Groups => _groups.Values;

    /// <summary>Adds a group of another type (KIP-848 consumer groups); call under <see cref="SyncRoot"/>.</summary>
    public void AddGroup(Group group) => _groups.Add(group.GroupId, group);

    /// <summary>
    /// Kafka's <c>getOrMaybeCreateClassicGroup</c>: the classic group with this id, created Empty when
    /// <paramref name="createIfMissing"/>. A group of another type is refused with GROUP_ID_NOT_FOUND; a missing one
    /// that may not be created with UNKNOWN_MEMBER_ID.
    /// </summary>
    private (ClassicGroup? Group, ErrorCode Error) ClassicGroupOrCreate(string groupId, bool createIfMissing)
    {
        if (_groups.TryGetValue(groupId, out var group))
        {
            return group is ClassicGroup classic ? (classic, ErrorCode.None) : (null, ErrorCode.GroupIdNotFound);
        }
        if (!createIfMissing)
        {
            return (null, ErrorCode.UnknownMemberId);
        }
        var created = new ClassicGroup(groupId, NowMs);
        _groups.Add(groupId, created);
        return (created, ErrorCode.None);
    }

    // ---- Records ----

    /// <summary>Applies one committed record (loading, tests).</summary>
    public void Replay(CoordinatorRecord record) => Replay(record, null);

    /// <summary>
    /// Applies one record read back from the partition (loading, <paramref name="changes"/> null) or about to be
    /// appended (offsets and deletions on the live path, each change registering its undo in
    /// <paramref name="changes"/>). A tombstone removes what its key names.
    /// </summary>
    /// <remarks>KIP-848 records are replayed only while loading: on the live path they are applied as they are built.</remarks>
    public void Replay(CoordinatorRecord record, CoordinatorChanges? changes)
    {
        switch (record.Key)
        {
            case OffsetCommitKey key:
                if (changes is not null)
                {
                    RegisterOffsetUndo(key.group, key.topic, key.partition, changes);
                }
                if (record.Value is OffsetCommitValue value)
                {
                    _offsets.Put(key.group, key.topic, key.partition, OffsetFromRecord(value));
                    if (!_groups.ContainsKey(key.group))
                    {
                        // Offsets without a group record belong to a simple group (no membership, offsets only).
                        var simple = new ClassicGroup(key.group, NowMs);
                        _groups.Add(key.group, simple);
                        changes?.OnRevert(() => DropSimpleGroup(simple));
                    }
                }
                else
                {
                    _offsets.Remove(key.group, key.topic, key.partition);
                    DropPendingOffsets(key.group, key.topic, key.partition, changes);
                }
                break;
            case GroupMetadataKey key:
                if (record.Value is GroupMetadataValue group)
                {
                    if (changes is not null)
                    {
                        var previous = _groups.GetValueOrDefault(key.group);
                        changes.OnRevert(() => RestoreGroup(key.group, previous));
                    }
                    _groups[key.group] = ClassicGroup.FromRecord(key.group, group, NowMs);
                }
                else
                {
                    RemoveGroup(key.group, changes);
                }
                break;
            default:
                ReplayConsumerGroupRecord(record);
                break;
        }
    }

    /// <summary>Undo step: puts back the offset a live write replaces.</summary>
    private void RegisterOffsetUndo(string groupId, string topic, int partition, CoordinatorChanges changes)
    {
        var previous = _offsets.Get(groupId, topic, partition);
        changes.OnRevert(() =>
        {
            if (previous is null)
            {
                _offsets.Remove(groupId, topic, partition);
            }
            else
            {
                _offsets.Put(groupId, topic, partition, previous);
            }
        });
    }

    /// <summary>Undo step for a simple group a commit created: gone again, unless a join has since made it a live group.</summary>
    private void DropSimpleGroup(ClassicGroup simple)
    {
        if (simple.IsEmpty && _groups.TryGetValue(simple.GroupId, out var current) && ReferenceEquals(current, simple))
        {
            _groups.Remove(simple.GroupId);
        }
    }

    /// <summary>Undo step: the group id maps to <paramref name="previous"/> again (or to nothing).</summary>
    private void RestoreGroup(string groupId, Group? previous)
    {
        if (previous is null)
        {
            _groups.Remove(groupId);
        }
        else
        {
            _groups[groupId] = previous;
        }
    }

    /// <summary>
    /// Called once every record of the partition has been replayed: members get their session timers (consumer
    /// groups' from their GROUP configs in <paramref name="image"/>, when given), and the shard serves.
    /// </summary>
    public void CompleteLoad(long records, MetadataImage? image = null) => Context.Activate(records, image);

    void ICoordinatorShard<CoordinatorRecord>.OnLoaded(long records, MetadataImage? image)
    {
        LoadedRecords = records;
        foreach (var group in _groups.Values.OfType<ClassicGroup>())
        {
            foreach (var member in group.Members)
            {
                RescheduleHeartbeat(group, member);
            }
        }
        ScheduleConsumerSessionsAfterLoad(image);
        if (records > 0)
        {
            GroupLog.ShardLoaded(_logger, PartitionIndex, _groups.Count, records);
        }
    }

    /// <summary>
    /// Appends <paramref name="records"/> and, once the high watermark covers them, runs <paramref name="onCommitted"/>
    /// under the shard lock with None or the mapped error (at once when the append fails or commits immediately).
    /// Call under <see cref="SyncRoot"/>.
    /// </summary>
    private void AppendThen(IReadOnlyList<CoordinatorRecord> records, Action<ErrorCode> onCommitted)
    {
        var wait = Context.Write(records, apply: null);
        if (wait.IsCompleted)
        {
            onCommitted(wait.Result);
            return;
        }
        wait.ContinueWith(t =>
        {
            lock (SyncRoot)
            {
                onCommitted(State == ShardState.Active ? t.Result : ErrorCode.NotCoordinator);
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>
    /// Appends and returns the wait for the high watermark. With <paramref name="replay"/> the records are
    /// replayed first and undone if the write fails (offsets); without, the caller already changed the shard.
    /// Call under <see cref="SyncRoot"/>.
    /// </summary>
    private Task<ErrorCode> AppendAndWait(IReadOnlyList<CoordinatorRecord> records, bool replay) =>
        replay ? Context.WriteAndReplay(records) : Context.Write(records, apply: null);

    /// <summary>
    /// Writes the tombstones deleting <paramref name="groupIds"/> (and any other offset tombstones in
    /// <paramref name="records"/>): offsets are replayed and the groups removed before the append, all undone if
    /// the write fails. A deleted KIP-848 group's own tombstones are not replayed into it: the group goes whole.
    /// </summary>
    private Task<ErrorCode> WriteDeletions(List<CoordinatorRecord> records, List<string> groupIds) =>
        Context.Write(records, changes =>
        {
            foreach (var record in records)
            {
                if (record.Key is OffsetCommitKey)
                {
                    Replay(record, changes);
                }
            }
            foreach (var groupId in groupIds)
            {
                RemoveGroup(groupId, changes);
            }
        });

    /// <summary>Kafka's <c>appendGroupMetadataErrorToResponseError</c>: what a failed group write tells the client.</summary>
    public static ErrorCode GroupWriteError(ErrorCode error) => error switch
    {
        ErrorCode.None => ErrorCode.None,
        ErrorCode.UnknownTopicOrPartition or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend or ErrorCode.RequestTimedOut
            => ErrorCode.CoordinatorNotAvailable,
        ErrorCode.NotLeaderOrFollower or ErrorCode.KafkaStorageError => ErrorCode.NotCoordinator,
        ErrorCode.MessageTooLarge or ErrorCode.RecordListTooLarge or ErrorCode.InvalidFetchSize => ErrorCode.UnknownServerError,
        _ => error,
    };

    /// <summary>The same for offset commits, where an oversized batch is INVALID_COMMIT_OFFSET_SIZE.</summary>
    public static ErrorCode OffsetWriteError(ErrorCode error) => error switch
    {
        ErrorCode.MessageTooLarge or ErrorCode.RecordListTooLarge or ErrorCode.InvalidFetchSize => ErrorCode.InvalidCommitOffsetSize,
        _ => GroupWriteError(error),
    };

    // ---- Admin: list, describe, delete ----

    /// <summary>Groups passing the ListGroups filters (state and type names compared case-insensitively, empty = all).</summary>
    public List<Group> ListGroups(IReadOnlyCollection<string> states, IReadOnlyCollection<string> types)
    {
        lock (SyncRoot)
        {
            return [.. _groups.Values.Where(g =>
                !g.IsDead
                && (states.Count == 0 || states.Any(s => string.Equals(s, g.StateName, StringComparison.OrdinalIgnoreCase)))
                && (types.Count == 0 || types.Any(t => string.Equals(t, g.Type.ToString(), StringComparison.OrdinalIgnoreCase))))];
        }
    }

    /// <summary>
    /// DeleteGroups for the ids this shard owns: each empty group's offsets and record are tombstoned and the group
    /// becomes Dead; a live one gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. Completes when written.
    /// </summary>
    public async Task<Dictionary<string, ErrorCode>> DeleteGroupsAsync(IReadOnlyList<string> groupIds)
    {
        var results = new Dictionary<string, ErrorCode>(StringComparer.Ordinal);
        Task<ErrorCode> written;
        var deleted = new List<string>();
        lock (SyncRoot)
        {
            var records = new List<CoordinatorRecord>();
            foreach (var groupId in groupIds)
            {
                if (!_groups.TryGetValue(groupId, out var group))
                {
                    results[groupId] = ErrorCode.GroupIdNotFound;
                    continue;
                }
                var error = group.ValidateDeleteGroup();
                results[groupId] = error;
                if (error != ErrorCode.None)
                {
                    continue;
                }
                records.AddRange(DeleteGroupRecords(group));
                deleted.Add(groupId);
            }
            written = WriteDeletions(records, deleted);
        }
        var outcome = GroupWriteError(await written);
        foreach (var groupId in deleted)
        {
            results[groupId] = outcome;
        }
        return results;
    }

    /// <summary>Tombstones for every committed offset of the group and for the group itself.</summary>
    private List<CoordinatorRecord> DeleteGroupRecords(Group group)
    {
        var records = new List<CoordinatorRecord>();
        foreach (var (topic, partition, _) in _offsets.OffsetsOf(group.GroupId))
        {
            records.Add(CoordinatorRecord.OffsetCommitTombstone(group.GroupId, topic, partition));
        }
        foreach (var (topic, partition) in PendingOnlyPartitions(group.GroupId))
        {
            records.Add(CoordinatorRecord.OffsetCommitTombstone(group.GroupId, topic, partition));
        }
        if (group is Consumer.ConsumerGroup consumer)
        {
            records.AddRange(consumer.DeleteRecords());
        }
        else
        {
            records.Add(CoordinatorRecord.GroupMetadataTombstone(group.GroupId));
        }
        return records;
    }

    /// <summary>
    /// Removes a group and stops its timers. Loading (<paramref name="changes"/> null): the group is closed at once.
    /// Live: the removal is undone if the write fails, and the group is closed once it commits.
    /// </summary>
    private void RemoveGroup(string groupId, CoordinatorChanges? changes = null)
    {
        if (_groups.Remove(groupId, out var group))
        {
            if (group is ClassicGroup classic)
            {
                foreach (var member in classic.Members)
                {
                    _timer.Cancel(HeartbeatKey(groupId, member.MemberId));
                }
                _timer.Cancel(JoinKey(groupId));
                _timer.Cancel(SyncKey(groupId));
            }
            else if (group is Consumer.ConsumerGroup consumer)
            {
                CancelConsumerTimers(consumer);
            }
            if (changes is null)
            {
                group.Close(ErrorCode.CoordinatorNotAvailable);
            }
            else
            {
                changes.OnRevert(() => _groups[groupId] = group);
                changes.OnCommit(() => group.Close(ErrorCode.CoordinatorNotAvailable));
            }
        }
    }

    /// <summary>
    /// Kafka's <c>cleanupGroupMetadata</c>: removes offsets past <c>offsets.retention.minutes</c> (counted from when
    /// the group became empty, or from each commit for simple groups and unsubscribed topics), then deletes groups
    /// left empty with no offsets. Returns how many offsets expired.
    /// </summary>
    public int ExpireOffsets()
    {
        lock (SyncRoot)
        {
            if (State != ShardState.Active)
            {
                return 0;
            }
            var now = NowMs;
            var records = new List<CoordinatorRecord>();
            var expired = 0;
            var emptied = new List<string>();
            foreach (var group in _groups.Values.ToList())
            {
                if (group.OffsetExpirationBase() is { } baseTimestamp)
                {
                    foreach (var (topic, partition, offset) in _offsets.OffsetsOf(group.GroupId))
                    {
                        var due = offset.ExpireTimestampMs is { } expireAt
                            ? now >= expireAt
                            : now - baseTimestamp(offset) >= _config.OffsetsRetentionMs;
                        // Kafka keeps an offset a transaction is about to replace.
                        if (due && (group.IsEmpty || !group.IsSubscribedToTopic(topic)) && !HasPendingTransactionalOffsets(group.GroupId, topic, partition))
                        {
                            records.Add(CoordinatorRecord.OffsetCommitTombstone(group.GroupId, topic, partition));
                            expired++;
                        }
                    }
                }
                var remaining = _offsets.CountOf(group.GroupId) - records.Count(r => r.Key is OffsetCommitKey k && k.group == group.GroupId);
                if (group.IsEmpty && remaining == 0 && !HasOpenTransactions(group.GroupId))
                {
                    records.AddRange(group is Consumer.ConsumerGroup consumer ? consumer.DeleteRecords() : [CoordinatorRecord.GroupMetadataTombstone(group.GroupId)]);
                    emptied.Add(group.GroupId);
                }
            }
            _ = WriteDeletions(records, emptied);
            if (expired > 0 || emptied.Count > 0)
            {
                GroupLog.OffsetsExpired(_logger, PartitionIndex, expired, emptied.Count);
            }
            return expired;
        }
    }

    /// <summary>Leadership lost or broker stopping: waiting requests get NOT_COORDINATOR and timers stop.</summary>
    public void Close() => Context.Close();

    void ICoordinatorShard<CoordinatorRecord>.OnUnloaded()
    {
        foreach (var group in _groups.Values)
        {
            group.Close(ErrorCode.NotCoordinator);
        }
        _groups.Clear();
        _timer.Dispose();
    }

    public void Dispose() => Close();

    /// <summary>Runs a timer callback under the lock, if the shard still serves; a failure is logged, never thrown on the timer thread.</summary>
    private void OnTimer(string what, Action action)
    {
        try
        {
            lock (SyncRoot)
            {
                if (State == ShardState.Active)
                {
                    action();
                }
            }
        }
        catch (Exception e)
        {
            GroupLog.TimerFailed(_logger, what, PartitionIndex, e);
        }
    }
}

/// <summary>One group's committed offset for one partition and when it was committed.</summary>
public readonly record struct CommittedOffset(string GroupId, string Topic, int Partition, long Offset, long CommitTimestampMs);

/// <summary>
/// Committed offsets of one shard, by group, topic and partition (Kafka's <c>OffsetMetadataManager</c> store).
/// Changed only through <see cref="GroupCoordinatorShard.Replay(CoordinatorRecord, CoordinatorChanges)"/>.
/// </summary>
public sealed class OffsetStore
{
    private readonly Dictionary<string, Dictionary<(string Topic, int Partition), OffsetAndMetadata>> _byGroup = new(StringComparer.Ordinal);

    public void Put(string groupId, string topic, int partition, OffsetAndMetadata offset)
    {
        if (!_byGroup.TryGetValue(groupId, out var offsets))
        {
            offsets = [];
            _byGroup.Add(groupId, offsets);
        }
        offsets[(topic, partition)] = offset;
    }

    public void Remove(string groupId, string topic, int partition)
    {
        if (_byGroup.TryGetValue(groupId, out var offsets) && offsets.Remove((topic, partition)) && offsets.Count == 0)
        {
            _byGroup.Remove(groupId);
        }
    }

    public OffsetAndMetadata? Get(string groupId, string topic, int partition) =>
        _byGroup.TryGetValue(groupId, out var offsets) ? offsets.GetValueOrDefault((topic, partition)) : null;

    public int CountOf(string groupId) => _byGroup.TryGetValue(groupId, out var offsets) ? offsets.Count : 0;

    /// <summary>Committed offsets of every group (Kafka's NumOffsets).</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var offsets in _byGroup.Values)
            {
                count += offsets.Count;
            }
            return count;
        }
    }

    /// <summary>Every committed offset, appended to <paramref name="into"/> (for lag monitoring).</summary>
    public void CollectAll(List<CommittedOffset> into)
    {
        foreach (var (groupId, offsets) in _byGroup)
        {
            foreach (var ((topic, partition), offset) in offsets)
            {
                into.Add(new CommittedOffset(groupId, topic, partition, offset.Offset, offset.CommitTimestampMs));
            }
        }
    }

    /// <summary>The group's offsets ordered by topic and partition (a copy: safe to change the store while iterating).</summary>
    public List<(string Topic, int Partition, OffsetAndMetadata Offset)> OffsetsOf(string groupId) =>
        _byGroup.TryGetValue(groupId, out var offsets)
            ? [.. offsets.OrderBy(o => o.Key.Topic, StringComparer.Ordinal).ThenBy(o => o.Key.Partition).Select(o => (o.Key.Topic, o.Key.Partition, o.Value))]
            : [];
}

/// <summary>Group coordinator log lines; event ids 600-649 are stable.</summary>
internal static partial class GroupLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Loaded __consumer_offsets-{Partition}: {Groups} groups from {Records} records")]
    public static partial void ShardLoaded(ILogger logger, int partition, int groups, long records);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information, Message = "__consumer_offsets-{Partition}: expired {Offsets} offsets, removed {Groups} empty groups")]
    public static partial void OffsetsExpired(ILogger logger, int partition, int offsets, int groups);

    [LoggerMessage(EventId = 603, Level = LogLevel.Error, Message = "Group timer {What} on __consumer_offsets-{Partition} failed")]
    public static partial void TimerFailed(ILogger logger, string what, int partition, Exception exception);

    [LoggerMessage(EventId = 604, Level = LogLevel.Information, Message = "Group {GroupId}: preparing to rebalance generation {Generation} ({Reason})")]
    public static partial void PreparingRebalance(ILogger logger, string groupId, int generation, string reason);

    [LoggerMessage(EventId = 605, Level = LogLevel.Information, Message = "Group {GroupId}: generation {Generation} stabilized with {Members} members, protocol {Protocol}")]
    public static partial void Stabilized(ILogger logger, string groupId, int generation, int members, string? protocol);

    [LoggerMessage(EventId = 606, Level = LogLevel.Information, Message = "Group {GroupId}: member {MemberId} removed ({Reason})")]
    public static partial void MemberRemoved(ILogger logger, string groupId, string memberId, string reason);

    [LoggerMessage(EventId = 607, Level = LogLevel.Information, Message = "Group {GroupId}: generation {Generation} is empty")]
    public static partial void GroupEmpty(ILogger logger, string groupId, int generation);
}
