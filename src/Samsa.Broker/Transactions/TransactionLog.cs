using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.TransactionCoordinatorRecords;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Transactions;

/// <summary>
/// Records of <c>__transaction_state</c> in Kafka's byte layout (Kafka's <c>TransactionLog</c>), so the partitions are
/// interchangeable with Kafka's.
/// </summary>
/// <remarks>
/// <para>
/// Key: int16 version 0 (which is also the coordinator record type TRANSACTION_LOG) then <c>TransactionLogKey</c> v0,
/// the transactional id as an int16-length string. Value: int16 version then <c>TransactionLogValue</c> at that
/// version. Version 0 is the classic layout; version 1 (written from <c>transaction.version</c> 1) is flexible: compact
/// strings and arrays, and tagged fields PreviousProducerId (tag 0), NextProducerId (tag 1) and ClientTransactionVersion
/// (tag 2), each left out at its default (-1, -1, 0). A null value is a tombstone: the id expired and compaction removes
/// it.
/// </para>
/// <para>
/// An Empty transit has no partitions and is stored with a null partition array, as Kafka does; a loaded Empty record
/// ignores whatever partitions it carries. The last producer epoch is not stored: a loaded id has -1.
/// </para>
/// <para>
/// Kafka 4.0 and 4.1 write only ClientTransactionVersion among the tagged fields; later Kafka also writes the producer id
/// links, which a coordinator failover in the middle of a TV2 epoch overflow needs (NextProducerId). We write them as the
/// later Kafka does; records of either kind read back the same way.
/// </para>
/// </remarks>
public static class TransactionLog
{
    /// <summary>The key version, which Kafka also uses as the record type of a transaction log record.</summary>
    public const short KeyVersion = 0;

    public static byte[] KeyBytes(string transactionalId) =>
        WithVersion(KeyVersion, new TransactionLogKey { TransactionalId = transactionalId });

    /// <summary>
    /// The value of a transit. <paramref name="valueVersion"/> is <see cref="TransactionVersions.LogValueVersion"/> of the
    /// cluster's finalized <c>transaction.version</c>. Version 0 cannot carry the tagged fields: the producer id links
    /// and the client version are dropped there, which can only matter on a TV0 cluster, where clients are TV0 anyway.
    /// </summary>
    public static byte[] ValueBytes(TxnTransitMetadata transit, short valueVersion)
    {
        if (transit.State == TransactionState.Empty && !transit.TopicPartitions.IsEmpty)
        {
            throw new InvalidOperationException(
                $"Transaction is not expected to have any partitions since its state is {transit.State}: {transit}");
        }
        if (transit.State == TransactionState.Dead)
        {
            throw new InvalidOperationException("A Dead transactional id is written as a tombstone (a null value), not as a value");
        }
        var value = new TransactionLogValue
        {
            ProducerId = transit.ProducerId,
            ProducerEpoch = transit.ProducerEpoch,
            TransactionTimeoutMs = transit.TxnTimeoutMs,
            TransactionStatus = (sbyte)transit.State,
            TransactionLastUpdateTimestampMs = transit.TxnLastUpdateTimestamp,
            TransactionStartTimestampMs = transit.TxnStartTimestamp,
            TransactionPartitions = transit.State == TransactionState.Empty ? null : PartitionsByTopic(transit),
        };
        if (valueVersion >= 1)
        {
            value.PreviousProducerId = transit.PrevProducerId;
            value.NextProducerId = transit.NextProducerId;
            value.ClientTransactionVersion = (short)transit.ClientTransactionVersion;
        }
        return WithVersion(valueVersion, value);
    }

    /// <summary>
    /// Topics in ordinal order, partitions ascending: Kafka groups a hash set, so its order is arbitrary; a fixed order
    /// keeps our bytes deterministic.
    /// </summary>
    private static List<TransactionLogValue.PartitionsSchema> PartitionsByTopic(TxnTransitMetadata transit) =>
        [.. transit.TopicPartitions
            .GroupBy(tp => tp.Topic, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new TransactionLogValue.PartitionsSchema
            {
                Topic = g.Key,
                PartitionIds = [.. g.Select(tp => tp.Partition).Order()],
            })];

    /// <summary>
    /// Decodes one record. A key of another version is not a transaction log record and comes back as null, so replay
    /// can skip it; an unknown value version, state id or client version, or malformed bytes, throw
    /// (<see cref="ProtocolException"/> or <see cref="InvalidDataException"/>), as Kafka's loader fails the load.
    /// </summary>
    public static TransactionLogEntry? Read(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        if (key.Length < 2)
        {
            throw new ProtocolException($"Transaction log key of {key.Length} bytes has no version");
        }
        var keyVersion = BinaryPrimitives.ReadInt16BigEndian(key);
        if (keyVersion != KeyVersion)
        {
            return null;
        }
        var transactionalId = Read<TransactionLogKey>(key[2..], 0).TransactionalId;
        if (valueIsNull)
        {
            return new TransactionLogEntry(transactionalId, null);
        }
        if (value.Length < 2)
        {
            throw new ProtocolException($"Transaction log value of {value.Length} bytes has no version");
        }
        var valueVersion = BinaryPrimitives.ReadInt16BigEndian(value);
        if (valueVersion is < TransactionLogValue.LowestVersion or > TransactionLogValue.HighestVersion)
        {
            throw new InvalidDataException($"Unknown version {valueVersion} from the transaction log message value");
        }
        var stored = Read<TransactionLogValue>(value[2..], valueVersion);
        var state = TransactionStates.FromId(stored.TransactionStatus);
        IEnumerable<TopicPartition> partitions = state == TransactionState.Empty || stored.TransactionPartitions is null
            ? []
            : stored.TransactionPartitions.SelectMany(t => t.PartitionIds.Select(p => new TopicPartition(t.Topic, p)));
        var metadata = new TransactionMetadata(
            transactionalId,
            stored.ProducerId,
            stored.PreviousProducerId,
            stored.NextProducerId,
            stored.ProducerEpoch,
            TransactionMetadata.NoProducerEpoch,
            stored.TransactionTimeoutMs,
            state,
            partitions,
            stored.TransactionStartTimestampMs,
            stored.TransactionLastUpdateTimestampMs,
            TransactionVersions.FromFeatureLevel(stored.ClientTransactionVersion));
        return new TransactionLogEntry(transactionalId, metadata);
    }

    private static byte[] WithVersion(short version, IProtocolStruct message)
    {
        var bytes = new byte[2 + message.Size(version)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, version);
        var writer = new ProtocolWriter(bytes.AsSpan(2));
        message.Write(ref writer, version);
        return bytes;
    }

    private static T Read<T>(ReadOnlySpan<byte> bytes, short version)
        where T : IProtocolStruct, new()
    {
        var reader = new ProtocolReader(bytes);
        var message = new T();
        message.Read(ref reader, version);
        return message;
    }
}

/// <summary>One decoded <c>__transaction_state</c> record: the id and its metadata, or null metadata for a tombstone.</summary>
public sealed record TransactionLogEntry(string TransactionalId, TransactionMetadata? Metadata);
