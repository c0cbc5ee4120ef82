using System.Collections.Immutable;
using Samsa.Protocol;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Transactions;

/// <summary>
/// What the transaction coordinator knows about one transactional id (Kafka's <c>TransactionMetadata</c>).
/// </summary>
/// <remarks>
/// <para>
/// A change is made in two steps, as in Kafka. A <c>Prepare*</c> method checks the transition, records it as the
/// <see cref="PendingState"/> and returns the <see cref="TxnTransitMetadata"/> to write; nothing else changes. Once the
/// record commits, <see cref="CompleteTransitionTo"/> re-checks it against the current fields and applies it. If the
/// write fails, <see cref="AbortPendingTransition"/> clears the pending state. While a transition is pending every other
/// request for the id is answered CONCURRENT_TRANSACTIONS (see <see cref="TransactionDecisions"/>).
/// </para>
/// <para>
/// Not thread-safe: the coordinator shard that owns the id's <c>__transaction_state</c> partition is its only user.
/// </para>
/// </remarks>
public sealed class TransactionMetadata
{
    public const long NoProducerId = -1;
    public const short NoProducerEpoch = -1;

    public TransactionMetadata(
        string transactionalId,
        long producerId,
        long prevProducerId,
        long nextProducerId,
        short producerEpoch,
        short lastProducerEpoch,
        int txnTimeoutMs,
        TransactionState state,
        IEnumerable<TopicPartition> topicPartitions,
        long txnStartTimestamp,
        long txnLastUpdateTimestamp,
        TransactionVersion clientTransactionVersion)
    {
        TransactionalId = transactionalId;
        ProducerId = producerId;
        PrevProducerId = prevProducerId;
        NextProducerId = nextProducerId;
        ProducerEpoch = producerEpoch;
        LastProducerEpoch = lastProducerEpoch;
        TxnTimeoutMs = txnTimeoutMs;
        State = state;
        TopicPartitions = [.. topicPartitions];
        TxnStartTimestamp = txnStartTimestamp;
        TxnLastUpdateTimestamp = txnLastUpdateTimestamp;
        ClientTransactionVersion = clientTransactionVersion;
    }

    /// <summary>
    /// The metadata InitProducerId creates for an id the coordinator has never seen: the new producer id, no epoch yet
    /// (the first transition bumps it to 0), Empty.
    /// </summary>
    public static TransactionMetadata CreateNew(string transactionalId, long producerId, int txnTimeoutMs, long nowMs) =>
        new(transactionalId, producerId, NoProducerId, NoProducerId, NoProducerEpoch, NoProducerEpoch, txnTimeoutMs,
            TransactionState.Empty, [], -1, nowMs, TransactionVersion.TV0);

    public string TransactionalId { get; }

    public long ProducerId { get; internal set; }

    /// <summary>The producer id before the last transition (after an epoch-exhaustion rotation, the old id).</summary>
    public long PrevProducerId { get; internal set; }

    /// <summary>Under TV2, the id a Prepare* transaction rotates to at completion because its epoch is exhausted; else -1.</summary>
    public long NextProducerId { get; internal set; }

    public short ProducerEpoch { get; internal set; }

    public short LastProducerEpoch { get; internal set; }

    public int TxnTimeoutMs { get; internal set; }

    public TransactionState State { get; internal set; }

    public ImmutableHashSet<TopicPartition> TopicPartitions { get; internal set; }

    /// <summary>When the first partition was added (-1 while Empty).</summary>
    public long TxnStartTimestamp { get; internal set; }

    /// <summary>When any transition was last prepared; <c>transactional.id.expiration.ms</c> counts from it.</summary>
    public long TxnLastUpdateTimestamp { get; internal set; }

    public TransactionVersion ClientTransactionVersion { get; internal set; }

    /// <summary>The state a prepared but not yet written transition goes to, or null.</summary>
    public TransactionState? PendingState { get; internal set; }

    /// <summary>
    /// A fencing epoch bump was lost (its write failed after the in-memory epoch had been raised), so the next fence
    /// does not bump again: the raised epoch was never handed to a client.
    /// </summary>
    public bool HasFailedEpochFence { get; set; }

    public bool PendingTransitionInProgress => PendingState is not null;

    /// <summary>Kafka keeps <c>short.MaxValue</c> for fencing, so <c>short.MaxValue - 1</c> is the last epoch a client gets.</summary>
    public static bool IsEpochExhausted(short producerEpoch) => producerEpoch >= short.MaxValue - 1;

    public bool IsProducerEpochExhausted => IsEpochExhausted(ProducerEpoch);

    private bool HasPendingTransaction =>
        State is TransactionState.Ongoing or TransactionState.PrepareAbort or TransactionState.PrepareCommit;

    /// <summary>The fields as they are, as a transit (Kafka's <c>prepareNoTransit</c>); sets no pending state.</summary>
    public TxnTransitMetadata Snapshot() =>
        new(ProducerId, PrevProducerId, NextProducerId, ProducerEpoch, LastProducerEpoch, TxnTimeoutMs, State,
            TopicPartitions, TxnStartTimestamp, TxnLastUpdateTimestamp, ClientTransactionVersion);

    /// <summary>Test and recovery hook: the partitions as they are loaded from a record.</summary>
    public void AddPartitions(IEnumerable<TopicPartition> partitions) => TopicPartitions = TopicPartitions.Union(partitions);

    /// <summary>A partition's marker was written; only legal while the transaction is being committed or aborted.</summary>
    public void RemovePartition(TopicPartition partition)
    {
        if (State is not (TransactionState.PrepareCommit or TransactionState.PrepareAbort))
        {
            throw new InvalidOperationException(
                $"Transaction metadata's current state is {State}, and its pending state is {PendingState} while trying to " +
                "remove partitions whose txn marker has been sent, this is not expected");
        }
        TopicPartitions = TopicPartitions.Remove(partition);
    }

    /// <summary>
    /// Bumps the epoch to fence the current producer of an Ongoing transaction (InitProducerId from a new instance, or
    /// the timeout sweep). The result is never written: the caller turns it into PrepareAbort at once.
    /// </summary>
    public TxnTransitMetadata PrepareFenceProducerEpoch()
    {
        // After a failed fence the epoch in memory is already raised; at short.MaxValue there is nothing left to raise.
        var bumped = HasFailedEpochFence || ProducerEpoch == short.MaxValue ? ProducerEpoch : (short)(ProducerEpoch + 1);
        return PrepareTransitionTo(new Transition(this, TransactionState.PrepareEpochFence) { ProducerEpoch = bumped });
    }

    /// <summary>
    /// InitProducerId on an Empty or Complete* id: the next epoch, or for a KIP-360 recovery (<paramref name="expectedProducerEpoch"/>
    /// given) the same answer again when the request is a retry. Returns null with PRODUCER_FENCED when the expected epoch
    /// is neither the current nor the previous one.
    /// </summary>
    public TxnTransitMetadata? PrepareIncrementProducerEpoch(int newTxnTimeoutMs, short? expectedProducerEpoch, long updateTimestamp, out ErrorCode error)
    {
        if (IsProducerEpochExhausted)
        {
            throw new InvalidOperationException($"Cannot allocate any more producer epochs for producerId {ProducerId}");
        }
        error = ErrorCode.None;
        var bumped = (short)(ProducerEpoch + 1);
        var data = new Transition(this, TransactionState.Empty);
        if (expectedProducerEpoch is not { } expected)
        {
            // A new producer instance: bump and forget the previous epoch (a new id starts at -1, so it gets 0).
            data.ProducerEpoch = bumped;
            data.LastProducerEpoch = NoProducerEpoch;
        }
        else if (ProducerEpoch == NoProducerEpoch || expected == ProducerEpoch)
        {
            // The producer carries on after an error and nobody else initialised meanwhile: bump, remember the old epoch.
            data.ProducerEpoch = bumped;
            data.LastProducerEpoch = ProducerEpoch;
        }
        else if (expected == LastProducerEpoch)
        {
            // A retry of a bump whose response was lost: answer the current epoch again.
            data.ProducerEpoch = ProducerEpoch;
            data.LastProducerEpoch = LastProducerEpoch;
        }
        else
        {
            error = ErrorCode.ProducerFenced;
            return null;
        }
        data.TxnTimeoutMs = newTxnTimeoutMs;
        data.TopicPartitions = [];
        data.TxnStartTimestamp = -1;
        data.TxnLastUpdateTimestamp = updateTimestamp;
        return PrepareTransitionTo(data);
    }

    /// <summary>
    /// InitProducerId when the epoch is exhausted: a fresh producer id at epoch 0. With <paramref name="recordLastEpoch"/>
    /// (a KIP-360 request) the old epoch is kept so a retry can be recognised.
    /// </summary>
    public TxnTransitMetadata PrepareProducerIdRotation(long newProducerId, int newTxnTimeoutMs, long updateTimestamp, bool recordLastEpoch)
    {
        if (HasPendingTransaction)
        {
            throw new InvalidOperationException("Cannot rotate producer ids while a transaction is still pending");
        }
        return PrepareTransitionTo(new Transition(this, TransactionState.Empty)
        {
            ProducerId = newProducerId,
            ProducerEpoch = 0,
            LastProducerEpoch = recordLastEpoch ? ProducerEpoch : NoProducerEpoch,
            TxnTimeoutMs = newTxnTimeoutMs,
            TopicPartitions = [],
            TxnStartTimestamp = -1,
            TxnLastUpdateTimestamp = updateTimestamp,
        });
    }

    /// <summary>AddPartitionsToTxn/AddOffsetsToTxn: Ongoing with the union of partitions; a new transaction starts now.</summary>
    public TxnTransitMetadata PrepareAddPartitions(IEnumerable<TopicPartition> added, long updateTimestamp, TransactionVersion clientTransactionVersion)
    {
        var startsNow = State is TransactionState.Empty or TransactionState.CompleteAbort or TransactionState.CompleteCommit;
        return PrepareTransitionTo(new Transition(this, TransactionState.Ongoing)
        {
            TopicPartitions = TopicPartitions.Union(added),
            TxnStartTimestamp = startsNow ? updateTimestamp : TxnStartTimestamp,
            TxnLastUpdateTimestamp = updateTimestamp,
            ClientTransactionVersion = clientTransactionVersion,
        });
    }

    /// <summary>
    /// EndTxn: PrepareCommit or PrepareAbort. Under TV2 the epoch is bumped here (KIP-890) and
    /// <paramref name="nextProducerId"/> carries the id to rotate to if the bump exhausted it.
    /// <paramref name="noPartitionAdded"/> is a TV2 abort of a transaction that never started; it starts now.
    /// </summary>
    public TxnTransitMetadata PrepareAbortOrCommit(TransactionState newState, TransactionVersion clientTransactionVersion,
        long nextProducerId, long updateTimestamp, bool noPartitionAdded)
    {
        var data = new Transition(this, newState);
        if (clientTransactionVersion.SupportsEpochBump())
        {
            // At short.MaxValue (only reachable by fencing an exhausted epoch) an abort goes through unbumped so the
            // id can recover; the overflow check before this call keeps a commit from getting here.
            if (!(ProducerEpoch == short.MaxValue && newState == TransactionState.PrepareAbort))
            {
                data.ProducerEpoch = (short)(ProducerEpoch + 1);
            }
            data.LastProducerEpoch = ProducerEpoch;
        }
        data.TxnStartTimestamp = noPartitionAdded ? updateTimestamp : TxnStartTimestamp;
        data.NextProducerId = nextProducerId;
        data.TxnLastUpdateTimestamp = updateTimestamp;
        data.ClientTransactionVersion = clientTransactionVersion;
        return PrepareTransitionTo(data);
    }

    /// <summary>
    /// Every marker is written: CompleteCommit or CompleteAbort, partitions cleared. Under TV2 a pending
    /// <see cref="NextProducerId"/> becomes the producer id at epoch 0.
    /// </summary>
    public TxnTransitMetadata PrepareComplete(long updateTimestamp)
    {
        // The Prepare* record committed, so any earlier failed fence is now on the log.
        HasFailedEpochFence = false;
        var data = new Transition(this, State == TransactionState.PrepareCommit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort);
        if (ClientTransactionVersion.SupportsEpochBump() && NextProducerId != NoProducerId)
        {
            // lastProducerEpoch stays at the exhausted epoch the client last saw.
            data.ProducerId = NextProducerId;
            data.ProducerEpoch = 0;
        }
        data.NextProducerId = NoProducerId;
        data.TopicPartitions = [];
        data.TxnLastUpdateTimestamp = updateTimestamp;
        return PrepareTransitionTo(data);
    }

    /// <summary>The id expired: Dead, whose record is a tombstone.</summary>
    public TxnTransitMetadata PrepareDead() =>
        PrepareTransitionTo(new Transition(this, TransactionState.Dead) { TopicPartitions = [] });

    private TxnTransitMetadata PrepareTransitionTo(Transition data)
    {
        if (PendingState is { } pending)
        {
            throw new InvalidOperationException(
                $"Preparing transaction state transition to {data.State} while it already has a pending state {pending}");
        }
        if (data.ProducerId < 0)
        {
            throw new ArgumentException($"Illegal new producer id {data.ProducerId}");
        }
        // A new id has epoch -1 until its first transition, and may go Dead without one.
        if (data.State != TransactionState.Dead && data.ProducerEpoch < 0)
        {
            throw new ArgumentException($"Illegal new producer epoch {data.ProducerEpoch}");
        }
        if (!data.State.IsValidPreviousState(State))
        {
            throw new InvalidOperationException(
                $"Preparing transaction state transition to {data.State} failed since the target state {data.State} is not a valid previous state of the current state {State}");
        }
        PendingState = data.State;
        return new TxnTransitMetadata(data.ProducerId, ProducerId, data.NextProducerId, data.ProducerEpoch, data.LastProducerEpoch,
            data.TxnTimeoutMs, data.State, data.TopicPartitions, data.TxnStartTimestamp, data.TxnLastUpdateTimestamp,
            data.ClientTransactionVersion);
    }

    /// <summary>
    /// Applies a transition whose record committed, after Kafka's sanity checks: the state is the pending one; the epoch
    /// is unchanged, bumped by one, or 0 with a new producer id; the update time is not older; partitions only grow
    /// while Ongoing and are unchanged into Prepare*. A failed check is a coordinator bug and throws.
    /// </summary>
    public void CompleteTransitionTo(TxnTransitMetadata transit)
    {
        var toState = PendingState ?? throw new InvalidOperationException(
            $"TransactionalId {TransactionalId} completing transaction state transition while it does not have a pending state");
        if (toState != transit.State)
        {
            throw TransitionFailure(transit);
        }
        switch (toState)
        {
            case TransactionState.Empty:
                if ((ProducerEpoch != transit.ProducerEpoch && !ValidProducerEpochBump(transit))
                    || !transit.TopicPartitions.IsEmpty
                    || transit.TxnStartTimestamp != -1)
                {
                    throw TransitionFailure(transit);
                }
                break;
            case TransactionState.Ongoing:
                if (!ValidProducerEpoch(transit) || !transit.TopicPartitions.IsSupersetOf(TopicPartitions) || TxnTimeoutMs != transit.TxnTimeoutMs)
                {
                    throw TransitionFailure(transit);
                }
                break;
            case TransactionState.PrepareAbort or TransactionState.PrepareCommit:
                // TV2 aborts from Empty and Complete* start the transaction now, so the start time moves.
                var allowedEmptyAbort = toState == TransactionState.PrepareAbort && transit.ClientTransactionVersion.SupportsEpochBump()
                    && State is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort;
                var validTimestamp = TxnStartTimestamp == transit.TxnStartTimestamp || allowedEmptyAbort;
                if (!ValidProducerEpoch(transit) || !TopicPartitions.SetEquals(transit.TopicPartitions)
                    || TxnTimeoutMs != transit.TxnTimeoutMs || !validTimestamp)
                {
                    throw TransitionFailure(transit);
                }
                break;
            case TransactionState.CompleteAbort or TransactionState.CompleteCommit:
                if (!ValidProducerEpoch(transit) || TxnTimeoutMs != transit.TxnTimeoutMs || transit.TxnStartTimestamp == -1)
                {
                    throw TransitionFailure(transit);
                }
                break;
            case TransactionState.PrepareEpochFence:
                // A fence is turned into PrepareAbort before anything is written, so it can never complete.
                throw TransitionFailure(transit);
            case TransactionState.Dead:
                throw new InvalidOperationException(
                    $"TransactionalId {TransactionalId} is trying to complete a transition to Dead. This means that the transactionalId " +
                    "was being expired, and the only acceptable completion of this operation is to remove the transaction metadata " +
                    "from the cache, not to persist Dead in the log.");
        }
        ProducerId = transit.ProducerId;
        PrevProducerId = transit.PrevProducerId;
        NextProducerId = transit.NextProducerId;
        ProducerEpoch = transit.ProducerEpoch;
        LastProducerEpoch = transit.LastProducerEpoch;
        TxnTimeoutMs = transit.TxnTimeoutMs;
        TopicPartitions = transit.TopicPartitions;
        TxnStartTimestamp = transit.TxnStartTimestamp;
        TxnLastUpdateTimestamp = transit.TxnLastUpdateTimestamp;
        ClientTransactionVersion = transit.ClientTransactionVersion;
        PendingState = null;
        State = toState;
    }

    /// <summary>
    /// The write of a prepared transition failed: forget it. <paramref name="failedEpochFence"/> marks a lost fencing
    /// bump, whose raised epoch stays in memory (Kafka's <c>hasFailedEpochFence</c>).
    /// </summary>
    public void AbortPendingTransition(bool failedEpochFence = false)
    {
        PendingState = null;
        if (failedEpochFence)
        {
            HasFailedEpochFence = true;
        }
    }

    /// <summary>
    /// The producer id and epoch a transit must keep: under TV2 a Prepare* bumps the epoch by one and a Complete* that
    /// rotated the id starts again at 0; otherwise both are unchanged.
    /// </summary>
    private bool ValidProducerEpoch(TxnTransitMetadata transit)
    {
        var tv2 = transit.ClientTransactionVersion.SupportsEpochBump();
        if (tv2 && transit.State is TransactionState.CompleteCommit or TransactionState.CompleteAbort && transit.ProducerEpoch == 0)
        {
            return transit.LastProducerEpoch == LastProducerEpoch && transit.PrevProducerId == ProducerId;
        }
        if (tv2 && transit.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort)
        {
            return transit.LastProducerEpoch == ProducerEpoch && transit.ProducerId == ProducerId;
        }
        return transit.ProducerEpoch == ProducerEpoch && transit.ProducerId == ProducerId;
    }

    private bool ValidProducerEpochBump(TxnTransitMetadata transit) =>
        transit.ProducerEpoch == (short)(ProducerEpoch + 1) || (transit.ProducerEpoch == 0 && transit.ProducerId != ProducerId);

    private InvalidOperationException TransitionFailure(TxnTransitMetadata transit) =>
        new($"TransactionalId {TransactionalId} failed transition to state {transit} due to unexpected metadata {this}");

    public override string ToString() =>
        $"TransactionMetadata(transactionalId={TransactionalId}, producerId={ProducerId}, prevProducerId={PrevProducerId}, " +
        $"nextProducerId={NextProducerId}, producerEpoch={ProducerEpoch}, lastProducerEpoch={LastProducerEpoch}, " +
        $"txnTimeoutMs={TxnTimeoutMs}, state={State}, pendingState={PendingState}, topicPartitions=[{string.Join(", ", TopicPartitions)}], " +
        $"txnStartTimestamp={TxnStartTimestamp}, txnLastUpdateTimestamp={TxnLastUpdateTimestamp}, clientTransactionVersion={ClientTransactionVersion})";

    /// <summary>The fields of a transition being prepared, starting from the current ones.</summary>
    private sealed class Transition(TransactionMetadata from, TransactionState state)
    {
        public TransactionState State { get; } = state;
        public long ProducerId { get; set; } = from.ProducerId;
        public long NextProducerId { get; set; } = from.NextProducerId;
        public short ProducerEpoch { get; set; } = from.ProducerEpoch;
        public short LastProducerEpoch { get; set; } = from.LastProducerEpoch;
        public int TxnTimeoutMs { get; set; } = from.TxnTimeoutMs;
        public ImmutableHashSet<TopicPartition> TopicPartitions { get; set; } = from.TopicPartitions;
        public long TxnStartTimestamp { get; set; } = from.TxnStartTimestamp;
        public long TxnLastUpdateTimestamp { get; set; } = from.TxnLastUpdateTimestamp;
        public TransactionVersion ClientTransactionVersion { get; set; } = from.ClientTransactionVersion;
    }
}
