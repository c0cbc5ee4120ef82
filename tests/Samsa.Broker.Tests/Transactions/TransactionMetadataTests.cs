using Samsa.Broker.Transactions;
using Samsa.Protocol;
using static Samsa.Broker.Tests.Transactions.Txn;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>
/// <see cref="TransactionMetadata"/> and <see cref="TransactionState"/>; the cases follow Kafka's
/// <c>TransactionMetadataTest</c> (where Kafka has a matching case, the test names it).
/// </summary>
public class TransactionMetadataTests
{
    [Fact]
    public void States_HaveKafkasIdsNamesAndExpiryRules()
    {
        var expected = new (TransactionState State, sbyte Id, string Name, bool Expires)[]
        {
            (TransactionState.Empty, 0, "Empty", true),
            (TransactionState.Ongoing, 1, "Ongoing", false),
            (TransactionState.PrepareCommit, 2, "PrepareCommit", false),
            (TransactionState.PrepareAbort, 3, "PrepareAbort", false),
            (TransactionState.CompleteCommit, 4, "CompleteCommit", true),
            (TransactionState.CompleteAbort, 5, "CompleteAbort", true),
            (TransactionState.Dead, 6, "Dead", false),
            (TransactionState.PrepareEpochFence, 7, "PrepareEpochFence", false),
        };
        foreach (var (state, id, name, expires) in expected)
        {
            Assert.Equal(id, (sbyte)state);
            Assert.Equal(state, TransactionStates.FromId(id));
            Assert.Equal(name, state.Name());
            Assert.Equal(state, TransactionStates.FromName(name));
            Assert.Equal(expires, state.IsExpirationAllowed());
        }
        Assert.Null(TransactionStates.FromName("ongoing"));
        Assert.Throws<InvalidDataException>(() => TransactionStates.FromId(8));
    }

    [Fact]
    public void ValidPreviousStates_AreKafkas()
    {
        Assert.Equal([TransactionState.Empty, TransactionState.CompleteCommit, TransactionState.CompleteAbort],
            TransactionState.Empty.ValidPreviousStates());
        Assert.Equal([TransactionState.Empty, TransactionState.Ongoing, TransactionState.CompleteCommit, TransactionState.CompleteAbort],
            TransactionState.Ongoing.ValidPreviousStates());
        Assert.Equal([TransactionState.Ongoing], TransactionState.PrepareCommit.ValidPreviousStates());
        Assert.Equal([TransactionState.Empty, TransactionState.Ongoing, TransactionState.CompleteCommit, TransactionState.CompleteAbort, TransactionState.PrepareEpochFence],
            TransactionState.PrepareAbort.ValidPreviousStates());
        Assert.Equal([TransactionState.PrepareCommit], TransactionState.CompleteCommit.ValidPreviousStates());
        Assert.Equal([TransactionState.PrepareAbort], TransactionState.CompleteAbort.ValidPreviousStates());
        Assert.Equal([TransactionState.Empty, TransactionState.CompleteCommit, TransactionState.CompleteAbort], TransactionState.Dead.ValidPreviousStates());
        Assert.Equal([TransactionState.Ongoing], TransactionState.PrepareEpochFence.ValidPreviousStates());
    }

    [Fact]
    public void NewId_FirstBump_GivesEpochZero()
    {
        // Mirrors testInitializeEpoch.
        var metadata = TransactionMetadata.CreateNew(Id, ProducerId, 1_000, nowMs: 50);
        var transit = metadata.PrepareIncrementProducerEpoch(30_000, null, 60, out var error)!;
        Assert.Equal(ErrorCode.None, error);
        Assert.Equal(TransactionState.Empty, metadata.PendingState);
        metadata.CompleteTransitionTo(transit);
        Assert.Equal((ProducerId, (short)0, (short)-1, 30_000, 60L), (metadata.ProducerId, metadata.ProducerEpoch, metadata.LastProducerEpoch,
            metadata.TxnTimeoutMs, metadata.TxnLastUpdateTimestamp));
        Assert.Null(metadata.PendingState);
    }

    [Fact]
    public void NormalEpochBump_RaisesByOne()
    {
        // Mirrors testNormalEpochBump.
        var metadata = Meta(TransactionState.Empty, epoch: 735);
        var transit = metadata.PrepareIncrementProducerEpoch(30_000, null, 200, out _)!;
        metadata.CompleteTransitionTo(transit);
        Assert.Equal((short)736, metadata.ProducerEpoch);
        Assert.Equal((short)-1, metadata.LastProducerEpoch);
        Assert.Equal(ProducerId, metadata.PrevProducerId);
    }

    [Fact]
    public void EpochBump_WithExpectedCurrentEpoch_RecordsTheLastEpoch_AndARetryGetsTheSameAnswer()
    {
        // Mirrors testEpochBumpWithCurrentEpochProvided, testAttemptedEpochBumpWithLastEpoch and testAttemptedEpochBumpWithFencedEpoch.
        var metadata = Meta(TransactionState.Empty, epoch: 7);
        metadata.CompleteTransitionTo(metadata.PrepareIncrementProducerEpoch(1_000, 7, 200, out _)!);
        Assert.Equal(((short)8, (short)7), (metadata.ProducerEpoch, metadata.LastProducerEpoch));

        var retry = metadata.PrepareIncrementProducerEpoch(1_000, 7, 300, out var error)!;
        Assert.Equal(ErrorCode.None, error);
        Assert.Equal(((short)8, (short)7), (retry.ProducerEpoch, retry.LastProducerEpoch));
        metadata.AbortPendingTransition();

        Assert.Null(metadata.PrepareIncrementProducerEpoch(1_000, 3, 300, out error));
        Assert.Equal(ErrorCode.ProducerFenced, error);
        Assert.Null(metadata.PendingState);
    }

    [Fact]
    public void EpochBump_WhenExhausted_Throws()
    {
        // Mirrors testBumpEpochNotAllowedIfEpochsExhausted.
        var metadata = Meta(TransactionState.Empty, epoch: short.MaxValue - 1);
        Assert.True(metadata.IsProducerEpochExhausted);
        Assert.Throws<InvalidOperationException>(() => metadata.PrepareIncrementProducerEpoch(1_000, null, 200, out _));
    }

    [Fact]
    public void Fence_AfterEpochsExhausted_UsesShortMaxValue()
    {
        // Mirrors testFenceProducerAfterEpochsExhausted.
        var metadata = Meta(TransactionState.Ongoing, epoch: short.MaxValue - 1);
        var fence = metadata.PrepareFenceProducerEpoch();
        Assert.Equal(short.MaxValue, fence.ProducerEpoch);
        Assert.Equal(TransactionState.PrepareEpochFence, metadata.PendingState);
        // A fence is never written, so it can never complete.
        Assert.Throws<InvalidOperationException>(() => metadata.CompleteTransitionTo(fence));
    }

    [Fact]
    public void Fence_AtShortMaxValue_DoesNotOverflow_AndAfterAFailedFenceDoesNotBumpAgain()
    {
        // Mirrors testFenceProducerNotAllowedIfItWouldOverflow (Kafka now logs and keeps the epoch) and the
        // hasFailedEpochFence rule.
        var atMax = Meta(TransactionState.Ongoing, epoch: short.MaxValue);
        Assert.Equal(short.MaxValue, atMax.PrepareFenceProducerEpoch().ProducerEpoch);

        var failed = Meta(TransactionState.Ongoing, epoch: 9);
        failed.HasFailedEpochFence = true;
        Assert.Equal((short)9, failed.PrepareFenceProducerEpoch().ProducerEpoch);
    }

    [Fact]
    public void ProducerIdRotation_StartsAtEpochZero_AndNeedsNoPendingTransaction()
    {
        // Mirrors testRotateProducerId and testRotateProducerIdInOngoingState.
        var metadata = Meta(TransactionState.CompleteCommit, epoch: short.MaxValue - 1);
        var transit = metadata.PrepareProducerIdRotation(99, 1_000, 300, recordLastEpoch: false);
        metadata.CompleteTransitionTo(transit);
        Assert.Equal((99L, (short)0, (short)-1, ProducerId), (metadata.ProducerId, metadata.ProducerEpoch, metadata.LastProducerEpoch, metadata.PrevProducerId));

        var withLast = Meta(TransactionState.Empty, epoch: short.MaxValue - 1);
        Assert.Equal(short.MaxValue - 1, withLast.PrepareProducerIdRotation(99, 1_000, 300, recordLastEpoch: true).LastProducerEpoch);

        foreach (var busy in new[] { TransactionState.Ongoing, TransactionState.PrepareCommit, TransactionState.PrepareAbort })
        {
            Assert.Throws<InvalidOperationException>(() => Meta(busy).PrepareProducerIdRotation(99, 1_000, 300, false));
        }
    }

    [Fact]
    public void AddPartitions_StartsTheTransaction_AndKeepsTheStartTimeWhileOngoing()
    {
        var metadata = Meta(TransactionState.CompleteCommit, updateMs: 100);
        metadata.CompleteTransitionTo(metadata.PrepareAddPartitions([Foo0], 200, TransactionVersion.TV2));
        Assert.Equal((TransactionState.Ongoing, 200L, TransactionVersion.TV2), (metadata.State, metadata.TxnStartTimestamp, metadata.ClientTransactionVersion));

        metadata.CompleteTransitionTo(metadata.PrepareAddPartitions([Foo1], 300, TransactionVersion.TV2));
        Assert.Equal(200L, metadata.TxnStartTimestamp);
        Assert.Equal(300L, metadata.TxnLastUpdateTimestamp);
        Assert.True(metadata.TopicPartitions.SetEquals([Foo0, Foo1]));
    }

    [Fact]
    public void PrepareCommit_UnderTv2_BumpsTheEpoch_AndCompletionKeepsIt()
    {
        // The TV2 bump of prepareAbortOrCommit (KIP-890 part 2); Kafka covers it inside its TV2 coordinator cases.
        var metadata = Meta(TransactionState.Ongoing, epoch: 5, clientVersion: TransactionVersion.TV2);
        var prepare = metadata.PrepareAbortOrCommit(TransactionState.PrepareCommit, TransactionVersion.TV2, -1, 200, noPartitionAdded: false);
        Assert.Equal(((short)6, (short)5), (prepare.ProducerEpoch, prepare.LastProducerEpoch));
        metadata.CompleteTransitionTo(prepare);

        var complete = metadata.PrepareComplete(300);
        Assert.Equal((ProducerId, (short)6, TransactionState.CompleteCommit), (complete.ProducerId, complete.ProducerEpoch, complete.State));
        Assert.Empty(complete.TopicPartitions);
        metadata.CompleteTransitionTo(complete);
        Assert.Equal(TransactionState.CompleteCommit, metadata.State);
    }

    [Fact]
    public void PrepareCommit_UnderTv1_KeepsTheEpoch()
    {
        // Modelled on the TV1 prepare/complete transitions of testTolerateTimeShiftDuringPrepareAbort/CompleteAbort.
        var metadata = Meta(TransactionState.Ongoing, epoch: 5, lastEpoch: 4);
        var prepare = metadata.PrepareAbortOrCommit(TransactionState.PrepareAbort, TransactionVersion.TV0, -1, 200, noPartitionAdded: false);
        Assert.Equal(((short)5, (short)4), (prepare.ProducerEpoch, prepare.LastProducerEpoch));
        metadata.CompleteTransitionTo(prepare);
        metadata.CompleteTransitionTo(metadata.PrepareComplete(300));
        Assert.Equal((TransactionState.CompleteAbort, (short)5), (metadata.State, metadata.ProducerEpoch));
    }

    [Fact]
    public void EpochOverflow_UnderTv2_RotatesToTheNextProducerIdAtCompletion()
    {
        // The TV2 overflow path of prepareAbortOrCommit/prepareComplete (the last client epoch is short.MaxValue - 1;
        // short.MaxValue is only on markers), as Kafka's comments in prepareComplete describe it.
        var metadata = Meta(TransactionState.Ongoing, epoch: short.MaxValue - 1, clientVersion: TransactionVersion.TV2);
        var prepare = metadata.PrepareAbortOrCommit(TransactionState.PrepareCommit, TransactionVersion.TV2, nextProducerId: 77, 200, false);
        Assert.Equal((short.MaxValue, short.MaxValue - 1, 77L), (prepare.ProducerEpoch, (int)prepare.LastProducerEpoch, prepare.NextProducerId));
        metadata.CompleteTransitionTo(prepare);

        var complete = metadata.PrepareComplete(300);
        Assert.Equal((77L, ProducerId, (short)0, (short)(short.MaxValue - 1), -1L),
            (complete.ProducerId, complete.PrevProducerId, complete.ProducerEpoch, complete.LastProducerEpoch, complete.NextProducerId));
        metadata.CompleteTransitionTo(complete);
        Assert.Equal((77L, (short)0), (metadata.ProducerId, metadata.ProducerEpoch));
    }

    [Fact]
    public void AbortAtShortMaxValue_UnderTv2_IsNotBumped()
    {
        // prepareAbortOrCommit's short.MaxValue rule: a fenced exhausted producer can still abort.
        var metadata = Meta(TransactionState.Ongoing, epoch: short.MaxValue, clientVersion: TransactionVersion.TV2);
        var prepare = metadata.PrepareAbortOrCommit(TransactionState.PrepareAbort, TransactionVersion.TV2, -1, 200, false);
        Assert.Equal(short.MaxValue, prepare.ProducerEpoch);
    }

    [Fact]
    public void Tv2AbortFromEmpty_StartsTheTransactionNow()
    {
        // Mirrors testTransitFromEmptyToPrepareAbortInV2.
        var metadata = Meta(TransactionState.Empty, epoch: 3);
        var prepare = metadata.PrepareAbortOrCommit(TransactionState.PrepareAbort, TransactionVersion.TV2, -1, 500, noPartitionAdded: true);
        Assert.Equal((500L, (short)4), (prepare.TxnStartTimestamp, prepare.ProducerEpoch));
        metadata.CompleteTransitionTo(prepare);
        Assert.Equal(TransactionState.PrepareAbort, metadata.State);
    }

    [Fact]
    public void Transitions_AreRefused_WhilePending_OrFromAnInvalidState()
    {
        // The guards of Kafka's prepareTransitionTo (pending state, valid previous state, epoch -1).
        var metadata = Meta(TransactionState.Empty);
        _ = metadata.PrepareIncrementProducerEpoch(1_000, null, 200, out _);
        Assert.Throws<InvalidOperationException>(() => metadata.PrepareAddPartitions([Foo0], 300, TransactionVersion.TV0));

        var empty = Meta(TransactionState.Empty);
        Assert.Throws<InvalidOperationException>(() =>
            empty.PrepareAbortOrCommit(TransactionState.PrepareCommit, TransactionVersion.TV0, -1, 200, false));
        Assert.Null(empty.PendingState);

        var fresh = TransactionMetadata.CreateNew(Id, ProducerId, 1_000, 0);
        Assert.Throws<ArgumentException>(() => fresh.PrepareAddPartitions([Foo0], 10, TransactionVersion.TV0));
    }

    [Fact]
    public void CompleteTransition_ChecksThePendingStateAndTheEpoch()
    {
        var metadata = Meta(TransactionState.Ongoing, epoch: 5);
        var transit = metadata.PrepareAbortOrCommit(TransactionState.PrepareCommit, TransactionVersion.TV0, -1, 200, false);
        Assert.Throws<InvalidOperationException>(() => metadata.CompleteTransitionTo(transit with { State = TransactionState.PrepareAbort }));
        Assert.Throws<InvalidOperationException>(() => metadata.CompleteTransitionTo(transit with { ProducerEpoch = 9 }));
        Assert.Throws<InvalidOperationException>(() => metadata.CompleteTransitionTo(transit with { TopicPartitions = [Foo1] }));

        var idle = Meta(TransactionState.Empty);
        Assert.Throws<InvalidOperationException>(() => idle.CompleteTransitionTo(idle.Snapshot()));
    }

    [Fact]
    public void Dead_CanBePrepared_ButNeverCompleted()
    {
        // Kafka's completeTransitionTo refuses Dead: the tombstone's commit drops the id instead.
        var metadata = Meta(TransactionState.CompleteAbort);
        var dead = metadata.PrepareDead();
        Assert.Equal(TransactionState.Dead, dead.State);
        Assert.Throws<InvalidOperationException>(() => metadata.CompleteTransitionTo(dead));
        Assert.Throws<InvalidOperationException>(() => Meta(TransactionState.Ongoing).PrepareDead());
    }

    [Fact]
    public void RemovePartition_OnlyWhileCompleting()
    {
        var ongoing = Meta(TransactionState.Ongoing, partitions: [Foo0, Foo1]);
        Assert.Throws<InvalidOperationException>(() => ongoing.RemovePartition(Foo0));
        var prepare = Meta(TransactionState.PrepareCommit, partitions: [Foo0, Foo1]);
        prepare.RemovePartition(Foo0);
        Assert.Equal([Foo1], prepare.TopicPartitions);
    }
}
