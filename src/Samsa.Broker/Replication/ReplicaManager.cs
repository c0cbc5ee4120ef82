using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Cluster;
using Samsa.Broker.Config;
using Samsa.Broker.Log;
using Samsa.Metadata;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Storage;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Replication;

/// <summary>
/// The leader side of Kafka's <c>ReplicaManager</c>: appends produced batches to the partitions this node leads,
/// advances the high watermark, reads for fetches, and owns the two purgatories where produces (acks=all) and
/// fetches (long poll) wait. Every append wakes the operations watched on its partition, so a waiting fetch
/// is answered by the append that satisfies it.
/// </summary>
/// <remarks>
/// On one node the ISR is this node alone, so the high watermark follows the log end offset right after each
/// append (<see cref="Partition.MaybeIncrementHighWatermark"/>); with followers it will move when they fetch.
/// Partitions are found through <see cref="GetPartition"/> / <see cref="LeaderLog"/>, one <see cref="Partition"/> each.
/// </remarks>
public sealed class ReplicaManager : IDisposable
{
    private readonly MetadataCache _metadata;
    private readonly LogMetadataPublisher _logs;
    private readonly ConfigDescriber _configs;
    private readonly ILogger _logger;
    private readonly RateLimitedLog _storageErrors;
    private readonly TimeProvider _time;

    public ReplicaManager(MetadataCache metadata, LogMetadataPublisher logs, ConfigDescriber configs, TimeProvider time, ILogger logger)
    {
        _metadata = metadata;
        _logs = logs;
        _configs = configs;
        _logger = logger;
        _time = time;
        _storageErrors = new RateLimitedLog(time, TimeSpan.FromSeconds(10));
        ProducePurgatory = new DelayedOperationPurgatory<TopicPartition, DelayedProduce>("Produce", time);
        FetchPurgatory = new DelayedOperationPurgatory<TopicPartition, DelayedFetch>("Fetch", time);
    }

    public DelayedOperationPurgatory<TopicPartition, DelayedProduce> ProducePurgatory { get; }

    /// <summary>The metadata this manager reads leadership from.</summary>
    public MetadataCache Metadata => _metadata;

    public DelayedOperationPurgatory<TopicPartition, DelayedFetch> FetchPurgatory { get; }

    /// <summary>The partitions this node hosts.</summary>
    public PartitionRegistry Partitions => _logs.Partitions;

    /// <summary>
    /// The hosted partition, or why there is none (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER). Every
    /// partition request goes through it and then through <see cref="Partition.CheckLeader(int, out PartitionLog?, out PartitionImage?)"/>.
    /// </summary>
    public (Partition? Partition, ErrorCode Error) GetPartition(string topic, int partition) => _logs.Partitions.GetOrError(topic, partition);

    /// <summary>
    /// The log of a partition this node leads, with its leadership state, or the error a client gets instead: the
    /// partition lookup and its one leader and leader-epoch check (<paramref name="currentLeaderEpoch"/> -1: not checked).
    /// </summary>
    public LeaderLookup LeaderLog(string topic, int partition, int currentLeaderEpoch = -1)
    {
        var (hosted, error) = GetPartition(topic, partition);
        if (hosted is null)
        {
            return new LeaderLookup(null, null, null, error);
        }
        error = hosted.CheckLeader(currentLeaderEpoch, out var log, out var state);
        return new LeaderLookup(error == ErrorCode.None ? hosted : null, log, state, error);
    }

    /// <summary>
    /// The log a consumer fetch reads: the leader's, or with <paramref name="allowFollower"/> (Fetch v11+, KIP-392) any
    /// replica's on this node, which serves up to its own high watermark.
    /// </summary>
    public LeaderLookup ReadableLog(string topic, int partition, int currentLeaderEpoch, bool allowFollower)
    {
        if (!allowFollower)
        {
            return LeaderLog(topic, partition, currentLeaderEpoch);
        }
        var (hosted, error) = GetPartition(topic, partition);
        if (hosted is null)
        {
            return new LeaderLookup(null, null, null, error);
        }
        error = hosted.CheckReplica(currentLeaderEpoch, out var log, out var state);
        return new LeaderLookup(error == ErrorCode.None ? hosted : null, log, state, error);
    }

    /// <summary>The node's instruments: appends count towards BytesIn and MessagesIn of their topic.</summary>
    public Samsa.Broker.Metrics.BrokerMetrics? Metrics { get; init; }

    /// <summary><c>replica.selector.class</c> is set: leaders send consumers that name their rack to a replica in it (KIP-392).</summary>
    public bool SelectsReadReplicas { get; init; }

    /// <summary>A broker's rack from the image, null when it has none or is unknown.</summary>
    public string? RackOf(int brokerId) => _metadata.Current.Brokers.GetValueOrDefault(brokerId)?.Rack;

    /// <summary>
    /// Appends one partition's records as leader (validation, offsets and epoch patched in place), then advances
    /// the high watermark when the ISR allows and wakes waiting operations. Storage refusals come back as their
    /// Kafka error code. Clients may not write to internal topics (Kafka's <c>appendToLocalLog</c> with
    /// <c>internalTopicsAllowed=false</c>: INVALID_TOPIC_EXCEPTION); the coordinators pass
    /// <paramref name="internalTopicsAllowed"/> for their own records, and <see cref="AppendOrigin.Coordinator"/> for
    /// transaction markers, which a client may not write.
    /// </summary>
    public AppendResult Append(string topic, int partition, ReadOnlyMemory<byte> records, short requiredAcks, bool internalTopicsAllowed = false,
        AppendOrigin origin = AppendOrigin.Client)
    {
        if (!internalTopicsAllowed && (TopicName.IsInternal(topic) || topic == TopicName.ClusterMetadata))
        {
            return AppendResult.Failed(ErrorCode.InvalidTopicException, $"Cannot append to internal topic {topic}");
        }
        var lookup = LeaderLog(topic, partition);
        if (lookup.Log is not { } log)
        {
            return AppendResult.Failed(lookup.Error);
        }
        var state = lookup.State!;
        var minIsr = requiredAcks == -1 ? MinInSyncReplicas(_metadata.Current, topic) : 1;
        if (requiredAcks == -1 && state.Isr.Length < minIsr)
        {
            return AppendResult.Failed(ErrorCode.NotEnoughReplicas, $"The size of the current ISR {state.Isr.Length} is insufficient to satisfy the min.isr requirement of {minIsr} for partition {topic}-{partition}");
        }
        LogAppendInfo info;
        try
        {
            // The request buffer is ours (pooled, never shared): the log patches base offset and epoch into it.
            info = lookup.Partition!.AppendRecordsToLeader(log, state, MemoryMarshal.AsMemory(records).Span, origin);
        }
        catch (StorageException e)
        {
            ReplicationLog.AppendRefused(_logger, topic, partition, (ErrorCode)e.ErrorCode, e.Message);
            return AppendResult.Failed((ErrorCode)e.ErrorCode, e.Message) with { RecordErrors = e.RecordErrors };
        }
        catch (IOException e)
        {
            // Disk full or failing: with one log dir Kafka would take the dir offline and halt the broker. Samsa
            // refuses the write (the log is unchanged: a failed write never advances the segment or the log end),
            // keeps serving reads, and accepts writes again once space returns.
            if (_storageErrors.ShouldLog(out var suppressed))
            {
                ReplicationLog.StorageError(_logger, topic, partition, e.Message, suppressed);
            }
            return AppendResult.Failed(ErrorCode.KafkaStorageError, $"Append to {topic}-{partition} failed: {e.Message}");
        }
        // Kafka's BytesInPerSec / MessagesInPerSec: the appended batch's bytes and records (appendToLocalLog).
        Metrics?.RecordAppend(topic, records.Length, info.RecordCount);
        CompleteDelayedRequests(log.TopicPartition);
        return new AppendResult(ErrorCode.None, null, info, log) { Wait = new AcksAllWait(lookup.Partition!, log, state.LeaderEpoch, info.LastOffset + 1, minIsr) };
    }

    /// <summary>
    /// A topic's effective <c>min.insync.replicas</c>, worked out once per topic and metadata image: describing the
    /// topic's configs is far too much work to repeat on every acks=all append, and the image only changes by
    /// being replaced.
    /// </summary>
    public int MinInSyncReplicas(MetadataImage image, string topic)
    {
        var cache = Volatile.Read(ref _minIsr);
        if (!ReferenceEquals(cache.Image, image))
        {
            cache = new MinIsrCache(image, new());
            Volatile.Write(ref _minIsr, cache);
        }
        return cache.ByTopic.GetOrAdd(topic, t =>
            _configs.EffectiveTopicConfig(image, t).TryGetValue("min.insync.replicas", out var value) && int.TryParse(value, out var n) ? n : 1);
    }

    private sealed record MinIsrCache(MetadataImage? Image, System.Collections.Concurrent.ConcurrentDictionary<string, int> ByTopic);

    private MinIsrCache _minIsr = new(null, new());

    /// <summary>Where leaders' ISR changes go (the <see cref="AlterPartitionManager"/>); without one they are dropped.</summary>
    public Action<IsrChange>? IsrChanges { get; set; }

    /// <summary>
    /// A follower fetched <paramref name="partition"/> from <paramref name="fetchOffset"/>: its leader learns where
    /// it is, waiting produces complete when the high watermark moved, and an ISR expansion goes to the controller.
    /// False when the fetching broker is not a follower of this partition here.
    /// </summary>
    public bool UpdateFollowerFetchState(Partition partition, int replicaId, long brokerEpoch, long fetchOffset, long logStartOffset)
    {
        if (partition.UpdateFollowerFetchState(replicaId, brokerEpoch, fetchOffset, logStartOffset) is not { } outcome)
        {
            return false;
        }
        if (outcome.HighWatermarkMoved)
        {
            CompleteDelayedRequests(partition.TopicPartition);
        }
        if (outcome.Expand is { } change)
        {
            SubmitIsrChange(change);
        }
        return true;
    }

    /// <summary>Every led partition drops the followers that fell behind (Kafka's <c>isr-expiration</c> task).</summary>
    public void MaybeShrinkIsrs()
    {
        foreach (var partition in Partitions.All)
        {
            if (partition.IsLeader && partition.MaybeShrinkIsr() is { } change)
            {
                SubmitIsrChange(change);
            }
        }
    }

    private void SubmitIsrChange(IsrChange change)
    {
        if (IsrChanges is { } sink)
        {
            sink(change);
        }
        else
        {
            change.Partition.IsrChangeFailed(change);
        }
    }

    /// <summary>
    /// Leadership or ISR changed somewhere: waiting produces of partitions this node no longer leads fail, and high
    /// watermarks a smaller ISR allows complete the rest.
    /// </summary>
    public void OnPartitionsChanged()
    {
        foreach (var partition in Partitions.All)
        {
            CompleteDelayedRequests(partition.TopicPartition);
            if (partition.IsLeader && partition.MaybeCompleteRecovery() is { } recovered)
            {
                SubmitIsrChange(recovered);
            }
        }
    }

    /// <summary>Wakes the fetches and produces waiting on a partition whose log end or high watermark moved.</summary>
    public void CompleteDelayedRequests(TopicPartition key)
    {
        FetchPurgatory.CheckAndComplete(key);
        ProducePurgatory.CheckAndComplete(key);
    }

    private ITimer? _isrExpiration;

    /// <summary>Runs <see cref="MaybeShrinkIsrs"/> every <paramref name="period"/> (Kafka: half of <c>replica.lag.time.max.ms</c>).</summary>
    public void StartIsrExpiration(TimeSpan period) => _isrExpiration = _time.CreateTimer(_ => MaybeShrinkIsrs(), null, period, period);

    public void Dispose()
    {
        _isrExpiration?.Dispose();
        ProducePurgatory.Dispose();
        FetchPurgatory.Dispose();
    }
}

/// <summary>A led partition with the log and leadership state its leader check saw, or the error (then all null).</summary>
public readonly record struct LeaderLookup(Partition? Partition, PartitionLog? Log, PartitionImage? State, ErrorCode Error);

public readonly record struct AppendResult(ErrorCode Error, string? Message, LogAppendInfo Info, PartitionLog? Log)
{
    /// <summary>The acks=all wait for this append (after a successful one).</summary>
    public AcksAllWait Wait { get; init; }

    /// <summary>The records that made the log refuse the batch (INVALID_RECORD / INVALID_TIMESTAMP), for Produce v8+.</summary>
    public IReadOnlyList<RecordError> RecordErrors { get; init; } = [];

    public static AppendResult Failed(ErrorCode error, string? message = null) => new(error, message, default, null);
}

/// <summary>One partition of an acks=all write: the leader epoch it was appended in and the offset the high watermark must pass.</summary>
public readonly record struct AcksAllWait(Partition Partition, PartitionLog Log, int LeaderEpoch, long RequiredOffset, int MinInSyncReplicas)
{
    public ErrorCode? Outcome() => Partition.AcksAllOutcome(Log, LeaderEpoch, RequiredOffset, MinInSyncReplicas);
}

/// <summary>
/// A produce with acks=all waiting until every partition is decided (Kafka's <c>DelayedProduce</c>): the high
/// watermark passed its last appended offset (NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below
/// <c>min.insync.replicas</c>), or its leader lost the epoch it was appended in (NOT_LEADER_OR_FOLLOWER); at the
/// timeout the undecided ones are REQUEST_TIMED_OUT.
/// </summary>
public sealed class DelayedProduce(TimeSpan timeout, IReadOnlyList<AcksAllWait> partitions) : DelayedOperation(timeout)
{
    private readonly TaskCompletionSource<ErrorCode[]> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Each partition's outcome, in the order given.</summary>
    public Task<ErrorCode[]> Completion => _done.Task;

    public override bool TryComplete()
    {
        foreach (var wait in partitions)
        {
            if (wait.Outcome() is null)
            {
                return false;
            }
        }
        return ForceComplete();
    }

    protected override void OnComplete() => _done.TrySetResult([.. partitions.Select(w => w.Outcome() ?? ErrorCode.RequestTimedOut)]);
}

/// <summary>A fetch waiting for <c>min_bytes</c> to become readable on its partitions, or <c>max_wait_ms</c>.</summary>
public sealed class DelayedFetch(TimeSpan maxWait, int minBytes, Func<long> readableBytes) : DelayedOperation(maxWait)
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Completion => _done.Task;

    public override bool TryComplete() => readableBytes() >= minBytes && ForceComplete();

    protected override void OnComplete() => _done.TrySetResult();
}

/// <summary>Replication log lines; event ids 500-519 are stable.</summary>
internal static partial class ReplicationLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "Append to {Topic}-{Partition} refused with {Error}: {Reason}")]
    public static partial void AppendRefused(ILogger logger, string topic, int partition, ErrorCode error, string reason);

    [LoggerMessage(EventId = 501, Level = LogLevel.Error, Message = "Append to {Topic}-{Partition} failed with KAFKA_STORAGE_ERROR: {Reason} ({Suppressed} more storage errors since the last line)")]
    public static partial void StorageError(ILogger logger, string topic, int partition, string reason, long suppressed);
}
