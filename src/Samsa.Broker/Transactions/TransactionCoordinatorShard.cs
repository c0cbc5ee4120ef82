using Samsa.Broker.Coordinator;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Transactions;

/// <summary>
/// One record of <c>__transaction_state</c> as the runtime moves it: written from a transit (null: the id's tombstone),
/// read back as the metadata it describes (null: a tombstone).
/// </summary>
public sealed record TransactionRecord(string TransactionalId, TxnTransitMetadata? Transit, TransactionMetadata? Loaded = null);

/// <summary>Kafka's <c>TransactionLog</c> key and value bytes for the runtime.</summary>
public sealed class TransactionRecordSerde(short valueVersion) : ICoordinatorSerde<TransactionRecord>
{
    public (byte[] Key, byte[]? Value) Serialize(TransactionRecord record) =>
        (TransactionLog.KeyBytes(record.TransactionalId), record.Transit is { } transit ? TransactionLog.ValueBytes(transit, valueVersion) : null);

    public TransactionRecord? Deserialize(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull) =>
        TransactionLog.Read(key, value, valueIsNull) is { } entry ? new TransactionRecord(entry.TransactionalId, null, entry.Metadata) : null;
}

/// <summary>
/// The transactional ids of one <c>__transaction_state</c> partition (Kafka's <c>TransactionStateManager</c> cache for
/// that partition). Loaded by replay; on the live path the metadata changes only through its own pending transitions
/// (<see cref="TransactionMetadata.CompleteTransitionTo"/> once a record commits, <see cref="TransactionMetadata.AbortPendingTransition"/>
/// when it does not), so writes are made with <c>replayRecords=false</c>, as Kafka's coordinator writes them.
/// </summary>
public sealed class TransactionCoordinatorShard(CoordinatorContext<TransactionRecord> context, Action<TransactionCoordinatorShard> onLoaded)
    : ICoordinatorShard<TransactionRecord>
{
    private readonly Dictionary<string, TransactionMetadata> _transactions = new(StringComparer.Ordinal);

    public CoordinatorContext<TransactionRecord> Context { get; } = context;

    /// <summary>The id's metadata, or null. Under <see cref="CoordinatorContext{TRecord}.SyncRoot"/>.</summary>
    public TransactionMetadata? Get(string transactionalId) => _transactions.GetValueOrDefault(transactionalId);

    /// <summary>Adds an id seen for the first time (before its record is written, as Kafka does).</summary>
    public void Add(TransactionMetadata metadata) => _transactions[metadata.TransactionalId] = metadata;

    /// <summary>Forgets an expired id once its tombstone committed.</summary>
    public void Remove(string transactionalId) => _transactions.Remove(transactionalId);

    /// <summary>Every id of the partition. Under the lock.</summary>
    public IEnumerable<TransactionMetadata> Transactions => _transactions.Values;

    public void Replay(TransactionRecord record, CoordinatorChanges? changes)
    {
        if (record.Loaded is { } loaded)
        {
            _transactions[record.TransactionalId] = loaded;
        }
        else
        {
            _transactions.Remove(record.TransactionalId);
        }
    }

    public void OnLoaded(long records, MetadataImage? image) => onLoaded(this);

    public void OnUnloaded() => _transactions.Clear();
}
