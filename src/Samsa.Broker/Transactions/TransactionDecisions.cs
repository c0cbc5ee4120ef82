using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Transactions;

/// <summary>The transaction coordinator's settings, by Kafka's names.</summary>
/// <param name="TransactionMaxTimeoutMs"><c>transaction.max.timeout.ms</c> (15 minutes).</param>
/// <param name="TransactionalIdExpirationMs"><c>transactional.id.expiration.ms</c> (7 days).</param>
/// <param name="TransactionVersionLevel">The cluster's finalized <c>transaction.version</c>: the record value version, and the
/// rules the coordinator's own aborts (fencing, timeouts) follow.</param>
public sealed record TransactionCoordinatorConfig(
    int TransactionMaxTimeoutMs = 900_000,
    long TransactionalIdExpirationMs = 604_800_000,
    TransactionVersion TransactionVersionLevel = TransactionVersion.TV2)
{
    /// <summary>Kafka's <c>validateTransactionTimeoutMs</c>: positive and at most the maximum.</summary>
    public bool IsValidTransactionTimeout(int txnTimeoutMs) => txnTimeoutMs > 0 && txnTimeoutMs <= TransactionMaxTimeoutMs;
}

/// <summary>
/// Hands out producer ids. Returns <see cref="ErrorCode.None"/> with an id, or the error to answer (for example
/// COORDINATOR_LOAD_IN_PROGRESS while no block of ids has been allocated), as Kafka's <c>Errors.forException</c> does
/// for a failing <c>generateProducerId</c>.
/// </summary>
public delegate ErrorCode ProducerIdGenerator(out long producerId);

/// <summary>
/// InitProducerId's answer. With no <see cref="Transit"/> the response is <see cref="Error"/> (with
/// <see cref="ProducerId"/>/<see cref="ProducerEpoch"/> when it is NONE) and nothing is written. With a transit the
/// record is written first: once it commits, apply it with <see cref="TransactionMetadata.CompleteTransitionTo"/> and
/// answer <see cref="Error"/> (NONE with the new id and epoch, or CONCURRENT_TRANSACTIONS after fencing an ongoing
/// transaction, which then goes to its markers like any PrepareAbort); if the write fails, call
/// <see cref="TransactionMetadata.AbortPendingTransition"/> with <see cref="IsEpochFence"/> and answer the write's error.
/// </summary>
/// <param name="Created">Metadata for an id seen for the first time; the caller adds it to its map now, before the write, as
/// Kafka does (a failed write leaves it at epoch -1, which a KIP-360 retry is allowed to claim).</param>
public sealed record InitProducerIdDecision(
    ErrorCode Error,
    long ProducerId,
    short ProducerEpoch,
    TransactionMetadata? Created = null,
    TxnTransitMetadata? Transit = null,
    bool IsEpochFence = false);

/// <summary>
/// EndTxn's answer before anything is written (also the coordinator's own aborts). With no <see cref="Transit"/> the
/// response is <see cref="Error"/> with <see cref="ProducerId"/>/<see cref="ProducerEpoch"/> (the current ones for a TV2
/// retry answered NONE, else -1/-1). With a transit: write it; once it commits apply it and call
/// <see cref="TransactionDecisions.EndTxnAfterAppend"/> for the response and the markers; if the write fails, call
/// <see cref="TransactionMetadata.AbortPendingTransition"/> with <see cref="IsEpochFence"/> and answer the write's error.
/// </summary>
public sealed record EndTxnDecision(
    ErrorCode Error,
    long ProducerId = TransactionMetadata.NoProducerId,
    short ProducerEpoch = TransactionMetadata.NoProducerEpoch,
    TxnTransitMetadata? Transit = null,
    bool IsEpochFence = false);

/// <summary>
/// EndTxn's answer once the Prepare* record committed (Kafka's <c>sendTxnMarkersCallback</c>): the response, and on NONE
/// the marker phase to start.
/// </summary>
public sealed record EndTxnCompletion(ErrorCode Error, long ProducerId, short ProducerEpoch, TxnMarkerPlan? Markers);

/// <summary>
/// AddPartitionsToTxn/AddOffsetsToTxn: answer <see cref="Error"/> now, or write <see cref="Transit"/>, apply it on
/// commit and answer NONE (on failure: <see cref="TransactionMetadata.AbortPendingTransition"/>, the write's error).
/// </summary>
public sealed record AddPartitionsDecision(ErrorCode Error, TxnTransitMetadata? Transit = null);

/// <summary>
/// The marker phase of a PrepareCommit/PrepareAbort transaction. Send <see cref="Marker"/> (split by partition leader) to
/// every partition in it; as each partition's marker is written call <see cref="TransactionMetadata.RemovePartition"/>;
/// when none remain write <see cref="Completion"/> and apply it on commit. The metadata's pending state is the completion
/// from the start, so requests meanwhile get CONCURRENT_TRANSACTIONS. No partitions (a TV2 abort of an empty
/// transaction) means the completion can be written at once.
/// </summary>
public sealed record TxnMarkerPlan(string TransactionalId, WriteTxnMarkersRequest.WritableTxnMarker Marker, TxnTransitMetadata Completion);

/// <summary>
/// The transaction coordinator's decisions (Kafka's <c>TransactionCoordinator</c> and the expiry rules of its
/// <c>TransactionStateManager</c>), as functions of the metadata, the request and the time. No I/O and no clock: the
/// coordinator runtime looks the metadata up in the shard owning the id's <c>__transaction_state</c> partition, writes the
/// returned transit as a record (<see cref="TransactionLog"/>), and applies it once committed.
/// </summary>
/// <remarks>
/// Errors are the coordinator's; <see cref="ForRequestVersion"/> turns PRODUCER_FENCED into INVALID_PRODUCER_EPOCH for
/// clients too old to know it, as KafkaApis does. The client's transaction version comes from the request version
/// (<see cref="TransactionVersions.ForEndTxn"/>, <see cref="TransactionVersions.ForAddPartitionsToTxn"/>).
/// </remarks>
public static class TransactionDecisions
{
    public const string ConsumerOffsetsTopic = "__consumer_offsets";

    /// <summary>
    /// InitProducerId (all versions). <paramref name="expectedProducerId"/>/<paramref name="expectedProducerEpoch"/> are the
    /// v3+ fields (-1/-1 before v3, or when the producer has none): both set is a KIP-360 recovery, one set is INVALID_REQUEST.
    /// A null transactional id is an idempotent producer: a fresh id at epoch 0, no state.
    /// </summary>
    public static InitProducerIdDecision InitProducerId(
        TransactionMetadata? metadata,
        string? transactionalId,
        int transactionTimeoutMs,
        long expectedProducerId,
        short expectedProducerEpoch,
        ProducerIdGenerator generateProducerId,
        TransactionCoordinatorConfig config,
        long nowMs)
    {
        (long Id, short Epoch)? expected = null;
        if (expectedProducerId != TransactionMetadata.NoProducerId || expectedProducerEpoch != TransactionMetadata.NoProducerEpoch)
        {
            if (expectedProducerId == TransactionMetadata.NoProducerId || expectedProducerEpoch == TransactionMetadata.NoProducerEpoch)
            {
                return InitError(ErrorCode.InvalidRequest);
            }
            expected = (expectedProducerId, expectedProducerEpoch);
        }
        if (transactionalId is null)
        {
            var generated = generateProducerId(out var idempotentId);
            return generated == ErrorCode.None ? new InitProducerIdDecision(ErrorCode.None, idempotentId, 0) : InitError(generated);
        }
        if (transactionalId.Length == 0)
        {
            return InitError(ErrorCode.InvalidRequest);
        }
        if (!config.IsValidTransactionTimeout(transactionTimeoutMs))
        {
            return InitError(ErrorCode.InvalidTransactionTimeout);
        }
        TransactionMetadata? created = null;
        if (metadata is null)
        {
            var generated = generateProducerId(out var newId);
            if (generated != ErrorCode.None)
            {
                return InitError(generated);
            }
            metadata = created = TransactionMetadata.CreateNew(transactionalId, newId, transactionTimeoutMs, nowMs);
        }
        var decision = PrepareInitProducerIdTransit(metadata, transactionTimeoutMs, expected, generateProducerId, config, nowMs);
        return decision with { Created = created };
    }

    private static InitProducerIdDecision PrepareInitProducerIdTransit(
        TransactionMetadata metadata,
        int transactionTimeoutMs,
        (long Id, short Epoch)? expected,
        ProducerIdGenerator generateProducerId,
        TransactionCoordinatorConfig config,
        long nowMs)
    {
        if (metadata.PendingTransitionInProgress)
        {
            return InitError(ErrorCode.ConcurrentTransactions);
        }
        // A KIP-360 request keeps its producer unless the id was just created (epoch -1, the producer recovers from
        // UNKNOWN_PRODUCER_ID), the id is the current one (the epoch is checked below), or it is the previous one with an
        // exhausted epoch (a retry of a rotation whose response was lost).
        if (expected is { } e
            && !(metadata.ProducerEpoch == TransactionMetadata.NoProducerEpoch
                 || e.Id == metadata.ProducerId
                 || (e.Id == metadata.PrevProducerId && TransactionMetadata.IsEpochExhausted(e.Epoch))))
        {
            return InitError(ErrorCode.ProducerFenced);
        }
        switch (metadata.State)
        {
            case TransactionState.PrepareAbort or TransactionState.PrepareCommit:
                return InitError(ErrorCode.ConcurrentTransactions);

            case TransactionState.CompleteAbort or TransactionState.CompleteCommit or TransactionState.Empty:
                TxnTransitMetadata? transit;
                if (metadata.IsProducerEpochExhausted && (expected is null || expected.Value.Epoch == metadata.ProducerEpoch))
                {
                    var generated = generateProducerId(out var newId);
                    if (generated != ErrorCode.None)
                    {
                        return InitError(generated);
                    }
                    transit = metadata.PrepareProducerIdRotation(newId, transactionTimeoutMs, nowMs, expected is not null);
                }
                else
                {
                    transit = metadata.PrepareIncrementProducerEpoch(transactionTimeoutMs, expected?.Epoch, nowMs, out var error);
                    if (transit is null)
                    {
                        return InitError(error);
                    }
                }
                return new InitProducerIdDecision(ErrorCode.None, transit.ProducerId, transit.ProducerEpoch, Transit: transit);

            case TransactionState.Ongoing:
                // Fence the old producer and abort its transaction; the new one is told CONCURRENT_TRANSACTIONS and retries,
                // which bumps the epoch again (or rotates the id if fencing used the last epoch). The fencing epoch is never
                // handed out.
                var fence = metadata.PrepareFenceProducerEpoch();
                var abort = EndTransaction(metadata, metadata.TransactionalId, fence.ProducerId, fence.ProducerEpoch, commit: false,
                    isFromClient: false, config.TransactionVersionLevel, generateProducerId, nowMs);
                return abort.Transit is null
                    ? InitError(abort.Error)
                    : new InitProducerIdDecision(ErrorCode.ConcurrentTransactions, TransactionMetadata.NoProducerId,
                        TransactionMetadata.NoProducerEpoch, Transit: abort.Transit, IsEpochFence: true);

            default:
                throw new InvalidOperationException(
                    $"Found transactionalId {metadata.TransactionalId} with state {metadata.State}. This is illegal as we should never have transitioned to this state.");
        }
    }

    private static InitProducerIdDecision InitError(ErrorCode error) =>
        new(error, TransactionMetadata.NoProducerId, TransactionMetadata.NoProducerEpoch);

    /// <summary>
    /// AddPartitionsToTxn for one transaction (v0-v3, or one entry of v4+ without verifyOnly). <paramref name="clientVersion"/>
    /// is <see cref="TransactionVersions.ForAddPartitionsToTxn"/> of the request.
    /// </summary>
    /// <remarks>
    /// The pending check comes first, as in Kafka 4.1+: under TV2 a producer may already use the id an epoch overflow is
    /// rotating to while that rotation is still being written.
    /// </remarks>
    public static AddPartitionsDecision AddPartitions(
        TransactionMetadata? metadata,
        string? transactionalId,
        long producerId,
        short producerEpoch,
        IReadOnlyCollection<TopicPartition> partitions,
        TransactionVersion clientVersion,
        long nowMs)
    {
        if (string.IsNullOrEmpty(transactionalId))
        {
            return new AddPartitionsDecision(ErrorCode.InvalidRequest);
        }
        if (metadata is null)
        {
            return new AddPartitionsDecision(ErrorCode.InvalidProducerIdMapping);
        }
        if (metadata.PendingTransitionInProgress)
        {
            return new AddPartitionsDecision(ErrorCode.ConcurrentTransactions);
        }
        if (metadata.ProducerId != producerId)
        {
            return new AddPartitionsDecision(ErrorCode.InvalidProducerIdMapping);
        }
        if (metadata.ProducerEpoch != producerEpoch)
        {
            return new AddPartitionsDecision(ErrorCode.ProducerFenced);
        }
        if (metadata.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort)
        {
            return new AddPartitionsDecision(ErrorCode.ConcurrentTransactions);
        }
        if (metadata.State == TransactionState.Ongoing && metadata.TopicPartitions.IsSupersetOf(partitions))
        {
            // Nothing new: answer at once without a write.
            return new AddPartitionsDecision(ErrorCode.None);
        }
        return new AddPartitionsDecision(ErrorCode.None, metadata.PrepareAddPartitions(partitions, nowMs, clientVersion));
    }

    /// <summary>
    /// AddOffsetsToTxn: adds the group's <c>__consumer_offsets</c> partition (<paramref name="offsetsPartition"/>, from the
    /// group coordinator's partitioning). KafkaApis always passes TV0 here.
    /// </summary>
    public static AddPartitionsDecision AddOffsets(
        TransactionMetadata? metadata,
        string? transactionalId,
        long producerId,
        short producerEpoch,
        int offsetsPartition,
        long nowMs) =>
        AddPartitions(metadata, transactionalId, producerId, producerEpoch, [new TopicPartition(ConsumerOffsetsTopic, offsetsPartition)],
            TransactionVersion.TV0, nowMs);

    /// <summary>
    /// AddPartitionsToTxn v4+ with verifyOnly (a partition leader checking a transactional produce, KIP-890 part 1): per
    /// partition NONE if it is in the transaction, else TRANSACTION_ABORTABLE (Kafka 4.x; the leader's side turns that
    /// into INVALID_TXN_STATE for producers too old to know it). A wrong id or epoch, or a transaction being completed,
    /// answers every partition with that error. Pending transitions are not checked: the produce itself is checked again.
    /// </summary>
    public static IReadOnlyDictionary<TopicPartition, ErrorCode> VerifyPartitions(
        TransactionMetadata? metadata,
        string? transactionalId,
        long producerId,
        short producerEpoch,
        IReadOnlyCollection<TopicPartition> partitions)
    {
        ErrorCode? all = null;
        if (string.IsNullOrEmpty(transactionalId))
        {
            all = ErrorCode.InvalidRequest;
        }
        else if (metadata is null || metadata.ProducerId != producerId)
        {
            all = ErrorCode.InvalidProducerIdMapping;
        }
        else if (metadata.ProducerEpoch != producerEpoch)
        {
            all = ErrorCode.ProducerFenced;
        }
        else if (metadata.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort)
        {
            all = ErrorCode.ConcurrentTransactions;
        }
        var result = new Dictionary<TopicPartition, ErrorCode>(partitions.Count);
        foreach (var partition in partitions)
        {
            result[partition] = all ?? (metadata!.TopicPartitions.Contains(partition) ? ErrorCode.None : ErrorCode.TransactionAbortable);
        }
        return result;
    }

    /// <summary>One transaction's entry of an AddPartitionsToTxn v4+ response, topics and partitions in a stable order.</summary>
    public static AddPartitionsToTxnResponse.AddPartitionsToTxnResult ResultForTransaction(
        string transactionalId, IEnumerable<KeyValuePair<TopicPartition, ErrorCode>> errors) =>
        new()
        {
            TransactionalId = transactionalId,
            TopicResults = [.. TopicResults(errors)],
        };

    /// <summary>Per-topic partition results (v0-v3's <c>ResultsByTopicV3AndBelow</c>, and each v4+ transaction's).</summary>
    public static IEnumerable<AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult> TopicResults(
        IEnumerable<KeyValuePair<TopicPartition, ErrorCode>> errors) =>
        errors
            .GroupBy(e => e.Key.Topic, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
            {
                Name = g.Key,
                ResultsByPartition = [.. g.OrderBy(e => e.Key.Partition).Select(e => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
                {
                    PartitionIndex = e.Key.Partition,
                    PartitionErrorCode = (short)e.Value,
                })],
            });

    /// <summary>
    /// EndTxn from a client. <paramref name="clientVersion"/> is <see cref="TransactionVersions.ForEndTxn"/> of the request
    /// (v5+ is TV2: the epoch is bumped at the end of every transaction and the response carries the new id and epoch).
    /// </summary>
    public static EndTxnDecision EndTxn(
        TransactionMetadata? metadata,
        string? transactionalId,
        long producerId,
        short producerEpoch,
        bool commit,
        TransactionVersion clientVersion,
        ProducerIdGenerator generateProducerId,
        long nowMs) =>
        EndTransaction(metadata, transactionalId, producerId, producerEpoch, commit, isFromClient: true, clientVersion, generateProducerId, nowMs);

    private static EndTxnDecision EndTransaction(
        TransactionMetadata? metadata,
        string? transactionalId,
        long producerId,
        short producerEpoch,
        bool commit,
        bool isFromClient,
        TransactionVersion clientVersion,
        ProducerIdGenerator generateProducerId,
        long nowMs)
    {
        if (string.IsNullOrEmpty(transactionalId))
        {
            return new EndTxnDecision(ErrorCode.InvalidRequest);
        }
        if (metadata is null)
        {
            return new EndTxnDecision(ErrorCode.InvalidProducerIdMapping);
        }
        return clientVersion.SupportsEpochBump()
            ? EndTransactionV2(metadata, producerId, producerEpoch, commit, isFromClient, clientVersion, generateProducerId, nowMs)
            : EndTransactionV1(metadata, producerId, producerEpoch, commit, isFromClient, nowMs);
    }

    /// <summary>Kafka's <c>endTransactionWithTV1</c>: the epoch must match exactly and retries after completion are NONE.</summary>
    private static EndTxnDecision EndTransactionV1(TransactionMetadata metadata, long producerId, short producerEpoch, bool commit,
        bool isFromClient, long nowMs)
    {
        if (metadata.ProducerId != producerId)
        {
            return new EndTxnDecision(ErrorCode.InvalidProducerIdMapping);
        }
        // Clients never bump the epoch here, so theirs must be equal; the coordinator's fence carries a higher one.
        if ((isFromClient && producerEpoch != metadata.ProducerEpoch) || producerEpoch < metadata.ProducerEpoch)
        {
            return new EndTxnDecision(ErrorCode.ProducerFenced);
        }
        if (metadata.PendingState is { } pending && pending != TransactionState.PrepareEpochFence)
        {
            return new EndTxnDecision(ErrorCode.ConcurrentTransactions);
        }
        switch (metadata.State)
        {
            case TransactionState.Ongoing:
                var nextState = commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort;
                var isEpochFence = false;
                if (nextState == TransactionState.PrepareAbort && metadata.PendingState == TransactionState.PrepareEpochFence)
                {
                    isEpochFence = ApplyEpochFence(metadata, producerEpoch);
                }
                var transit = metadata.PrepareAbortOrCommit(nextState, TransactionVersion.TV0, TransactionMetadata.NoProducerId, nowMs, noPartitionAdded: false);
                return new EndTxnDecision(ErrorCode.None, Transit: transit, IsEpochFence: isEpochFence);
            case TransactionState.CompleteCommit:
                return new EndTxnDecision(commit ? ErrorCode.None : ErrorCode.InvalidTxnState);
            case TransactionState.CompleteAbort:
                return new EndTxnDecision(commit ? ErrorCode.InvalidTxnState : ErrorCode.None);
            case TransactionState.PrepareCommit:
                return new EndTxnDecision(commit ? ErrorCode.ConcurrentTransactions : ErrorCode.InvalidTxnState);
            case TransactionState.PrepareAbort:
                return new EndTxnDecision(commit ? ErrorCode.InvalidTxnState : ErrorCode.ConcurrentTransactions);
            case TransactionState.Empty:
                return new EndTxnDecision(ErrorCode.InvalidTxnState);
            default:
                throw new InvalidOperationException(
                    $"Found transactionalId {metadata.TransactionalId} with state {metadata.State}. This is illegal as we should never have transitioned to this state.");
        }
    }

    /// <summary>
    /// Kafka's TV2 <c>endTransaction</c>. A retry is recognised by the epoch: the client sends the epoch it held, and the
    /// coordinator already holds that epoch + 1 (or, after an overflow, the new id at epoch 0). Answers for Empty and
    /// Complete* (PF = PRODUCER_FENCED, ITS = INVALID_TXN_STATE, EB = epoch bump and write):
    /// <code>
    ///                  abort retry | abort current | commit retry | commit current
    /// Empty            PF          | EB            | PF           | ITS
    /// CompleteAbort    NONE        | EB            | ITS          | ITS
    /// CompleteCommit   ITS         | EB            | NONE         | ITS
    /// </code>
    /// </summary>
    private static EndTxnDecision EndTransactionV2(TransactionMetadata metadata, long producerId, short producerEpoch, bool commit,
        bool isFromClient, TransactionVersion clientVersion, ProducerIdGenerator generateProducerId, long nowMs)
    {
        var currentId = metadata.ProducerId;
        var currentEpoch = metadata.ProducerEpoch;
        // A fence bumps differently (see below); it only happens while Ongoing.
        var isEpochFence = metadata.PendingState == TransactionState.PrepareEpochFence;
        // The client retried a request that overflowed the epoch, and the new producer id is already in place.
        var retryOnOverflow = !isEpochFence && metadata.PrevProducerId == producerId
            && producerEpoch == short.MaxValue - 1 && metadata.ProducerEpoch == 0;
        // The client retried, and the epoch its first attempt bumped is in place.
        var retryOnEpochBump = !isEpochFence && metadata.ProducerEpoch == producerEpoch + 1;
        bool isValidEpoch;
        if (!isEpochFence)
        {
            // With TV2 the same epoch in Prepare* or Complete* is the next transaction's, not a retry.
            isValidEpoch = metadata.State switch
            {
                TransactionState.PrepareCommit or TransactionState.PrepareAbort => retryOnEpochBump,
                TransactionState.CompleteCommit or TransactionState.CompleteAbort =>
                    retryOnEpochBump || retryOnOverflow || producerEpoch == metadata.ProducerEpoch,
                _ => producerEpoch == metadata.ProducerEpoch,
            };
        }
        else
        {
            isValidEpoch = (!isFromClient || producerEpoch == metadata.ProducerEpoch) && producerEpoch >= metadata.ProducerEpoch;
        }
        var isRetry = retryOnEpochBump || retryOnOverflow;

        if (metadata.ProducerId != producerId && !retryOnOverflow)
        {
            return new EndTxnDecision(ErrorCode.InvalidProducerIdMapping);
        }
        if (!isValidEpoch)
        {
            return new EndTxnDecision(ErrorCode.ProducerFenced);
        }
        if (metadata.PendingState is { } pending && pending != TransactionState.PrepareEpochFence)
        {
            return new EndTxnDecision(ErrorCode.ConcurrentTransactions);
        }

        EndTxnDecision Complete(TransactionState nextState, bool noPartitionAdded)
        {
            // Bumping the last usable epoch needs a producer id to rotate to at completion.
            var nextProducerId = TransactionMetadata.NoProducerId;
            if (!isEpochFence && metadata.IsProducerEpochExhausted)
            {
                var generated = generateProducerId(out nextProducerId);
                if (generated != ErrorCode.None)
                {
                    return new EndTxnDecision(generated);
                }
            }
            var fenced = nextState == TransactionState.PrepareAbort && isEpochFence && ApplyEpochFence(metadata, producerEpoch);
            var transit = metadata.PrepareAbortOrCommit(nextState, clientVersion, nextProducerId, nowMs, noPartitionAdded);
            return new EndTxnDecision(ErrorCode.None, Transit: transit, IsEpochFence: fenced);
        }

        EndTxnDecision AlreadyDone() => new(ErrorCode.None, currentId, currentEpoch);

        switch (metadata.State)
        {
            case TransactionState.Ongoing:
                return Complete(commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort, noPartitionAdded: false);
            case TransactionState.CompleteCommit:
                if (commit)
                {
                    return isRetry ? AlreadyDone() : new EndTxnDecision(ErrorCode.InvalidTxnState);
                }
                return isRetry ? new EndTxnDecision(ErrorCode.InvalidTxnState) : Complete(TransactionState.PrepareAbort, noPartitionAdded: true);
            case TransactionState.CompleteAbort:
                if (!commit)
                {
                    return isRetry ? AlreadyDone() : Complete(TransactionState.PrepareAbort, noPartitionAdded: true);
                }
                return new EndTxnDecision(ErrorCode.InvalidTxnState);
            case TransactionState.PrepareCommit:
                return new EndTxnDecision(commit ? ErrorCode.ConcurrentTransactions : ErrorCode.InvalidTxnState);
            case TransactionState.PrepareAbort:
                return new EndTxnDecision(commit ? ErrorCode.InvalidTxnState : ErrorCode.ConcurrentTransactions);
            case TransactionState.Empty:
                return commit ? new EndTxnDecision(ErrorCode.InvalidTxnState) : Complete(TransactionState.PrepareAbort, noPartitionAdded: true);
            default:
                throw new InvalidOperationException(
                    $"Found transactionalId {metadata.TransactionalId} with state {metadata.State}. This is illegal as we should never have transitioned to this state.");
        }
    }

    /// <summary>
    /// Turns a prepared fence into the abort about to be prepared: the pending fence is dropped and the fencing epoch
    /// goes into memory now (not reverted if the write fails; <see cref="TransactionMetadata.HasFailedEpochFence"/> then
    /// stops the next fence from bumping again).
    /// </summary>
    private static bool ApplyEpochFence(TransactionMetadata metadata, short fencingEpoch)
    {
        metadata.PendingState = null;
        metadata.ProducerEpoch = fencingEpoch;
        metadata.LastProducerEpoch = TransactionMetadata.NoProducerEpoch;
        return true;
    }

    /// <summary>
    /// After the Prepare* record of an EndTxn (or of a coordinator abort) committed and was applied: re-checks the id and
    /// epoch (the TV2 epoch may be one higher than the request's), prepares the completion and gives the response. NONE
    /// responses carry the id and epoch the producer continues with under TV2 (after an overflow, the new id at epoch 0),
    /// -1/-1 under TV1.
    /// </summary>
    public static EndTxnCompletion EndTxnAfterAppend(
        TransactionMetadata metadata,
        long producerId,
        short producerEpoch,
        bool commit,
        TransactionVersion clientVersion,
        int coordinatorEpoch,
        long nowMs)
    {
        static EndTxnCompletion Fail(ErrorCode error) =>
            new(error, TransactionMetadata.NoProducerId, TransactionMetadata.NoProducerEpoch, null);

        if (metadata.ProducerId != producerId)
        {
            return Fail(ErrorCode.InvalidProducerIdMapping);
        }
        var epochOk = clientVersion.SupportsEpochBump()
            ? metadata.ProducerEpoch == producerEpoch || metadata.ProducerEpoch == producerEpoch + 1
            : metadata.ProducerEpoch == producerEpoch;
        if (!epochOk)
        {
            return Fail(ErrorCode.ProducerFenced);
        }
        if (metadata.PendingTransitionInProgress)
        {
            return Fail(ErrorCode.ConcurrentTransactions);
        }
        var expected = commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort;
        if (metadata.State is TransactionState.Dead or TransactionState.PrepareEpochFence)
        {
            throw new InvalidOperationException(
                $"Found transactionalId {metadata.TransactionalId} with state {metadata.State}. This is illegal as we should never have transitioned to this state.");
        }
        if (metadata.State != expected)
        {
            return Fail(ErrorCode.InvalidTxnState);
        }
        var plan = PrepareMarkers(metadata, coordinatorEpoch, nowMs);
        return clientVersion.SupportsEpochBump()
            ? new EndTxnCompletion(ErrorCode.None, plan.Completion.ProducerId, plan.Completion.ProducerEpoch, plan)
            : new EndTxnCompletion(ErrorCode.None, TransactionMetadata.NoProducerId, TransactionMetadata.NoProducerEpoch, plan);
    }

    /// <summary>
    /// Starts the marker phase of a PrepareCommit/PrepareAbort transaction: after an EndTxn append, or for every such id
    /// found when a <c>__transaction_state</c> partition is loaded. Markers carry the id and epoch of the Prepare* record
    /// (under TV2 the bumped epoch) and the partition's coordinator epoch.
    /// </summary>
    public static TxnMarkerPlan PrepareMarkers(TransactionMetadata metadata, int coordinatorEpoch, long nowMs)
    {
        if (metadata.State is not (TransactionState.PrepareCommit or TransactionState.PrepareAbort))
        {
            throw new InvalidOperationException($"Markers are only written for a transaction being completed, not in state {metadata.State}");
        }
        var marker = new WriteTxnMarkersRequest.WritableTxnMarker
        {
            ProducerId = metadata.ProducerId,
            ProducerEpoch = metadata.ProducerEpoch,
            TransactionResult = metadata.State == TransactionState.PrepareCommit,
            CoordinatorEpoch = coordinatorEpoch,
            Topics = [.. metadata.TopicPartitions
                .GroupBy(tp => tp.Topic, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new WriteTxnMarkersRequest.WritableTxnMarkerTopic
                {
                    Name = g.Key,
                    PartitionIndexes = [.. g.Select(tp => tp.Partition).Order()],
                })],
        };
        return new TxnMarkerPlan(metadata.TransactionalId, marker, metadata.PrepareComplete(nowMs));
    }

    /// <summary>Kafka's <c>timedOutTransactions</c> filter: Ongoing, nothing pending, started more than its timeout ago.</summary>
    public static bool IsTimedOut(TransactionMetadata metadata, long nowMs) =>
        !metadata.PendingTransitionInProgress
        && metadata.State == TransactionState.Ongoing
        && metadata.TxnStartTimestamp + metadata.TxnTimeoutMs < nowMs;

    /// <summary>
    /// Kafka's <c>abortTimedOutTransactions</c> for one timed-out id (from <see cref="IsTimedOut"/>; the producer id seen
    /// then is passed back so a rotation since is noticed): fence the epoch and abort, with the cluster's transaction
    /// version. Returns null when the id changed or a transition is pending. The decision's transit is a PrepareAbort
    /// with <see cref="EndTxnDecision.IsEpochFence"/>; after it commits and is applied, <see cref="PrepareMarkers"/>
    /// starts the markers (as after InitProducerId's fence).
    /// </summary>
    public static EndTxnDecision? AbortTimedOut(
        TransactionMetadata metadata,
        long expectedProducerId,
        ProducerIdGenerator generateProducerId,
        TransactionCoordinatorConfig config,
        long nowMs)
    {
        if (metadata.ProducerId != expectedProducerId || metadata.PendingTransitionInProgress)
        {
            return null;
        }
        var fence = metadata.PrepareFenceProducerEpoch();
        return EndTransaction(metadata, metadata.TransactionalId, fence.ProducerId, fence.ProducerEpoch, commit: false, isFromClient: false,
            config.TransactionVersionLevel, generateProducerId, nowMs);
    }

    /// <summary>
    /// Kafka's <c>shouldExpire</c>: nothing pending, Empty or Complete*, and idle for <c>transactional.id.expiration.ms</c>.
    /// </summary>
    public static bool ShouldExpire(TransactionMetadata metadata, TransactionCoordinatorConfig config, long nowMs) =>
        !metadata.PendingTransitionInProgress
        && metadata.State.IsExpirationAllowed()
        && metadata.TxnLastUpdateTimestamp <= nowMs - config.TransactionalIdExpirationMs;

    /// <summary>
    /// Expires an id: marks it pending Dead and gives the tombstone's key (the value is null). Once the tombstone commits,
    /// remove the id if it is still pending Dead at the same epoch; if the write fails, call
    /// <see cref="TransactionMetadata.AbortPendingTransition"/>.
    /// </summary>
    public static (TxnTransitMetadata Transit, byte[] TombstoneKey) Expire(TransactionMetadata metadata) =>
        (metadata.PrepareDead(), TransactionLog.KeyBytes(metadata.TransactionalId));

    /// <summary>
    /// The error a client of this request version understands: PRODUCER_FENCED (added by InitProducerId v4, EndTxn,
    /// AddPartitionsToTxn and AddOffsetsToTxn v2) is INVALID_PRODUCER_EPOCH before, as KafkaApis answers.
    /// </summary>
    public static ErrorCode ForRequestVersion(ApiKey api, short version, ErrorCode error)
    {
        if (error != ErrorCode.ProducerFenced)
        {
            return error;
        }
        var firstWithFenced = api switch
        {
            ApiKey.InitProducerId => 4,
            ApiKey.EndTxn or ApiKey.AddPartitionsToTxn or ApiKey.AddOffsetsToTxn => 2,
            _ => 0,
        };
        return version < firstWithFenced ? ErrorCode.InvalidProducerEpoch : error;
    }
}
