using Samsa.Broker.Transactions;
using Samsa.Protocol;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>Builders shared by the transaction coordinator tests.</summary>
internal static class Txn
{
    public const string Id = "txn-id";
    public const long ProducerId = 10;
    public static readonly TopicPartition Foo0 = new("foo", 0);
    public static readonly TopicPartition Foo1 = new("foo", 1);
    public static readonly TopicPartition Bar0 = new("bar", 0);

    public static TransactionCoordinatorConfig TxnConfig(TransactionVersion level = TransactionVersion.TV2) =>
        new(TransactionMaxTimeoutMs: 60_000, TransactionalIdExpirationMs: 10_000, TransactionVersionLevel: level);

    /// <summary>A producer id source counting up from <paramref name="next"/>.</summary>
    public static ProducerIdGenerator Ids(long next = 100) => (out long id) =>
    {
        id = next++;
        return ErrorCode.None;
    };

    public static ProducerIdGenerator NoIds(ErrorCode error = ErrorCode.CoordinatorLoadInProgress) => (out long id) =>
    {
        id = -1;
        return error;
    };

    public static TransactionMetadata Meta(
        TransactionState state,
        short epoch = 5,
        long producerId = ProducerId,
        IEnumerable<TopicPartition>? partitions = null,
        TransactionVersion clientVersion = TransactionVersion.TV0,
        short lastEpoch = TransactionMetadata.NoProducerEpoch,
        long prevProducerId = TransactionMetadata.NoProducerId,
        long nextProducerId = TransactionMetadata.NoProducerId,
        long startMs = 100,
        long updateMs = 100,
        int timeoutMs = 1_000) =>
        new(Id, producerId, prevProducerId, nextProducerId, epoch, lastEpoch, timeoutMs, state,
            partitions ?? (state is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort ? [] : [Foo0]),
            state == TransactionState.Empty ? -1 : startMs, updateMs, clientVersion);
}
