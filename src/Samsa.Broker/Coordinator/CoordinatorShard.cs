using Samsa.Metadata.Image;
using Samsa.Protocol;

namespace Samsa.Broker.Coordinator;

/// <summary>Lifecycle of a shard: loading its partition, serving, or gone (leadership lost, broker stopping).</summary>
public enum CoordinatorState
{
    Loading,
    Active,
    Closed,
}

/// <summary>
/// The state kept for one partition of a coordinator's internal topic (Kafka's <c>CoordinatorShard</c>): the
/// runtime creates one per led partition, replays the partition into it while loading, and replays the records of
/// each write into it before appending them, recording how to undo each change in the write's
/// <see cref="CoordinatorChanges"/>. Every call is made under the shard's <see cref="CoordinatorContext{TRecord}.SyncRoot"/>.
/// </summary>
public interface ICoordinatorShard<TRecord>
{
    /// <summary>The runtime's per-partition part: lock, state, and the write path.</summary>
    CoordinatorContext<TRecord> Context { get; }

    /// <summary>
    /// Applies one record. <paramref name="changes"/> is null while loading (nothing to undo: the record is
    /// committed) and set on the live path, where every change must register its undo there.
    /// </summary>
    void Replay(TRecord record, CoordinatorChanges? changes);

    /// <summary>Every record of the partition has been replayed; the shard serves from now on (timers start here).</summary>
    void OnLoaded(long records, MetadataImage? image);

    /// <summary>Leadership lost or broker stopping: waiting requests are failed and timers stop.</summary>
    void OnUnloaded();
}

/// <summary>
/// A shard that takes part in transactions (Kafka's <c>CoordinatorShard.replayEndTransactionMarker</c> and the
/// producer id/epoch its <c>replay</c> receives): records written inside a producer's transaction are held apart
/// until the transaction's marker says whether they count. The loader hands it transactional batches' records and
/// transaction markers; the runtime's transactional write and completion replay into it. Every call is made under
/// the shard's <see cref="CoordinatorContext{TRecord}.SyncRoot"/>, with <c>changes</c> null while loading.
/// </summary>
public interface ITransactionalCoordinatorShard<TRecord> : ICoordinatorShard<TRecord>
{
    /// <summary>Applies one record written in the transaction of (<paramref name="producerId"/>, <paramref name="producerEpoch"/>).</summary>
    void ReplayTransactional(long producerId, short producerEpoch, TRecord record, CoordinatorChanges? changes);

    /// <summary>The producer's transaction ended: its records count (<paramref name="commit"/>) or are dropped.</summary>
    void ReplayEndTransactionMarker(long producerId, short producerEpoch, bool commit, CoordinatorChanges? changes);
}

/// <summary>Key and value bytes of a coordinator record (Kafka's <c>Serializer</c>/<c>Deserializer</c> pair).</summary>
public interface ICoordinatorSerde<TRecord>
{
    /// <summary>The record's key and value (null for a tombstone).</summary>
    (byte[] Key, byte[]? Value) Serialize(TRecord record);

    /// <summary>The record read back from the log, or null for a key type this coordinator does not know (skipped).</summary>
    TRecord? Deserialize(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull);
}

/// <summary>
/// Where a shard's records go, in records rather than bytes: the runtime implements it over
/// <see cref="IPartitionWriter"/> and a serde; tests of a shard alone give it an in-memory list.
/// </summary>
public interface ICoordinatorLog<TRecord>
{
    /// <summary>Appends records to the partition as its leader; returns the offset after the last one, or the append's error.</summary>
    (ErrorCode Error, long EndOffset) Append(int partition, IReadOnlyList<TRecord> records);

    /// <summary>Completes when the high watermark reaches <paramref name="endOffset"/> (None) or with the error that ends the wait.</summary>
    Task<ErrorCode> WaitForCommitAsync(int partition, long endOffset);

    /// <summary>
    /// Appends records as ONE transactional batch of the producer (Kafka's runtime: <c>isTransactional</c>, base
    /// sequence 0; the log checks only the producer epoch of a coordinator's append). The default refuses: a log that
    /// only ever holds plain writes need not implement it.
    /// </summary>
    (ErrorCode Error, long EndOffset) AppendTransactional(int partition, long producerId, short producerEpoch, IReadOnlyList<TRecord> records) =>
        throw new NotSupportedException("This coordinator log does not write transactional records");

    /// <summary>Appends the control batch ending the producer's transaction (commit or abort) with the coordinator epoch.</summary>
    (ErrorCode Error, long EndOffset) AppendEndTransactionMarker(int partition, long producerId, short producerEpoch, int coordinatorEpoch, bool commit) =>
        throw new NotSupportedException("This coordinator log does not write transaction markers");
}

/// <summary>
/// What a write operation returns (Kafka's <c>CoordinatorResult</c>): the records to append, the response to send
/// once they commit, and whether the runtime replays the records into the shard (true) or the operation already
/// changed the shard itself (false: Kafka's <c>replayRecords=false</c>, used where the in-memory state holds more
/// than the record; such changes are not reverted by the runtime).
/// </summary>
public sealed record CoordinatorResult<TResponse, TRecord>(IReadOnlyList<TRecord> Records, TResponse Response, bool ReplayRecords = true)
{
    /// <summary>A response with nothing to write.</summary>
    public static CoordinatorResult<TResponse, TRecord> Of(TResponse response) => new([], response);
}
