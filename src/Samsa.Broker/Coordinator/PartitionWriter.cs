using Samsa.Broker.Log;
using Samsa.Broker.Replication;
using Samsa.Protocol;
using Samsa.Storage;

namespace Samsa.Broker.Coordinator;

/// <summary>
/// The coordinator runtime's access to its internal topic's partitions (Kafka's <c>PartitionWriter</c>, with the
/// loader's read side, Kafka's <c>CoordinatorLoader</c>, beside it): append as the leader, wait for the high
/// watermark, and read a partition from its log start while loading.
/// </summary>
public interface IPartitionWriter
{
    /// <summary>
    /// Appends one record batch to the partition as its leader (acks=all), as the coordinator
    /// (<see cref="AppendOrigin.Coordinator"/>: transaction markers allowed, producer batches checked for the epoch
    /// only); the offset after it, or the error.
    /// </summary>
    (ErrorCode Error, long EndOffset) Append(string topic, int partition, ReadOnlyMemory<byte> batch);

    /// <summary>
    /// Completes with None when the partition's high watermark reaches <paramref name="endOffset"/>, with
    /// REQUEST_TIMED_OUT after <paramref name="timeout"/>, or NOT_LEADER_OR_FOLLOWER when the partition is not here.
    /// </summary>
    Task<ErrorCode> WaitForCommitAsync(string topic, int partition, long endOffset, TimeSpan timeout);

    /// <summary>The partition's log once this broker has opened it (logs open in the background).</summary>
    Task<ICoordinatorLogReader> OpenForLoadAsync(string topic, int partition, Uuid topicId, CancellationToken cancellationToken);

    /// <summary>Asks for the partition's log to be opened before others still waiting (a client is waiting on it).</summary>
    void OpenAhead(string topic, int partition);
}

/// <summary>What loading reads: the log's bounds and whole batches from an offset.</summary>
public interface ICoordinatorLogReader
{
    long LogStartOffset { get; }

    long LogEndOffset { get; }

    /// <summary>Whole batches from the one holding <paramref name="offset"/>, up to about <paramref name="maxBytes"/> (at least one batch).</summary>
    ReadOnlyMemory<byte> Read(long offset, int maxBytes);
}

/// <summary>
/// <see cref="IPartitionWriter"/> over this broker's replicas: appends through <see cref="ReplicaManager"/> and the
/// partition's <see cref="Samsa.Broker.Cluster.Partition"/> (so the leader check and ISR rules of a produce apply), waits with a <see cref="DelayedProduce"/> in the produce
/// purgatory (completed when followers advance the high watermark), and reads logs opened by
/// <see cref="LogMetadataPublisher"/>.
/// </summary>
public sealed class ReplicaPartitionWriter(ReplicaManager replicas, LogMetadataPublisher logs) : IPartitionWriter
{
    public (ErrorCode Error, long EndOffset) Append(string topic, int partition, ReadOnlyMemory<byte> batch)
    {
        var result = replicas.Append(topic, partition, batch, requiredAcks: -1, internalTopicsAllowed: true, AppendOrigin.Coordinator);
        return result.Error == ErrorCode.None ? (ErrorCode.None, result.Info.LastOffset + 1) : (result.Error, -1);
    }

    public async Task<ErrorCode> WaitForCommitAsync(string topic, int partition, long endOffset, TimeSpan timeout)
    {
        // Committed only while this node still leads in the epoch it appended in: a write whose leader moved may be
        // truncated by the next leader, so it fails (and the coordinator reverts it) rather than wait on a high
        // watermark that would then count someone else's records.
        var lookup = replicas.LeaderLog(topic, partition);
        if (lookup.Log is not { } log)
        {
            return ErrorCode.NotLeaderOrFollower;
        }
        var wait = new AcksAllWait(lookup.Partition!, log, lookup.State!.LeaderEpoch, endOffset, replicas.MinInSyncReplicas(replicas.Metadata.Current, topic));
        if (wait.Outcome() is { } decided)
        {
            return decided;
        }
        var delayed = new DelayedProduce(timeout, [wait]);
        replicas.ProducePurgatory.TryCompleteElseWatch(delayed, [log.TopicPartition]);
        return (await delayed.Completion)[0];
    }

    public async Task<ICoordinatorLogReader> OpenForLoadAsync(string topic, int partition, Uuid topicId, CancellationToken cancellationToken) =>
        new Reader(await logs.WhenOpenedAsync(topic, partition, topicId, cancellationToken));

    public void OpenAhead(string topic, int partition) => logs.OpenAhead(topic, partition);

    private sealed class Reader(PartitionLog log) : ICoordinatorLogReader
    {
        public long LogStartOffset => log.LogStartOffset;

        public long LogEndOffset => log.LogEndOffset;

        public ReadOnlyMemory<byte> Read(long offset, int maxBytes) => log.Read(offset, maxBytes, FetchIsolation.LogEnd).Records.ToArray();
    }
}
