using Samsa.Broker.Transactions;
using Samsa.Protocol;
using Samsa.Storage.Checkpoints;
using static Samsa.Broker.Tests.Transactions.Txn;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>
/// AddPartitionsToTxn (with verifyOnly), AddOffsetsToTxn, the timeout sweep and transactional id expiry, modelled on
/// Kafka's <c>TransactionCoordinatorTest</c> and <c>TransactionStateManagerTest</c> (the case each mirrors is named in it).
/// </summary>
public class AddPartitionsAndExpiryTests
{
    private static AddPartitionsDecision Add(TransactionMetadata? metadata, short epoch = 5, long producerId = ProducerId,
        TransactionVersion version = TransactionVersion.TV0, params TopicPartition[] partitions) =>
        TransactionDecisions.AddPartitions(metadata, Id, producerId, epoch, partitions.Length == 0 ? [Foo0] : partitions, version, nowMs: 7_000);

    [Fact]
    public void UnknownIdOrOtherProducer_IsInvalidProducerIdMapping_AndNoIdIsInvalidRequest()
    {
        // Mirrors shouldRespondWithInvalidPidMappingOnAddPartitionsToTransactionWhenTransactionalIdNotPresent and
        // shouldRespondWithInvalidRequestAddPartitionsToTransactionWhenTransactionalIdIsEmpty/IsNull.
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, Add(null).Error);
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, Add(Meta(TransactionState.Ongoing), producerId: 11).Error);
        Assert.Equal(ErrorCode.InvalidRequest, TransactionDecisions.AddPartitions(Meta(TransactionState.Empty), "", ProducerId, 5, [Foo0], TransactionVersion.TV0, 0).Error);
        Assert.Equal(ErrorCode.InvalidRequest, TransactionDecisions.AddPartitions(Meta(TransactionState.Empty), null, ProducerId, 5, [Foo0], TransactionVersion.TV0, 0).Error);
    }

    [Fact]
    public void OtherEpoch_IsProducerFenced_OrInvalidProducerEpochBeforeV2()
    {
        // Mirrors shouldRespondWithProducerFencedOnAddPartitionsWhenEpochsAreDifferent.
        Assert.Equal(ErrorCode.ProducerFenced, Add(Meta(TransactionState.PrepareCommit, epoch: 10), epoch: 0).Error);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, TransactionDecisions.ForRequestVersion(ApiKey.AddPartitionsToTxn, 1, ErrorCode.ProducerFenced));
        Assert.Equal(ErrorCode.ProducerFenced, TransactionDecisions.ForRequestVersion(ApiKey.AddPartitionsToTxn, 2, ErrorCode.ProducerFenced));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, TransactionDecisions.ForRequestVersion(ApiKey.AddOffsetsToTxn, 1, ErrorCode.ProducerFenced));
    }

    [Theory]
    [InlineData(TransactionState.PrepareCommit)]
    [InlineData(TransactionState.PrepareAbort)]
    public void WhileCompleting_IsConcurrentTransactions(TransactionState state)
    {
        // Mirrors shouldRespondWithConcurrentTransactionsOnAddPartitionsWhenStateIsPrepareCommit / ...PrepareAbort.
        Assert.Equal(ErrorCode.ConcurrentTransactions, Add(Meta(state)).Error);
    }

    [Fact]
    public void WithAPendingTransition_IsConcurrentTransactions_BeforeTheProducerChecks()
    {
        // Kafka 4.1+ checks the pending transition first: a TV2 producer may already use the id an overflow rotates to.
        var metadata = Meta(TransactionState.Ongoing);
        _ = metadata.PrepareAbortOrCommit(TransactionState.PrepareCommit, TransactionVersion.TV0, -1, 1, false);
        Assert.Equal(ErrorCode.ConcurrentTransactions, Add(metadata, producerId: 99).Error);
    }

    [Theory]
    [InlineData(TransactionState.Empty, TransactionVersion.TV0)]
    [InlineData(TransactionState.CompleteCommit, TransactionVersion.TV0)]
    [InlineData(TransactionState.CompleteCommit, TransactionVersion.TV2)]
    [InlineData(TransactionState.CompleteAbort, TransactionVersion.TV2)]
    public void FromRest_StartsAnOngoingTransaction(TransactionState state, TransactionVersion version)
    {
        // Mirrors shouldAppendNewMetadataToLogOnAddPartitionsWhenPartitionsAdded and
        // shouldRespondWithSuccessOnAddPartitionsWhenStateIsCompleteCommit/CompleteAbort.
        var metadata = Meta(state);
        var decision = Add(metadata, version: version, partitions: [Foo0, Bar0]);
        var transit = decision.Transit!;
        Assert.Equal((ErrorCode.None, TransactionState.Ongoing, 7_000L, version), (decision.Error, transit.State, transit.TxnStartTimestamp, transit.ClientTransactionVersion));
        metadata.CompleteTransitionTo(transit);
        Assert.True(metadata.TopicPartitions.SetEquals([Foo0, Bar0]));
    }

    [Fact]
    public void Ongoing_AddsOnlyWhatIsNew_AndAnswersNoneWithoutAWriteWhenNothingIs()
    {
        // Mirrors shouldRespondWithSuccessOnAddPartitionsWhenStateIsOngoing and the subset shortcut of
        // handleAddPartitionsToTransaction.
        var metadata = Meta(TransactionState.Ongoing, partitions: [Foo0], startMs: 100);
        var same = Add(metadata, partitions: [Foo0]);
        Assert.Equal(ErrorCode.None, same.Error);
        Assert.Null(same.Transit);

        var more = Add(metadata, partitions: [Foo0, Foo1]).Transit!;
        Assert.Equal(100L, more.TxnStartTimestamp);
        metadata.CompleteTransitionTo(more);
        Assert.True(metadata.TopicPartitions.SetEquals([Foo0, Foo1]));
    }

    [Fact]
    public void AddOffsets_AddsTheGroupsConsumerOffsetsPartition()
    {
        // KafkaApis' handleAddOffsetsToTxnRequest: the group's __consumer_offsets partition, at TV0.
        var metadata = Meta(TransactionState.CompleteAbort);
        var decision = TransactionDecisions.AddOffsets(metadata, Id, ProducerId, 5, offsetsPartition: 17, nowMs: 7_000);
        Assert.Equal([new TopicPartition("__consumer_offsets", 17)], decision.Transit!.TopicPartitions);
        Assert.Equal(TransactionVersion.TV0, decision.Transit.ClientTransactionVersion);
    }

    [Fact]
    public void VerifyOnly_AnswersPerPartition()
    {
        // Mirrors testVerifyPartitionHandling, shouldRespondWithErrorsNoneOnAddPartitionWhenOngoingVerifyOnlyAndPartitionsTheSame
        // and shouldRespondWithInvalidTxnStateWhenVerifyOnlyAndPartitionNotPresent (TRANSACTION_ABORTABLE in Kafka 4.x).
        var ongoing = Meta(TransactionState.Ongoing, partitions: [Foo0]);
        var answer = TransactionDecisions.VerifyPartitions(ongoing, Id, ProducerId, 5, [Foo0, Foo1]);
        Assert.Equal(ErrorCode.None, answer[Foo0]);
        Assert.Equal(ErrorCode.TransactionAbortable, answer[Foo1]);

        Assert.All(TransactionDecisions.VerifyPartitions(ongoing, Id, 11, 5, [Foo0, Foo1]).Values, e => Assert.Equal(ErrorCode.InvalidProducerIdMapping, e));
        Assert.All(TransactionDecisions.VerifyPartitions(null, Id, ProducerId, 5, [Foo0]).Values, e => Assert.Equal(ErrorCode.InvalidProducerIdMapping, e));
        Assert.All(TransactionDecisions.VerifyPartitions(ongoing, Id, ProducerId, 4, [Foo0]).Values, e => Assert.Equal(ErrorCode.ProducerFenced, e));
        Assert.All(TransactionDecisions.VerifyPartitions(Meta(TransactionState.PrepareCommit), Id, ProducerId, 5, [Foo0]).Values,
            e => Assert.Equal(ErrorCode.ConcurrentTransactions, e));
        Assert.All(TransactionDecisions.VerifyPartitions(ongoing, "", ProducerId, 5, [Foo0]).Values, e => Assert.Equal(ErrorCode.InvalidRequest, e));

        // A pending transition does not matter: the partitions in the metadata decide.
        var pending = Meta(TransactionState.Ongoing, partitions: []);
        _ = pending.PrepareAddPartitions([Foo1], 1, TransactionVersion.TV0);
        Assert.Equal(ErrorCode.TransactionAbortable, TransactionDecisions.VerifyPartitions(pending, Id, ProducerId, 5, [Foo0])[Foo0]);

        var result = TransactionDecisions.ResultForTransaction(Id, answer);
        Assert.Equal(Id, result.TransactionalId);
        var foo = Assert.Single(result.TopicResults);
        Assert.Equal("foo", foo.Name);
        Assert.Equal([0, 1], foo.ResultsByPartition.Select(p => p.PartitionIndex));
        Assert.Equal([(short)0, (short)120], foo.ResultsByPartition.Select(p => p.PartitionErrorCode));
    }

    [Fact]
    public void TimedOut_IsOngoingPastItsTimeout_WithNothingPending()
    {
        // The filter of TransactionStateManager.timedOutTransactions.
        var metadata = Meta(TransactionState.Ongoing, startMs: 100, timeoutMs: 1_000);
        Assert.False(TransactionDecisions.IsTimedOut(metadata, 1_100));
        Assert.True(TransactionDecisions.IsTimedOut(metadata, 1_101));
        Assert.False(TransactionDecisions.IsTimedOut(Meta(TransactionState.PrepareCommit, startMs: 0), 5_000));
        _ = metadata.PrepareAbortOrCommit(TransactionState.PrepareAbort, TransactionVersion.TV0, -1, 1, false);
        Assert.False(TransactionDecisions.IsTimedOut(metadata, 5_000));
    }

    [Theory]
    [InlineData(TransactionVersion.TV0, 6)]
    [InlineData(TransactionVersion.TV2, 7)]
    public void TimedOutTransaction_IsFencedAndAborted(TransactionVersion level, short abortEpoch)
    {
        // Mirrors shouldAbortExpiredTransactionsInOngoingStateAndBumpEpoch: fence (epoch + 1), then abort with the
        // cluster's transaction version (TV2 bumps once more).
        var metadata = Meta(TransactionState.Ongoing, startMs: 100, timeoutMs: 1_000);
        var decision = TransactionDecisions.AbortTimedOut(metadata, ProducerId, Ids(), TxnConfig(level), nowMs: 2_000)!;
        Assert.True(decision.IsEpochFence);
        var abort = decision.Transit!;
        Assert.Equal((TransactionState.PrepareAbort, abortEpoch, 2_000L, 100L), (abort.State, abort.ProducerEpoch, abort.TxnLastUpdateTimestamp, abort.TxnStartTimestamp));
        metadata.CompleteTransitionTo(abort);
        var plan = TransactionDecisions.PrepareMarkers(metadata, 3, 2_100);
        Assert.Equal((abortEpoch, false), (plan.Marker.ProducerEpoch, plan.Marker.TransactionResult));
    }

    [Fact]
    public void TimedOutTransaction_IsSkipped_WhenPendingOrTheProducerIdChanged()
    {
        // Mirrors shouldNotAbortExpiredTransactionsThatHaveAPendingStateTransition and the producer id check of
        // abortTimedOutTransactions.
        var metadata = Meta(TransactionState.Ongoing);
        Assert.Null(TransactionDecisions.AbortTimedOut(metadata, 11, Ids(), TxnConfig(), 5_000));
        _ = metadata.PrepareAbortOrCommit(TransactionState.PrepareCommit, TransactionVersion.TV0, -1, 1, false);
        Assert.Null(TransactionDecisions.AbortTimedOut(metadata, ProducerId, Ids(), TxnConfig(), 5_000));
    }

    [Theory]
    [InlineData(TransactionState.Empty, true)]
    [InlineData(TransactionState.CompleteCommit, true)]
    [InlineData(TransactionState.CompleteAbort, true)]
    [InlineData(TransactionState.Ongoing, false)]
    [InlineData(TransactionState.PrepareCommit, false)]
    [InlineData(TransactionState.PrepareAbort, false)]
    public void Expiry_RemovesIdleIdsAtRest(TransactionState state, bool expires)
    {
        // Modelled on TransactionStateManagerTest's transactional id expiration cases
        // (transactional.id.expiration.ms is 10,000 here).
        var metadata = Meta(state, updateMs: 100);
        Assert.False(TransactionDecisions.ShouldExpire(metadata, TxnConfig(), 10_099));
        Assert.Equal(expires, TransactionDecisions.ShouldExpire(metadata, TxnConfig(), 10_100));
    }

    [Fact]
    public void Expire_PreparesDead_AndATombstoneKey()
    {
        // Modelled on TransactionStateManagerTest's expiration of a CompleteCommit id: the tombstone's key is the id's key, its value null.
        var metadata = Meta(TransactionState.CompleteCommit, updateMs: 100);
        var (transit, key) = TransactionDecisions.Expire(metadata);
        Assert.Equal(TransactionState.Dead, transit.State);
        Assert.Equal(TransactionState.Dead, metadata.PendingState);
        Assert.Equal(TransactionLog.KeyBytes(Id), key);
        Assert.Equal(Id, TransactionLog.Read(key, default, valueIsNull: true)!.TransactionalId);
        // Pending: not expired twice.
        Assert.False(TransactionDecisions.ShouldExpire(metadata, TxnConfig(), 1_000_000));
        metadata.AbortPendingTransition();
        Assert.True(TransactionDecisions.ShouldExpire(metadata, TxnConfig(), 1_000_000));
    }
}
