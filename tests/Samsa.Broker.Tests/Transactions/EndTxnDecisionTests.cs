using Samsa.Broker.Transactions;
using Samsa.Protocol;
using static Samsa.Broker.Tests.Transactions.Txn;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>
/// <see cref="TransactionDecisions.EndTxn"/>, <see cref="TransactionDecisions.EndTxnAfterAppend"/> and the marker phase,
/// modelled on the EndTxn cases of Kafka's <c>TransactionCoordinatorTest</c> (the case each mirrors is named in it).
/// </summary>
public class EndTxnDecisionTests
{
    private const short Epoch = 5;

    private static EndTxnDecision End(TransactionMetadata? metadata, bool commit, TransactionVersion version, short epoch = Epoch,
        long producerId = ProducerId, ProducerIdGenerator? ids = null) =>
        TransactionDecisions.EndTxn(metadata, Id, producerId, epoch, commit, version, ids ?? Ids(), nowMs: 9_000);

    [Theory]
    [InlineData(TransactionVersion.TV0)]
    [InlineData(TransactionVersion.TV2)]
    public void UnknownIdOrOtherProducerId_IsInvalidProducerIdMapping(TransactionVersion version)
    {
        // Mirrors shouldReplyWithInvalidPidMappingOnEndTxnWhenTxnIdDoesntExist and ...WhenPidDosentMatchMapped.
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, End(null, true, version).Error);
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, End(Meta(TransactionState.Ongoing), true, version, producerId: 11).Error);
        Assert.Equal(ErrorCode.InvalidRequest, TransactionDecisions.EndTxn(Meta(TransactionState.Ongoing), "", ProducerId, Epoch, true, version, Ids(), 0).Error);
    }

    [Theory]
    [InlineData(TransactionVersion.TV0)]
    [InlineData(TransactionVersion.TV2)]
    public void WrongEpoch_IsProducerFenced_OrInvalidProducerEpochForOldClients(TransactionVersion version)
    {
        // Mirrors shouldReplyWithProducerFencedOnEndTxnWhenEpochIsNotSameAsTransaction; KafkaApis maps it for EndTxn v0-v1.
        Assert.Equal(ErrorCode.ProducerFenced, End(Meta(TransactionState.Ongoing), true, version, epoch: 0).Error);
        Assert.Equal(ErrorCode.ProducerFenced, End(Meta(TransactionState.Ongoing), true, version, epoch: 6).Error);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, TransactionDecisions.ForRequestVersion(ApiKey.EndTxn, 1, ErrorCode.ProducerFenced));
        Assert.Equal(ErrorCode.ProducerFenced, TransactionDecisions.ForRequestVersion(ApiKey.EndTxn, 2, ErrorCode.ProducerFenced));
        Assert.Equal(ErrorCode.InvalidTxnState, TransactionDecisions.ForRequestVersion(ApiKey.EndTxn, 0, ErrorCode.InvalidTxnState));
    }

    [Fact]
    public void Tv1Commit_FromOngoing_WritesPrepareCommit_MarkersThenCompleteCommit()
    {
        // Mirrors shouldAppendPrepareCommitToLogOnEndTxnWhenStatusIsOngoingAndResultIsCommit, then the marker completion of
        // TransactionMarkerChannelManager (every partition marked, then the Complete* record).
        var metadata = Meta(TransactionState.Ongoing, partitions: [Foo0, Foo1, Bar0]);
        var decision = End(metadata, commit: true, TransactionVersion.TV0);
        var prepare = decision.Transit!;
        Assert.Equal((ErrorCode.None, TransactionState.PrepareCommit, Epoch, false), (decision.Error, prepare.State, prepare.ProducerEpoch, decision.IsEpochFence));
        Assert.Equal(9_000L, prepare.TxnLastUpdateTimestamp);
        metadata.CompleteTransitionTo(prepare);

        var completion = TransactionDecisions.EndTxnAfterAppend(metadata, ProducerId, Epoch, commit: true, TransactionVersion.TV0, coordinatorEpoch: 4, nowMs: 9_100);
        Assert.Equal((ErrorCode.None, -1L, (short)-1), (completion.Error, completion.ProducerId, completion.ProducerEpoch));
        var plan = completion.Markers!;
        Assert.Equal((ProducerId, Epoch, true, 4), (plan.Marker.ProducerId, plan.Marker.ProducerEpoch, plan.Marker.TransactionResult, plan.Marker.CoordinatorEpoch));
        Assert.Equal(["bar:0", "foo:0,1"], plan.Marker.Topics.Select(t => $"{t.Name}:{string.Join(',', t.PartitionIndexes)}"));
        Assert.Equal(TransactionState.CompleteCommit, metadata.PendingState);

        // While the markers are out, the id is busy.
        Assert.Equal(ErrorCode.ConcurrentTransactions, End(metadata, true, TransactionVersion.TV0).Error);

        foreach (var partition in new[] { Foo0, Foo1, Bar0 })
        {
            metadata.RemovePartition(partition);
        }
        metadata.CompleteTransitionTo(plan.Completion);
        Assert.Equal((TransactionState.CompleteCommit, Epoch, 9_100L), (metadata.State, metadata.ProducerEpoch, metadata.TxnLastUpdateTimestamp));
        Assert.Empty(metadata.TopicPartitions);
    }

    [Fact]
    public void Tv2Commit_FromOngoing_BumpsTheEpoch_AndTheResponseCarriesIt()
    {
        // Mirrors shouldAppendPrepareCommitToLogOnEndTxnWhenStatusIsOngoingAndResultIsCommit at TV2 (KIP-890 part 2).
        var metadata = Meta(TransactionState.Ongoing, clientVersion: TransactionVersion.TV2);
        var decision = End(metadata, commit: true, TransactionVersion.TV2);
        Assert.Equal(((short)6, Epoch, TransactionVersion.TV2), (decision.Transit!.ProducerEpoch, decision.Transit.LastProducerEpoch, decision.Transit.ClientTransactionVersion));
        metadata.CompleteTransitionTo(decision.Transit);

        var completion = TransactionDecisions.EndTxnAfterAppend(metadata, ProducerId, Epoch, true, TransactionVersion.TV2, 0, 9_100);
        Assert.Equal((ErrorCode.None, ProducerId, (short)6), (completion.Error, completion.ProducerId, completion.ProducerEpoch));
        Assert.Equal((short)6, completion.Markers!.Marker.ProducerEpoch);
    }

    [Fact]
    public void Tv1Abort_FromOngoing_KeepsTheEpoch()
    {
        // Mirrors shouldAppendPrepareAbortToLogOnEndTxnWhenStatusIsOngoingAndResultIsAbort.
        var metadata = Meta(TransactionState.Ongoing);
        var decision = End(metadata, commit: false, TransactionVersion.TV0);
        Assert.Equal((TransactionState.PrepareAbort, Epoch), (decision.Transit!.State, decision.Transit.ProducerEpoch));
        metadata.CompleteTransitionTo(decision.Transit);
        var completion = TransactionDecisions.EndTxnAfterAppend(metadata, ProducerId, Epoch, false, TransactionVersion.TV0, 0, 9_100);
        Assert.False(completion.Markers!.Marker.TransactionResult);
        Assert.Equal(TransactionState.CompleteAbort, completion.Markers.Completion.State);
    }

    [Fact]
    public void Tv1_AfterCompletion_TheSameResultIsNone_TheOtherIsInvalidTxnState_AndAnOlderEpochIsFenced()
    {
        // Mirrors testEndTxnWhenStatusIsCompleteCommitAndResultIsCommitInV1, testEndTxnWhenStatusIsCompleteAbortAndResultIsAbortInV1,
        // shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsCompleteCommitAndResultIsNotCommit and
        // testEndTxnRequestWhenStatusIsCompleteCommitAndResultIsAbortInV1.
        var committed = Meta(TransactionState.CompleteCommit, lastEpoch: 4);
        Assert.Equal((ErrorCode.None, -1L), (End(committed, true, TransactionVersion.TV0).Error, End(committed, true, TransactionVersion.TV0).ProducerId));
        Assert.Null(End(committed, true, TransactionVersion.TV0).Transit);
        Assert.Equal(ErrorCode.ProducerFenced, End(committed, true, TransactionVersion.TV0, epoch: 4).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(committed, false, TransactionVersion.TV0).Error);
        Assert.Equal(ErrorCode.ProducerFenced, End(committed, false, TransactionVersion.TV0, epoch: 4).Error);

        var aborted = Meta(TransactionState.CompleteAbort, lastEpoch: 4);
        Assert.Equal(ErrorCode.None, End(aborted, false, TransactionVersion.TV0).Error);
        Assert.Equal(ErrorCode.ProducerFenced, End(aborted, false, TransactionVersion.TV0, epoch: 4).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(aborted, true, TransactionVersion.TV0).Error);
    }

    [Fact]
    public void Tv2_AfterCompletion_ARetryIsNone_TheNextTransactionsAbortBumps()
    {
        // Mirrors testEndTxnWhenStatusIsCompleteCommitAndResultIsCommitInV2, testEndTxnRequestWhenStatusIsCompleteCommitAndResultIsAbortInV2,
        // shouldReturnOkOnEndTxnWhenStatusIsCompleteAbortAndResultIsAbortInV2 and
        // shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsCompleteAbortAndResultIsNotAbort.
        var committed = Meta(TransactionState.CompleteCommit, epoch: 6, lastEpoch: 5, clientVersion: TransactionVersion.TV2);
        var retry = End(committed, true, TransactionVersion.TV2, epoch: 5);
        Assert.Equal((ErrorCode.None, ProducerId, (short)6), (retry.Error, retry.ProducerId, retry.ProducerEpoch));
        Assert.Null(retry.Transit);
        Assert.Equal(ErrorCode.InvalidTxnState, End(committed, true, TransactionVersion.TV2, epoch: 6).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(committed, false, TransactionVersion.TV2, epoch: 5).Error);
        Assert.Equal(ErrorCode.ProducerFenced, End(committed, true, TransactionVersion.TV2, epoch: 4).Error);
        var abort = End(committed, false, TransactionVersion.TV2, epoch: 6).Transit!;
        Assert.Equal((TransactionState.PrepareAbort, (short)7, 9_000L), (abort.State, abort.ProducerEpoch, abort.TxnStartTimestamp));

        var aborted = Meta(TransactionState.CompleteAbort, epoch: 6, lastEpoch: 5, clientVersion: TransactionVersion.TV2);
        Assert.Equal((ErrorCode.None, (short)6), (End(aborted, false, TransactionVersion.TV2, epoch: 5).Error, End(aborted, false, TransactionVersion.TV2, epoch: 5).ProducerEpoch));
        Assert.Equal(ErrorCode.InvalidTxnState, End(aborted, true, TransactionVersion.TV2, epoch: 5).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(aborted, true, TransactionVersion.TV2, epoch: 6).Error);
        Assert.Equal((short)7, End(aborted, false, TransactionVersion.TV2, epoch: 6).Transit!.ProducerEpoch);
    }

    [Fact]
    public void Empty_Tv1RefusesBoth_Tv2AbortsWithAnEpochBump_AndCompletesWithoutMarkers()
    {
        // Modelled on Kafka's TV1 Empty case (INVALID_TXN_STATE) and
        // the TV2 Empty row of Kafka's endTransaction table (abort: epoch bump; retry: PRODUCER_FENCED; commit: INVALID_TXN_STATE).
        Assert.Equal(ErrorCode.InvalidTxnState, End(Meta(TransactionState.Empty), true, TransactionVersion.TV0).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(Meta(TransactionState.Empty), false, TransactionVersion.TV0).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(Meta(TransactionState.Empty), true, TransactionVersion.TV2).Error);
        Assert.Equal(ErrorCode.ProducerFenced, End(Meta(TransactionState.Empty), false, TransactionVersion.TV2, epoch: 4).Error);

        var metadata = Meta(TransactionState.Empty);
        var abort = End(metadata, false, TransactionVersion.TV2).Transit!;
        Assert.Equal((TransactionState.PrepareAbort, (short)6, 9_000L), (abort.State, abort.ProducerEpoch, abort.TxnStartTimestamp));
        metadata.CompleteTransitionTo(abort);
        var completion = TransactionDecisions.EndTxnAfterAppend(metadata, ProducerId, Epoch, false, TransactionVersion.TV2, 0, 9_100);
        Assert.Equal((ErrorCode.None, (short)6), (completion.Error, completion.ProducerEpoch));
        Assert.Empty(completion.Markers!.Marker.Topics);
        metadata.CompleteTransitionTo(completion.Markers.Completion);
        Assert.Equal((TransactionState.CompleteAbort, (short)6), (metadata.State, metadata.ProducerEpoch));
    }

    [Theory]
    [InlineData(TransactionVersion.TV0, Epoch)]
    [InlineData(TransactionVersion.TV2, (short)4)]
    public void WhileCompleting_TheSameResultIsConcurrent_TheOtherInvalid(TransactionVersion version, short requestEpoch)
    {
        // Mirrors shouldReturnConcurrentTransactionsOnEndTxnRequestWhenStatusIsPrepareCommit and
        // shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsPrepareAbort (a TV2 client retries with the epoch before the bump).
        Assert.Equal(ErrorCode.ConcurrentTransactions, End(Meta(TransactionState.PrepareCommit, clientVersion: version), true, version, requestEpoch).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(Meta(TransactionState.PrepareCommit, clientVersion: version), false, version, requestEpoch).Error);
        Assert.Equal(ErrorCode.ConcurrentTransactions, End(Meta(TransactionState.PrepareAbort, clientVersion: version), false, version, requestEpoch).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, End(Meta(TransactionState.PrepareAbort, clientVersion: version), true, version, requestEpoch).Error);
    }

    [Fact]
    public void Tv2_WhileCompleting_TheCurrentEpochIsFenced()
    {
        // The TV2 rule of isValidEpoch: in Prepare* only a retry (epoch + 1 in place) is valid.
        Assert.Equal(ErrorCode.ProducerFenced, End(Meta(TransactionState.PrepareCommit), true, TransactionVersion.TV2, Epoch).Error);
    }

    [Fact]
    public void Tv2_EpochOverflow_RotatesTheProducerId_AndARetryWithTheOldIdIsNone()
    {
        // The TV2 overflow path of endTransaction (retryOnOverflow) and prepareComplete.
        var metadata = Meta(TransactionState.Ongoing, epoch: short.MaxValue - 1, clientVersion: TransactionVersion.TV2);
        var decision = End(metadata, true, TransactionVersion.TV2, epoch: short.MaxValue - 1, ids: Ids(500));
        Assert.Equal((short.MaxValue, 500L), (decision.Transit!.ProducerEpoch, decision.Transit.NextProducerId));
        metadata.CompleteTransitionTo(decision.Transit);

        var completion = TransactionDecisions.EndTxnAfterAppend(metadata, ProducerId, short.MaxValue - 1, true, TransactionVersion.TV2, 0, 9_100);
        Assert.Equal((ErrorCode.None, 500L, (short)0), (completion.Error, completion.ProducerId, completion.ProducerEpoch));
        Assert.Equal((ProducerId, short.MaxValue), (completion.Markers!.Marker.ProducerId, completion.Markers.Marker.ProducerEpoch));
        metadata.RemovePartition(Foo0);
        metadata.CompleteTransitionTo(completion.Markers.Completion);
        Assert.Equal((500L, ProducerId, (short)0), (metadata.ProducerId, metadata.PrevProducerId, metadata.ProducerEpoch));

        var retry = End(metadata, true, TransactionVersion.TV2, epoch: short.MaxValue - 1);
        Assert.Equal((ErrorCode.None, 500L, (short)0), (retry.Error, retry.ProducerId, retry.ProducerEpoch));
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress,
            End(Meta(TransactionState.Ongoing, epoch: short.MaxValue - 1), true, TransactionVersion.TV2, short.MaxValue - 1, ids: NoIds()).Error);
    }

    [Fact]
    public void AfterAppend_RechecksTheProducerAndState()
    {
        var metadata = Meta(TransactionState.PrepareCommit);
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, TransactionDecisions.EndTxnAfterAppend(metadata, 11, Epoch, true, TransactionVersion.TV0, 0, 1).Error);
        Assert.Equal(ErrorCode.ProducerFenced, TransactionDecisions.EndTxnAfterAppend(metadata, ProducerId, 4, true, TransactionVersion.TV0, 0, 1).Error);
        Assert.Equal(ErrorCode.InvalidTxnState, TransactionDecisions.EndTxnAfterAppend(metadata, ProducerId, Epoch, false, TransactionVersion.TV0, 0, 1).Error);
        Assert.Equal(ErrorCode.InvalidTxnState,
            TransactionDecisions.EndTxnAfterAppend(Meta(TransactionState.CompleteCommit), ProducerId, Epoch, true, TransactionVersion.TV0, 0, 1).Error);
        Assert.Throws<InvalidOperationException>(() => TransactionDecisions.PrepareMarkers(Meta(TransactionState.Ongoing), 0, 1));
    }
}
