using Samsa.Broker.Transactions;
using Samsa.Protocol;
using static Samsa.Broker.Tests.Transactions.Txn;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>
/// <see cref="TransactionDecisions.InitProducerId"/>, modelled on the InitProducerId cases of Kafka's
/// <c>TransactionCoordinatorTest</c> (the case each mirrors is named in it).
/// </summary>
public class InitProducerIdDecisionTests
{
    private static InitProducerIdDecision Init(TransactionMetadata? metadata, long expectedId = -1, short expectedEpoch = -1,
        int timeoutMs = 30_000, TransactionVersion level = TransactionVersion.TV2, ProducerIdGenerator? ids = null, string? id = Id) =>
        TransactionDecisions.InitProducerId(metadata, id, timeoutMs, expectedId, expectedEpoch, ids ?? Ids(), TxnConfig(level), nowMs: 5_000);

    [Fact]
    public void NewTransactionalId_GetsANewProducerIdAtEpochZero()
    {
        // Mirrors shouldInitPidWithEpochZeroForNewTransactionalId.
        var decision = Init(null);
        Assert.Equal((ErrorCode.None, 100L, (short)0), (decision.Error, decision.ProducerId, decision.ProducerEpoch));
        var created = Assert.IsType<TransactionMetadata>(decision.Created);
        Assert.Equal((Id, 100L, (short)-1, TransactionState.Empty), (created.TransactionalId, created.ProducerId, created.ProducerEpoch, created.State));
        Assert.Equal(TransactionState.Empty, created.PendingState);

        created.CompleteTransitionTo(decision.Transit!);
        Assert.Equal(((short)0, 30_000, 5_000L), (created.ProducerEpoch, created.TxnTimeoutMs, created.TxnLastUpdateTimestamp));
    }

    [Fact]
    public void NullTransactionalId_IsAnIdempotentProducer_WithNoState()
    {
        // Mirrors shouldAcceptInitPidAndReturnNextPidWhenTransactionalIdIsNull.
        var decision = Init(null, id: null);
        Assert.Equal((ErrorCode.None, 100L, (short)0), (decision.Error, decision.ProducerId, decision.ProducerEpoch));
        Assert.Null(decision.Transit);
        Assert.Null(decision.Created);
    }

    [Fact]
    public void EmptyTransactionalId_BadTimeouts_AndHalfAnExpectedProducer_AreRefused()
    {
        // Mirrors shouldReturnInvalidRequestWhenTransactionalIdIsEmpty and the timeout check of handleInitProducerId;
        // one of producerId/epoch set alone is KafkaApis' INVALID_REQUEST.
        Assert.Equal(ErrorCode.InvalidRequest, Init(null, id: "").Error);
        Assert.Equal(ErrorCode.InvalidTransactionTimeout, Init(null, timeoutMs: 0).Error);
        Assert.Equal(ErrorCode.InvalidTransactionTimeout, Init(null, timeoutMs: 60_001).Error);
        Assert.Equal(ErrorCode.None, Init(null, timeoutMs: 60_000).Error);
        Assert.Equal(ErrorCode.InvalidRequest, Init(null, expectedId: 10).Error);
        Assert.Equal(ErrorCode.InvalidRequest, Init(null, expectedEpoch: 3).Error);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, Init(null, ids: NoIds()).Error);
    }

    [Theory]
    [InlineData(TransactionState.Empty)]
    [InlineData(TransactionState.CompleteCommit)]
    [InlineData(TransactionState.CompleteAbort)]
    public void ExistingIdAtRest_BumpsTheEpoch(TransactionState state)
    {
        // Mirrors shouldIncrementEpochAndUpdateMetadataOnHandleInitPidWhenExistingEmptyTransaction and
        // ...WhenExistingCompleteTransaction.
        var metadata = Meta(state, epoch: 5);
        var decision = Init(metadata);
        Assert.Equal((ErrorCode.None, ProducerId, (short)6), (decision.Error, decision.ProducerId, decision.ProducerEpoch));
        Assert.Null(decision.Created);
        metadata.CompleteTransitionTo(decision.Transit!);
        Assert.Equal((TransactionState.Empty, (short)6, -1L), (metadata.State, metadata.ProducerEpoch, metadata.TxnStartTimestamp));
        Assert.Empty(metadata.TopicPartitions);
    }

    [Theory]
    [InlineData(TransactionState.PrepareCommit)]
    [InlineData(TransactionState.PrepareAbort)]
    public void WhileCompleting_AnswersConcurrentTransactions(TransactionState state)
    {
        // Mirrors the cases built on validateRespondsWithConcurrentTransactionsOnInitPidWhenInPrepareState.
        var decision = Init(Meta(state));
        Assert.Equal(ErrorCode.ConcurrentTransactions, decision.Error);
        Assert.Null(decision.Transit);
    }

    [Fact]
    public void WithAPendingTransition_AnswersConcurrentTransactions()
    {
        // The first check of Kafka's prepareInitProducerIdTransit: a pending transition answers CONCURRENT_TRANSACTIONS.
        var metadata = Meta(TransactionState.Empty);
        _ = metadata.PrepareAddPartitions([Foo0], 1, TransactionVersion.TV0);
        Assert.Equal(ErrorCode.ConcurrentTransactions, Init(metadata).Error);
    }

    [Fact]
    public void Ongoing_UnderTv1_FencesTheEpochAndAborts_ThenTheRetryBumpsAgain()
    {
        // Mirrors shouldAbortTransactionOnHandleInitPidWhenExistingTransactionInOngoingState.
        var metadata = Meta(TransactionState.Ongoing, epoch: 5, partitions: [Foo0, Bar0]);
        var decision = Init(metadata, level: TransactionVersion.TV0);
        Assert.Equal(ErrorCode.ConcurrentTransactions, decision.Error);
        Assert.True(decision.IsEpochFence);
        var abort = decision.Transit!;
        Assert.Equal((TransactionState.PrepareAbort, (short)6, (short)-1, TransactionVersion.TV0),
            (abort.State, abort.ProducerEpoch, abort.LastProducerEpoch, abort.ClientTransactionVersion));

        metadata.CompleteTransitionTo(abort);
        var plan = TransactionDecisions.PrepareMarkers(metadata, coordinatorEpoch: 2, nowMs: 6_000);
        Assert.Equal((ProducerId, (short)6, false, 2), (plan.Marker.ProducerId, plan.Marker.ProducerEpoch, plan.Marker.TransactionResult, plan.Marker.CoordinatorEpoch));
        Assert.Equal(["bar", "foo"], plan.Marker.Topics.Select(t => t.Name));
        metadata.RemovePartition(Foo0);
        metadata.RemovePartition(Bar0);
        metadata.CompleteTransitionTo(plan.Completion);
        Assert.Equal(TransactionState.CompleteAbort, metadata.State);

        var retry = Init(metadata, level: TransactionVersion.TV0);
        Assert.Equal((ErrorCode.None, (short)7), (retry.Error, retry.ProducerEpoch));
    }

    [Fact]
    public void Ongoing_UnderTv2_TheAbortBumpsPastTheFencingEpoch()
    {
        // The TV2 variant of the case above: the fence raises the epoch to 6 and the TV2 abort bumps it again to 7.
        var metadata = Meta(TransactionState.Ongoing, epoch: 5, clientVersion: TransactionVersion.TV2);
        var decision = Init(metadata, level: TransactionVersion.TV2);
        Assert.Equal(ErrorCode.ConcurrentTransactions, decision.Error);
        var abort = decision.Transit!;
        Assert.Equal(((short)7, (short)6, TransactionVersion.TV2), (abort.ProducerEpoch, abort.LastProducerEpoch, abort.ClientTransactionVersion));
        metadata.CompleteTransitionTo(abort);
        Assert.Equal((short)7, TransactionDecisions.PrepareMarkers(metadata, 0, 6_000).Marker.ProducerEpoch);
    }

    [Fact]
    public void Ongoing_WithAnExhaustedEpoch_FencesWithShortMaxValue_AndTheRetryRotates()
    {
        // Mirrors shouldUseLastEpochToFenceWhenEpochsAreExhausted.
        var metadata = Meta(TransactionState.Ongoing, epoch: short.MaxValue - 1, lastEpoch: short.MaxValue - 2);
        var decision = Init(metadata, level: TransactionVersion.TV0);
        Assert.Equal(ErrorCode.ConcurrentTransactions, decision.Error);
        var abort = decision.Transit!;
        Assert.Equal((short.MaxValue, (short)-1, ProducerId, TransactionState.PrepareAbort),
            (abort.ProducerEpoch, abort.LastProducerEpoch, abort.PrevProducerId, abort.State));
        Assert.Equal(short.MaxValue, metadata.ProducerEpoch);

        metadata.CompleteTransitionTo(abort);
        var plan = TransactionDecisions.PrepareMarkers(metadata, 0, 6_000);
        metadata.RemovePartition(Foo0);
        metadata.CompleteTransitionTo(plan.Completion);
        var retry = Init(metadata, level: TransactionVersion.TV0);
        Assert.Equal((ErrorCode.None, 100L, (short)0), (retry.Error, retry.ProducerId, retry.ProducerEpoch));
    }

    [Fact]
    public void FailedFenceWrite_DoesNotBumpTheEpochAgain()
    {
        // Mirrors shouldNotRepeatedlyBumpEpochDueToInitPidDuringOngoingTxnIfAppendToLogFails.
        var metadata = Meta(TransactionState.Ongoing, epoch: 5);
        var first = Init(metadata, level: TransactionVersion.TV0);
        metadata.AbortPendingTransition(failedEpochFence: first.IsEpochFence);
        Assert.True(metadata.HasFailedEpochFence);
        Assert.Equal((short)6, metadata.ProducerEpoch);

        var second = Init(metadata, level: TransactionVersion.TV0);
        Assert.Equal((short)6, second.Transit!.ProducerEpoch);
        metadata.CompleteTransitionTo(second.Transit);
        // The Prepare* record committed: the completion clears the flag.
        _ = TransactionDecisions.PrepareMarkers(metadata, 0, 6_000);
        Assert.False(metadata.HasFailedEpochFence);
    }

    [Fact]
    public void ExhaustedEpoch_RotatesToANewProducerId()
    {
        // Mirrors shouldGenerateNewProducerIdIfEpochsExhausted.
        var metadata = Meta(TransactionState.CompleteCommit, epoch: short.MaxValue - 1);
        var decision = Init(metadata);
        Assert.Equal((ErrorCode.None, 100L, (short)0), (decision.Error, decision.ProducerId, decision.ProducerEpoch));
        Assert.Equal((ProducerId, (short)-1), (decision.Transit!.PrevProducerId, decision.Transit.LastProducerEpoch));
        metadata.CompleteTransitionTo(decision.Transit);
        Assert.Equal((100L, ProducerId), (metadata.ProducerId, metadata.PrevProducerId));
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, Init(Meta(TransactionState.Empty, epoch: short.MaxValue - 1), ids: NoIds()).Error);
    }

    [Fact]
    public void Kip360_CurrentEpoch_BumpsAndRemembersIt_AndARetryGetsTheSameEpoch()
    {
        // Mirrors testInitProducerIdWithCurrentEpochProvided (bump, then the same answer to a retry).
        var metadata = Meta(TransactionState.Empty, epoch: 5);
        var decision = Init(metadata, ProducerId, 5);
        Assert.Equal(((short)6, (short)5), (decision.Transit!.ProducerEpoch, decision.Transit.LastProducerEpoch));
        metadata.CompleteTransitionTo(decision.Transit);

        var retry = Init(metadata, ProducerId, 5);
        Assert.Equal((ErrorCode.None, (short)6), (retry.Error, retry.ProducerEpoch));
    }

    [Fact]
    public void Kip360_WrongEpochOrProducerId_IsFenced_AndOldClientsSeeInvalidProducerEpoch()
    {
        // Mirrors testInitProducerIdWithNoLastProducerData, testInitProducerIdStaleCurrentEpochProvided and
        // testFenceProducerWhenMappingExistsWithDifferentProducerId; KafkaApis maps the error for v0-v3.
        Assert.Equal(ErrorCode.ProducerFenced, Init(Meta(TransactionState.Empty, epoch: 6), ProducerId, 5).Error);
        var stale = Meta(TransactionState.Empty, epoch: 10, lastEpoch: 9);
        var fresh = Init(stale);
        Assert.Equal((short)11, fresh.ProducerEpoch);
        stale.CompleteTransitionTo(fresh.Transit!);
        Assert.Equal(ErrorCode.ProducerFenced, Init(stale, ProducerId, 10).Error);
        Assert.Equal(ErrorCode.ProducerFenced, Init(Meta(TransactionState.Empty, epoch: 5, producerId: ProducerId + 1, prevProducerId: ProducerId), ProducerId, 5).Error);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, TransactionDecisions.ForRequestVersion(ApiKey.InitProducerId, 3, ErrorCode.ProducerFenced));
        Assert.Equal(ErrorCode.ProducerFenced, TransactionDecisions.ForRequestVersion(ApiKey.InitProducerId, 4, ErrorCode.ProducerFenced));
    }

    [Fact]
    public void Kip360_AJustCreatedId_AcceptsAnyExpectedProducer()
    {
        // The first rule of Kafka's isValidProducerId: epoch -1 (just created) accepts a producer recovering from
        // UNKNOWN_PRODUCER_ID.
        var decision = Init(null, 99, 5);
        Assert.Equal((ErrorCode.None, 100L, (short)0), (decision.Error, decision.ProducerId, decision.ProducerEpoch));
        Assert.Equal((short)-1, decision.Transit!.LastProducerEpoch);
    }

    [Fact]
    public void Kip360_RetryAfterARotation_IsAnsweredWithTheNewId_AndAStaleEpochIsFenced()
    {
        // Mirrors testRetryInitProducerIdAfterProducerIdRotation and testInitProducerIdWithInvalidEpochAfterProducerIdRotation.
        var metadata = Meta(TransactionState.Empty, epoch: short.MaxValue - 1);
        var rotate = Init(metadata, ProducerId, short.MaxValue - 1);
        Assert.Equal((100L, (short)0, (short)(short.MaxValue - 1)), (rotate.ProducerId, rotate.ProducerEpoch, rotate.Transit!.LastProducerEpoch));
        metadata.CompleteTransitionTo(rotate.Transit);

        var retry = Init(metadata, ProducerId, short.MaxValue - 1);
        Assert.Equal((ErrorCode.None, 100L, (short)0), (retry.Error, retry.ProducerId, retry.ProducerEpoch));
        metadata.AbortPendingTransition();

        Assert.Equal(ErrorCode.ProducerFenced, Init(metadata, ProducerId, short.MaxValue - 2).Error);
    }
}
