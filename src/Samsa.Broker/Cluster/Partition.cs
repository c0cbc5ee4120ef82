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
/// </remarks>
public sealed class Partition
{
    private readonly int _nodeId;
    private volatile PartitionImage? _state;
    private volatile PartitionLog? _log;

    public Partition(string topic, int partition, Uuid topicId, int nodeId, PartitionImage? state, PartitionLog? log = null)
    {
        Topic = topic;
        Index = partition;
        TopicId = topicId;
        TopicPartition = new TopicPartition(topic, partition);
        _nodeId = nodeId;
        _state = state;
        _log = log;
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

    internal void SetState(PartitionImage? state) => _state = state;

    internal void SetLog(PartitionLog? log) => _log = log;

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
    /// The high-watermark rule: the smallest log end offset in the ISR. With this node alone in the ISR that is its
    /// own log end offset; with followers it will move when they fetch.
    /// </summary>
    public void MaybeIncrementHighWatermark(PartitionLog log, PartitionImage state)
    {
        if (HighWatermarkIsLogEnd(state, _nodeId))
        {
            log.UpdateHighWatermark(log.LogEndOffset);
        }
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
public sealed class PartitionRegistry(MetadataCache metadata, Func<TopicPartition, PartitionLog?> openLog, int nodeId)
{
    private readonly ConcurrentDictionary<TopicPartition, Partition> _partitions = new();
    private readonly Lock _lock = new();
    private MetadataImage? _applied;

    public int NodeId => nodeId;

    public int Count => _partitions.Count;

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
        lock (_lock)
        {
            var image = metadata.Current;
            if (ReferenceEquals(image, _applied))
            {
                return;
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
                        _partitions[tp] = new Partition(topic.Name, state.PartitionIndex, topic.TopicId, nodeId, state, log);
                    }
                }
            }
        }
    }

    /// <summary>A log was opened: the partition of the same topic id holds it from now on.</summary>
    public void Opened(PartitionLog log)
    {
        lock (_lock)
        {
            if (_partitions.TryGetValue(log.TopicPartition, out var partition) && partition.TopicId == log.TopicId)
            {
                partition.SetLog(log);
            }
        }
    }
}
