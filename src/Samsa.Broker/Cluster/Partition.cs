using System.Collections.Concurrent;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Storage;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Cluster;

/// <summary>
/// One partition this node hosts (Kafka's <c>cluster/Partition</c>): its identity, its log once opened, and its
/// leadership state (leader, leader epoch, replicas, ISR) as of the last metadata image applied. Every request path
/// that reads or writes a partition as its leader asks <see cref="CheckLeader(int, out PartitionLog?, out PartitionImage?)"/>,
/// the one leader check and one leader-epoch check; the high-watermark rule lives here too.
/// </summary>
/// <remarks>
/// The state and the log are each one volatile reference, replaced by <see cref="PartitionRegistry"/> (image applied,
/// log opened, topic deleted); readers take both once per operation and work on that snapshot, without a lock.
/// As leader it also tracks each follower (<see cref="FollowerReplica"/>: log end offset from its fetches, when it
/// was last caught up), moves the high watermark to the smallest log end offset in the ISR, and proposes ISR
/// changes (Kafka's <c>maybeExpandIsr</c> / <c>maybeShrinkIsr</c>), one in flight at a time; that state is guarded
/// by <c>_leaderLock</c> (Kafka's <c>leaderIsrUpdateLock</c>).
/// </remarks>
public sealed class Partition
{
    private readonly int _nodeId;
    private readonly ReplicationSettings _settings;
    private readonly Lock _leaderLock = new();
    private volatile PartitionImage? _state;
    private volatile PartitionLog? _log;

    // Leader state, under _leaderLock: the leader epoch it was set up for (-1: not leading), the followers, where
    // this leader's epoch starts in the log, and the ISR change sent to the controller and not yet in the image.
    private int _leaderStateEpoch = -1;
    private long _leaderEpochStartOffset;
    private Dictionary<int, FollowerReplica> _followers = [];
    private IsrChange? _pendingIsr;
    private long _noIsrChangeBeforeMs;

    public Partition(string topic, int partition, Uuid topicId, int nodeId, PartitionImage? state, PartitionLog? log = null, ReplicationSettings? settings = null)
    {
        Topic = topic;
        Index = partition;
        TopicId = topicId;
        TopicPartition = new TopicPartition(topic, partition);
        _nodeId = nodeId;
        _settings = settings ?? ReplicationSettings.Default;
        _state = state;
        _log = log;
        Refresh();
    }

    public string Topic { get; }

    public int Index { get; }

    public Uuid TopicId { get; }

    public TopicPartition TopicPartition { get; }

    /// <summary>The local log, or null until it is opened (or once the partition left this node).</summary>
    public PartitionLog? Log => _log;

    /// <summary>The leadership state from the last image applied; null once the partition is gone from the image.</summary>
    public PartitionImage? State => _state;

    public int LeaderEpoch => _state?.LeaderEpoch ?? -1;

    public int LeaderId => _state?.Leader ?? -1;

    public IReadOnlyList<int> Replicas => _state?.Replicas ?? [];

    public IReadOnlyList<int> Isr => _state?.Isr ?? [];

    /// <summary>The log's high watermark; -1 without a log.</summary>
    public long HighWatermark => _log?.HighWatermark ?? -1;

    /// <summary>True when the image names this node the leader (its log may still be opening).</summary>
    public bool IsLeader => _state?.Leader == _nodeId;

    /// <summary>The ISR the high watermark waits for: the image's, plus members of an expansion in flight.</summary>
    public IReadOnlyList<int> MaximalIsr
    {
        get
        {
            lock (_leaderLock)
            {
                return MaximalIsrLocked(_state);
            }
        }
    }

    /// <summary>The followers as this leader sees them (empty when not leading).</summary>
    public IReadOnlyList<FollowerReplica> Followers
    {
        get
        {
            lock (_leaderLock)
            {
                return [.. _followers.Values];
            }
        }
    }

    internal void SetState(PartitionImage? state)
    {
        _state = state;
        Refresh();
    }

    internal void SetLog(PartitionLog? log)
    {
        _log = log;
        Refresh();
    }

    /// <summary>
    /// Brings the leader state in line with the image and the log: set up on becoming leader of a new epoch (Kafka's
    /// <c>makeLeader</c>: the epoch starts at the log end, followers unknown, ISR members counted as caught up now),
    /// followers added or dropped as the replica set changes, an ISR change in flight forgotten once the image moved
    /// past it, everything dropped when this node stops leading.
    /// </summary>
    private void Refresh()
    {
        lock (_leaderLock)
        {
            var state = _state;
            var log = _log;
            if (state is null || log is null || state.Leader != _nodeId)
            {
                _leaderStateEpoch = -1;
                _followers = [];
                _pendingIsr = null;
                return;
            }
            var now = NowMs;
            if (_leaderStateEpoch != state.LeaderEpoch)
            {
                log.AssignLeaderEpoch(state.LeaderEpoch);
                _leaderStateEpoch = state.LeaderEpoch;
                _leaderEpochStartOffset = log.LogEndOffset;
                _pendingIsr = null;
                var followers = new Dictionary<int, FollowerReplica>();
                foreach (var id in state.Replicas.Where(r => r != _nodeId))
                {
                    followers[id] = new FollowerReplica(id) { LastCaughtUpTimeMs = state.Isr.Contains(id) ? now : 0 };
                }
                _followers = followers;
            }
            else if (_followers.Count != state.Replicas.Length - 1 || state.Replicas.Any(r => r != _nodeId && !_followers.ContainsKey(r)))
            {
                var followers = new Dictionary<int, FollowerReplica>();
                foreach (var id in state.Replicas.Where(r => r != _nodeId))
                {
                    followers[id] = _followers.GetValueOrDefault(id) ?? new FollowerReplica(id);
                }
                _followers = followers;
            }
            if (_pendingIsr is { } pending && state.PartitionEpoch > pending.PartitionEpoch)
            {
                _pendingIsr = null;
            }
            MaybeIncrementHighWatermarkLocked(log, state);
        }
    }

    private long NowMs => _settings.Time.GetUtcNow().ToUnixTimeMilliseconds();

    private IReadOnlyList<int> MaximalIsrLocked(PartitionImage? state)
    {
        if (state is null)
        {
            return [];
        }
        return _pendingIsr is { } pending ? [.. state.Isr.Union(pending.NewIsr.Select(m => m.BrokerId))] : state.Isr;
    }

    /// <inheritdoc cref="CheckLeader(int, out PartitionLog?, out PartitionImage?)"/>
    public ErrorCode CheckLeader(int currentLeaderEpoch) => CheckLeader(currentLeaderEpoch, out _, out _);

    /// <summary>
    /// The one leader check: UNKNOWN_TOPIC_OR_PARTITION when the partition is gone from the image,
    /// NOT_LEADER_OR_FOLLOWER when this node does not lead it or its log is not open, then the leader-epoch check of
    /// KIP-320 (<see cref="LeaderEpochError"/>). On None, <paramref name="log"/> and <paramref name="state"/> are the
    /// snapshot the caller works on.
    /// </summary>
    public ErrorCode CheckLeader(int currentLeaderEpoch, out PartitionLog? log, out PartitionImage? state)
    {
        state = _state;
        log = _log;
        if (state is null)
        {
            log = null;
            return ErrorCode.UnknownTopicOrPartition;
        }
        if (state.Leader != _nodeId || log is null)
        {
            log = null;
            return ErrorCode.NotLeaderOrFollower;
        }
        var error = LeaderEpochError(currentLeaderEpoch, state.LeaderEpoch);
        if (error != ErrorCode.None)
        {
            log = null;
        }
        return error;
    }

    /// <summary>
    /// The check for a consumer fetch that may be served by a follower (KIP-392): as <see cref="CheckLeader(int, out PartitionLog?, out PartitionImage?)"/>
    /// but any replica on this node with its log open passes (NOT_LEADER_OR_FOLLOWER otherwise), then the same leader-epoch check.
    /// </summary>
    public ErrorCode CheckReplica(int currentLeaderEpoch, out PartitionLog? log, out PartitionImage? state)
    {
        state = _state;
        log = _log;
        if (state is null)
        {
            log = null;
            return ErrorCode.UnknownTopicOrPartition;
        }
        if (!state.Replicas.Contains(_nodeId) || log is null)
        {
            log = null;
            return ErrorCode.NotLeaderOrFollower;
        }
        var error = LeaderEpochError(currentLeaderEpoch, state.LeaderEpoch);
        if (error != ErrorCode.None)
        {
            log = null;
        }
        return error;
    }

    /// <summary>
    /// KIP-392's <c>RackAwareReplicaSelector</c>, run by the leader: for a consumer in <paramref name="clientRack"/>,
    /// the replica in that rack that holds <paramref name="fetchOffset"/> (this leader when it is there, else the
    /// follower furthest ahead); -1 when none is, or it is this leader.
    /// </summary>
    public int PreferredReadReplica(string clientRack, long fetchOffset, Func<int, string?> rackOf)
    {
        if (rackOf(_nodeId) == clientRack)
        {
            return -1;
        }
        lock (_leaderLock)
        {
            var state = _state;
            if (state is null)
            {
                return -1;
            }
            var best = _followers.Values
                .Where(f => state.Isr.Contains(f.BrokerId) && f.LogEndOffset >= fetchOffset && f.LogStartOffset <= fetchOffset && rackOf(f.BrokerId) == clientRack)
                .MaxBy(f => f.LogEndOffset);
            return best?.BrokerId ?? -1;
        }
    }

    /// <summary>
    /// KIP-320: a client's current leader epoch (-1: not checked) newer than the partition's is UNKNOWN_LEADER_EPOCH
    /// (this broker is behind), older FENCED_LEADER_EPOCH.
    /// </summary>
    public static ErrorCode LeaderEpochError(int currentLeaderEpoch, int leaderEpoch) =>
        currentLeaderEpoch < 0 || currentLeaderEpoch == leaderEpoch ? ErrorCode.None
        : currentLeaderEpoch < leaderEpoch ? ErrorCode.FencedLeaderEpoch
        : ErrorCode.UnknownLeaderEpoch;

    /// <summary>
    /// Appends one batch as leader (offsets and <paramref name="state"/>'s leader epoch patched in place) and applies
    /// the high-watermark rule. The caller has checked leadership and passes the snapshot it got from
    /// <see cref="CheckLeader(int, out PartitionLog?, out PartitionImage?)"/>; storage refusals are thrown.
    /// </summary>
    public LogAppendInfo AppendRecordsToLeader(PartitionLog log, PartitionImage state, Span<byte> records, AppendOrigin origin)
    {
        var info = log.Append(records, state.LeaderEpoch, origin);
        MaybeIncrementHighWatermark(log, state);
        return info;
    }

    /// <summary>
    /// The high-watermark rule: the smallest log end offset in the (maximal) ISR, this leader's included; it only
    /// moves forward. With this node alone in the ISR that is its own log end offset; with followers it moves as
    /// their fetches report their log end offsets. True when it moved.
    /// </summary>
    public bool MaybeIncrementHighWatermark(PartitionLog log, PartitionImage state)
    {
        if (HighWatermarkIsLogEnd(state, _nodeId))
        {
            // The common single-replica case, without the lock.
            var before = log.HighWatermark;
            log.UpdateHighWatermark(log.LogEndOffset);
            return log.HighWatermark > before;
        }
        lock (_leaderLock)
        {
            return MaybeIncrementHighWatermarkLocked(log, state);
        }
    }

    private bool MaybeIncrementHighWatermarkLocked(PartitionLog log, PartitionImage state)
    {
        if (state.Leader != _nodeId || _leaderStateEpoch != state.LeaderEpoch)
        {
            return false;
        }
        var newHighWatermark = log.LogEndOffset;
        foreach (var member in MaximalIsrLocked(state))
        {
            if (member == _nodeId)
            {
                continue;
            }
            // A member this leader has not heard from yet holds the high watermark where it is.
            var followerEnd = _followers.TryGetValue(member, out var follower) ? follower.LogEndOffset : -1;
            newHighWatermark = Math.Min(newHighWatermark, followerEnd < 0 ? log.HighWatermark : followerEnd);
        }
        if (newHighWatermark <= log.HighWatermark)
        {
            return false;
        }
        log.UpdateHighWatermark(newHighWatermark);
        return true;
    }

    /// <summary>
    /// A follower's fetch reached this leader (Kafka's <c>updateFollowerFetchState</c>): it holds everything below
    /// <paramref name="fetchOffset"/>. Updates its log end offset and caught-up time (caught up when it fetched from
    /// the leader's log end, or from where the log ended at its previous fetch), moves the high watermark, and
    /// proposes adding it to the ISR once it has reached the high watermark within this leader's epoch. Null when
    /// <paramref name="replicaId"/> is not a follower of this partition (or this node no longer leads it).
    /// </summary>
    public FollowerFetchOutcome? UpdateFollowerFetchState(int replicaId, long brokerEpoch, long fetchOffset, long followerLogStartOffset)
    {
        lock (_leaderLock)
        {
            var state = _state;
            var log = _log;
            if (state is null || log is null || state.Leader != _nodeId || _leaderStateEpoch != state.LeaderEpoch
                || !_followers.TryGetValue(replicaId, out var follower))
            {
                return null;
            }
            var now = NowMs;
            var leaderEnd = log.LogEndOffset;
            if (fetchOffset >= leaderEnd)
            {
                follower.LastCaughtUpTimeMs = Math.Max(follower.LastCaughtUpTimeMs, now);
            }
            else if (fetchOffset >= follower.LastFetchLeaderLogEndOffset && follower.LastFetchLeaderLogEndOffset >= 0)
            {
                follower.LastCaughtUpTimeMs = Math.Max(follower.LastCaughtUpTimeMs, follower.LastFetchTimeMs);
            }
            follower.LogEndOffset = fetchOffset;
            follower.LogStartOffset = followerLogStartOffset;
            follower.LastFetchLeaderLogEndOffset = leaderEnd;
            follower.LastFetchTimeMs = now;
            if (brokerEpoch >= 0)
            {
                follower.BrokerEpoch = brokerEpoch;
            }
            var moved = MaybeIncrementHighWatermarkLocked(log, state);
            IsrChange? expand = null;
            if (_pendingIsr is null && now >= _noIsrChangeBeforeMs && !state.Isr.Contains(replicaId) && fetchOffset >= log.HighWatermark
                && fetchOffset >= _leaderEpochStartOffset && _settings.IsEligible(replicaId))
            {
                expand = ProposeIsrLocked(state, [.. state.Isr, replicaId]);
            }
            return new FollowerFetchOutcome(moved, expand);
        }
    }

    /// <summary>
    /// The ISR members that have not caught up within <c>replica.lag.time.max.ms</c> leave it (Kafka's
    /// <c>maybeShrinkIsr</c>, run on a schedule); the leader always stays. Null when nothing is to change or a change is
    /// already in flight.
    /// </summary>
    public IsrChange? MaybeShrinkIsr()
    {
        lock (_leaderLock)
        {
            var state = _state;
            var log = _log;
            var now = NowMs;
            if (state is null || log is null || state.Leader != _nodeId || _leaderStateEpoch != state.LeaderEpoch || _pendingIsr is not null
                || now < _noIsrChangeBeforeMs)
            {
                return null;
            }
            var leaderEnd = log.LogEndOffset;
            var lagging = state.Isr.Where(id => id != _nodeId && _followers.TryGetValue(id, out var f)
                && f.LogEndOffset != leaderEnd && now - f.LastCaughtUpTimeMs > _settings.ReplicaLagTimeMaxMs).ToList();
            return lagging.Count == 0 ? null : ProposeIsrLocked(state, [.. state.Isr.Where(id => !lagging.Contains(id))]);
        }
    }

    /// <summary>
    /// After an unclean election this leader leads a RECOVERING partition; its log is the truth from now on, so it
    /// tells the controller the recovery is done (Kafka's KRaft leaders do so at once: no log recovery to wait for)
    /// with the ISR unchanged. Null when there is nothing to do or a change is in flight.
    /// </summary>
    public IsrChange? MaybeCompleteRecovery()
    {
        lock (_leaderLock)
        {
            var state = _state;
            if (state is null || _log is null || state.Leader != _nodeId || _leaderStateEpoch != state.LeaderEpoch || _pendingIsr is not null
                || state.LeaderRecoveryState != PartitionImage.Recovering || NowMs < _noIsrChangeBeforeMs)
            {
                return null;
            }
            return ProposeIsrLocked(state, [.. state.Isr]);
        }
    }

    private IsrChange ProposeIsrLocked(PartitionImage state, List<int> newIsr)
    {
        var change = new IsrChange(this, state.LeaderEpoch, state.PartitionEpoch,
            [.. newIsr.Select(id => (id, id == _nodeId ? _settings.BrokerEpoch() : _followers.GetValueOrDefault(id)?.BrokerEpoch ?? -1))]);
        _pendingIsr = change;
        return change;
    }

    /// <summary>
    /// Runs a follower's change to the log (append, truncation) while this node follows in <paramref name="leaderEpoch"/>,
    /// under the lock that becoming leader takes, so no follower write lands after this node started leading. False
    /// (nothing run) when it leads, the epoch moved on, or the log is not open.
    /// </summary>
    public bool RunAsFollower(int leaderEpoch, Action<PartitionLog> change)
    {
        lock (_leaderLock)
        {
            var state = _state;
            var log = _log;
            if (state is null || log is null || state.Leader == _nodeId || state.LeaderEpoch != leaderEpoch)
            {
                return false;
            }
            change(log);
            return true;
        }
    }

    /// <summary>
    /// The controller refused or never answered <paramref name="change"/>: a later fetch or check may propose again,
    /// after a short back-off so a refusing controller is not asked on every fetch.
    /// </summary>
    public void IsrChangeFailed(IsrChange change)
    {
        lock (_leaderLock)
        {
            if (ReferenceEquals(_pendingIsr, change))
            {
                _pendingIsr = null;
                _noIsrChangeBeforeMs = NowMs + IsrChangeRetryBackoffMs;
            }
        }
    }

    /// <summary>How long a leader waits after a failed ISR change before proposing another.</summary>
    public const long IsrChangeRetryBackoffMs = 100;

    /// <summary>
    /// Whether an acks=all append is done (Kafka's <c>checkEnoughReplicasReachOffset</c>): null while it waits; NONE
    /// once the high watermark passed <paramref name="requiredOffset"/> with at least <paramref name="minInSyncReplicas"/>
    /// in the ISR, NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below that meanwhile; NOT_LEADER_OR_FOLLOWER
    /// when this node stopped leading in the epoch of the append (what it wrote may be truncated, so it is never acknowledged).
    /// </summary>
    public ErrorCode? AcksAllOutcome(PartitionLog log, int leaderEpoch, long requiredOffset, int minInSyncReplicas)
    {
        var state = _state;
        if (state is null || state.Leader != _nodeId || state.LeaderEpoch != leaderEpoch || !ReferenceEquals(_log, log))
        {
            return ErrorCode.NotLeaderOrFollower;
        }
        if (log.HighWatermark < requiredOffset)
        {
            return null;
        }
        return state.Isr.Length < minInSyncReplicas ? ErrorCode.NotEnoughReplicasAfterAppend : ErrorCode.None;
    }

    /// <summary>True when <paramref name="nodeId"/> is the whole ISR, so its log end offset is the high watermark.</summary>
    public static bool HighWatermarkIsLogEnd(PartitionImage state, int nodeId) => state.Isr.Length == 1 && state.Isr[0] == nodeId;

    /// <summary>Reads from <paramref name="offset"/> up to the isolation's bound (the caller has checked leadership).</summary>
    public LogReadInfo Read(PartitionLog log, long offset, int maxBytes, FetchIsolation isolation, bool minOneMessage = true) =>
        log.Read(offset, maxBytes, isolation, minOneMessage);

    /// <summary>ListOffsets' visible bound: the last stable offset under read_committed, the high watermark otherwise.</summary>
    public long VisibleOffset(PartitionLog log, bool readCommitted) => readCommitted ? log.LastStableOffset : log.HighWatermark;

    /// <summary>The offset of the first record at or after <paramref name="timestamp"/>, from the log's time index.</summary>
    public TimestampAndOffset? FetchOffsetForTimestamp(PartitionLog log, long timestamp) => log.OffsetForTimestamp(timestamp);

    /// <summary>DeleteRecords on the leader: moves the log start offset up to <paramref name="offset"/>; the new log start offset.</summary>
    public long DeleteRecordsOnLeader(PartitionLog log, long offset) => log.DeleteRecordsBefore(offset);

    /// <summary>OffsetForLeaderEpoch: the end offset of <paramref name="leaderEpoch"/> and the largest epoch at or below it; (-1, -1) when unknown.</summary>
    public (int LeaderEpoch, long EndOffset) LastOffsetForLeaderEpoch(PartitionLog log, int leaderEpoch)
    {
        var (foundEpoch, endOffset) = log.LeaderEpochCache.EndOffsetFor(leaderEpoch, log.LogEndOffset);
        return endOffset < 0 ? (-1, -1L) : (foundEpoch, endOffset);
    }
}

/// <summary>
/// The partitions this node hosts (replicas on this node in the current image), one <see cref="Partition"/> each,
/// kept in step with the metadata image and the log manager by <c>LogMetadataPublisher</c>. Lookups are lock-free; changes
/// (an image applied, a log opened) take <c>_lock</c> and re-read the current image inside it, so they never go back in time.
/// </summary>
public sealed class PartitionRegistry(MetadataCache metadata, Func<TopicPartition, PartitionLog?> openLog, int nodeId, ReplicationSettings? settings = null)
{
    private readonly ConcurrentDictionary<TopicPartition, Partition> _partitions = new();
    private readonly Lock _lock = new();
    private MetadataImage? _applied;

    public int NodeId => nodeId;

    public int Count => _partitions.Count;

    /// <summary>Every hosted partition.</summary>
    public ICollection<Partition> All => _partitions.Values;

    /// <summary>Raised after the hosted partitions changed (an image applied, a log opened), outside the registry's lock.</summary>
    public event Action? Changed;

    /// <summary>The hosted partition, or null when this node does not host it.</summary>
    public Partition? Get(string topic, int partition) => _partitions.GetValueOrDefault(new TopicPartition(topic, partition));

    /// <summary>
    /// The hosted partition, or why there is none: UNKNOWN_TOPIC_OR_PARTITION when the image does not have it,
    /// NOT_LEADER_OR_FOLLOWER when it is on other nodes only (Kafka's <c>getPartitionOrError</c>).
    /// </summary>
    public (Partition? Partition, ErrorCode Error) GetOrError(string topic, int partition)
    {
        if (Get(topic, partition) is { } hosted)
        {
            return (hosted, ErrorCode.None);
        }
        return metadata.Current.Partition(topic, partition) is null ? (null, ErrorCode.UnknownTopicOrPartition) : (null, ErrorCode.NotLeaderOrFollower);
    }

    /// <summary>Brings the partitions in line with the current image: new ones added, states replaced, gone ones removed.</summary>
    public void Sync()
    {
        if (SyncLocked())
        {
            Changed?.Invoke();
        }
    }

    private bool SyncLocked()
    {
        lock (_lock)
        {
            var image = metadata.Current;
            if (ReferenceEquals(image, _applied))
            {
                return false;
            }
            _applied = image;
            foreach (var (tp, partition) in _partitions)
            {
                var now = image.Topics.GetValueOrDefault(tp.Topic) is { } topic && topic.TopicId == partition.TopicId && topic.HasPartition(tp.Partition)
                    ? topic.Partitions[tp.Partition]
                    : null;
                if (now is null || !now.Replicas.Contains(nodeId))
                {
                    // Gone (deleted, recreated under a new id) or moved away: holders of the object see it too.
                    partition.SetLog(null);
                    partition.SetState(now is null ? null : image.Partition(tp.Topic, tp.Partition));
                    _partitions.TryRemove(new KeyValuePair<TopicPartition, Partition>(tp, partition));
                    continue;
                }
                partition.SetState(now);
            }
            foreach (var topic in image.Topics.Values)
            {
                foreach (var state in topic.Partitions)
                {
                    if (!state.Replicas.Contains(nodeId))
                    {
                        continue;
                    }
                    var tp = new TopicPartition(topic.Name, state.PartitionIndex);
                    if (!_partitions.ContainsKey(tp))
                    {
                        var log = openLog(tp) is { } open && open.TopicId == topic.TopicId ? open : null;
                        _partitions[tp] = new Partition(topic.Name, state.PartitionIndex, topic.TopicId, nodeId, state, log, settings);
                    }
                }
            }
            return true;
        }
    }

    /// <summary>A log was opened: the partition of the same topic id holds it from now on.</summary>
    public void Opened(PartitionLog log)
    {
        lock (_lock)
        {
            if (!_partitions.TryGetValue(log.TopicPartition, out var partition) || partition.TopicId != log.TopicId)
            {
                return;
            }
            partition.SetLog(log);
        }
        Changed?.Invoke();
    }
}

/// <summary>What a partition's leader needs to know beyond its image: the clock, the lag limit, this broker's epoch,
/// and which brokers may join an ISR (registered, unfenced, not shutting down: KIP-841).</summary>
public sealed record ReplicationSettings
{
    public static readonly ReplicationSettings Default = new();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary><c>replica.lag.time.max.ms</c>.</summary>
    public long ReplicaLagTimeMaxMs { get; init; } = 30_000;

    /// <summary>This broker's epoch (KIP-903), -1 when it has none (a combined single node).</summary>
    public Func<long> BrokerEpoch { get; init; } = () => -1;

    public Func<int, bool> IsEligible { get; init; } = _ => true;
}

/// <summary>A follower as its leader sees it (Kafka's <c>Replica</c> state), changed under the partition's leader lock.</summary>
public sealed class FollowerReplica(int brokerId)
{
    public int BrokerId => brokerId;

    /// <summary>From its last fetch: it holds every offset below this; -1 before it fetched from this leader.</summary>
    public long LogEndOffset { get; internal set; } = -1;

    public long LogStartOffset { get; internal set; } = -1;

    public long LastCaughtUpTimeMs { get; internal set; }

    public long LastFetchTimeMs { get; internal set; }

    /// <summary>The leader's log end offset at the follower's last fetch.</summary>
    public long LastFetchLeaderLogEndOffset { get; internal set; } = -1;

    /// <summary>The broker epoch its fetches carry (Fetch v15+), -1 when unknown.</summary>
    public long BrokerEpoch { get; internal set; } = -1;
}

/// <summary>An ISR change a leader proposes to the controller (AlterPartition), made from its state at <see cref="LeaderEpoch"/>/<see cref="PartitionEpoch"/>.</summary>
public sealed record IsrChange(Partition Partition, int LeaderEpoch, int PartitionEpoch, IReadOnlyList<(int BrokerId, long BrokerEpoch)> NewIsr);

/// <summary>What a follower's fetch changed: the high watermark moved, and an ISR expansion to propose.</summary>
public readonly record struct FollowerFetchOutcome(bool HighWatermarkMoved, IsrChange? Expand);
