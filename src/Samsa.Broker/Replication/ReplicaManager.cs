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

    public ReplicaManager(MetadataCache metadata, LogMetadataPublisher logs, ConfigDescriber configs, TimeProvider time, ILogger logger)
    {
        _metadata = metadata;
        _logs = logs;
        _configs = configs;
        _logger = logger;
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
        if (requiredAcks == -1 && MinInSyncReplicas(_metadata.Current, topic) is var minIsr && state.Isr.Length < minIsr)
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
        CompleteDelayedRequests(log.TopicPartition);
        return new AppendResult(ErrorCode.None, null, info, log);
    }

    /// <summary>
    /// A topic's effective <c>min.insync.replicas</c>, worked out once per topic and metadata image: describing the
    /// topic's configs is far too much work to repeat on every acks=all append, and the image only changes by
    /// being replaced.
    /// </summary>
    private int MinInSyncReplicas(MetadataImage image, string topic)
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

    /// <summary>Wakes the fetches and produces waiting on a partition whose log end or high watermark moved.</summary>
    public void CompleteDelayedRequests(TopicPartition key)
    {
        FetchPurgatory.CheckAndComplete(key);
        ProducePurgatory.CheckAndComplete(key);
    }

    public void Dispose()
    {
        ProducePurgatory.Dispose();
        FetchPurgatory.Dispose();
    }
}

/// <summary>A led partition with the log and leadership state its leader check saw, or the error (then all null).</summary>
public readonly record struct LeaderLookup(Partition? Partition, PartitionLog? Log, PartitionImage? State, ErrorCode Error);

public readonly record struct AppendResult(ErrorCode Error, string? Message, LogAppendInfo Info, PartitionLog? Log)
{
    /// <summary>The records that made the log refuse the batch (INVALID_RECORD / INVALID_TIMESTAMP), for Produce v8+.</summary>
    public IReadOnlyList<RecordError> RecordErrors { get; init; } = [];

    public static AppendResult Failed(ErrorCode error, string? message = null) => new(error, message, default, null);
}

/// <summary>
/// A produce with acks=all waiting until the high watermark covers every partition's last appended offset, or
/// its timeout (REQUEST_TIMED_OUT for the partitions not yet covered).
/// </summary>
public sealed class DelayedProduce(TimeSpan timeout, IReadOnlyList<(PartitionLog Log, long RequiredOffset)> partitions) : DelayedOperation(timeout)
{
    private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True when every partition was covered; false when the operation timed out.</summary>
    public Task<bool> Completion => _done.Task;

    private bool AllCovered() => partitions.All(p => p.Log.HighWatermark >= p.RequiredOffset);

    public override bool TryComplete() => AllCovered() && ForceComplete();

    protected override void OnComplete() => _done.TrySetResult(AllCovered());
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
