using System.Collections.Immutable;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Transactions;

/// <summary>
/// The whole state a transactional id will have once a transition is written to <c>__transaction_state</c> (Kafka's
/// <c>TxnTransitMetadata</c>): what a <c>TransactionMetadata.Prepare*</c> method proposes, what the record carries,
/// and what <see cref="TransactionMetadata.CompleteTransitionTo"/> applies after the record commits.
/// </summary>
/// <param name="PrevProducerId">The producer id before this transition (Kafka sets it on every transition).</param>
/// <param name="NextProducerId">Under TV2, the producer id the transaction's completion rotates to when the epoch is exhausted; -1 otherwise.</param>
/// <param name="LastProducerEpoch">The epoch the client held before the last bump (KIP-360 retries, TV2 end retries); not stored in the log.</param>
public sealed record TxnTransitMetadata(
    long ProducerId,
    long PrevProducerId,
    long NextProducerId,
    short ProducerEpoch,
    short LastProducerEpoch,
    int TxnTimeoutMs,
    TransactionState State,
    ImmutableHashSet<TopicPartition> TopicPartitions,
    long TxnStartTimestamp,
    long TxnLastUpdateTimestamp,
    TransactionVersion ClientTransactionVersion)
{
    public bool Equals(TxnTransitMetadata? other) =>
        other is not null
        && ProducerId == other.ProducerId
        && PrevProducerId == other.PrevProducerId
        && NextProducerId == other.NextProducerId
        && ProducerEpoch == other.ProducerEpoch
        && LastProducerEpoch == other.LastProducerEpoch
        && TxnTimeoutMs == other.TxnTimeoutMs
        && State == other.State
        && TopicPartitions.SetEquals(other.TopicPartitions)
        && TxnStartTimestamp == other.TxnStartTimestamp
        && TxnLastUpdateTimestamp == other.TxnLastUpdateTimestamp
        && ClientTransactionVersion == other.ClientTransactionVersion;

    public override int GetHashCode() => HashCode.Combine(ProducerId, ProducerEpoch, State, TopicPartitions.Count, TxnLastUpdateTimestamp);
}
