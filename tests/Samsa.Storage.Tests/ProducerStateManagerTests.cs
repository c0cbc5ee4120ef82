using Samsa.Protocol.Records;
using Samsa.Storage.ProducerState;

namespace Samsa.Storage.Tests;

/// <summary>
/// The idempotent-producer checks of Kafka's <c>ProducerStateManager</c> / <c>ProducerAppendInfo</c> on one partition,
/// and its snapshot file format (golden bytes computed outside this code, CRC-32C included).
/// </summary>
public class ProducerStateManagerTests
{
    private static RecordBatchHeader Batch(long producerId, short epoch, int baseSequence, int records, long baseOffset, long timestamp = 1_700_000_000_000) => new()
    {
        BaseOffset = baseOffset,
        LastOffsetDelta = records - 1,
        RecordCount = records,
        Magic = 2,
        ProducerId = producerId,
        ProducerEpoch = epoch,
        BaseSequence = baseSequence,
        BaseTimestamp = timestamp,
        MaxTimestamp = timestamp,
    };

    private static (ProducerAppendOutcome, BatchMetadata?) Append(ProducerStateManager state, RecordBatchHeader header)
    {
        var result = state.Check(header);
        if (result.Outcome == ProducerAppendOutcome.Append)
        {
            state.Update(header);
        }
        return result;
    }

    [Fact]
    public void InSequenceBatches_Append_AndARetryOfAnyOfTheLastFive_IsADuplicateWithItsOriginalOffsets()
    {
        var state = new ProducerStateManager();
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(ProducerAppendOutcome.Append, Append(state, Batch(7, 0, i * 10, 10, i * 10)).Item1);
        }
        // Batches 1-5 are retained; a retry of batch 3 (sequences 30-39) answers the offsets it got the first time.
        var (outcome, original) = state.Check(Batch(7, 0, 30, 10, 999));
        Assert.Equal(ProducerAppendOutcome.Duplicate, outcome);
        Assert.Equal((30L, 39L), (original!.Value.FirstOffset, original.Value.LastOffset));
        // Batch 0 fell out of the five: its retry is out of order, as in Kafka.
        Assert.Equal(ProducerAppendOutcome.OutOfOrderSequence, state.Check(Batch(7, 0, 0, 10, 999)).Outcome);
    }

    [Fact]
    public void AGap_IsOutOfOrder_AnOlderEpochIsInvalid_AndANewEpochMustStartAtZero()
    {
        var state = new ProducerStateManager();
        Append(state, Batch(7, 1, 0, 5, 0));
        Assert.Equal(ProducerAppendOutcome.OutOfOrderSequence, state.Check(Batch(7, 1, 6, 1, 5)).Outcome);
        Assert.Equal(ProducerAppendOutcome.InvalidProducerEpoch, state.Check(Batch(7, 0, 5, 1, 5)).Outcome);
        Assert.Equal(ProducerAppendOutcome.OutOfOrderSequence, state.Check(Batch(7, 2, 5, 1, 5)).Outcome);
        Assert.Equal(ProducerAppendOutcome.Append, Append(state, Batch(7, 2, 0, 1, 5)).Item1);
        // The new epoch forgot the old one's batches: epoch 1's first batch is no longer a duplicate.
        Assert.Equal(ProducerAppendOutcome.InvalidProducerEpoch, state.Check(Batch(7, 1, 0, 5, 6)).Outcome);
    }

    [Fact]
    public void AnUnknownProducer_MayStartAtAnySequence_AndSequencesWrapAtIntMax()
    {
        var state = new ProducerStateManager();
        // KIP-360: state lost to retention or DeleteRecords must not wedge the producer.
        Assert.Equal(ProducerAppendOutcome.Append, Append(state, Batch(9, 0, int.MaxValue - 1, 2, 0)).Item1);
        Assert.Equal(int.MaxValue, state.Producers[9].LastSequence);
        Assert.Equal(ProducerAppendOutcome.Append, Append(state, Batch(9, 0, 0, 3, 2)).Item1);
        Assert.Equal(2, state.Producers[9].LastSequence);
        Assert.Equal(2, ProducerStateManager.IncrementSequence(int.MaxValue - 1, 4));
        Assert.Equal(int.MaxValue - 1, ProducerStateManager.DecrementSequence(2, 4));
    }

    [Fact]
    public void BatchesWithoutAProducerIdAndControlBatches_AreNotTracked()
    {
        var state = new ProducerStateManager();
        Assert.Equal(ProducerAppendOutcome.Append, Append(state, Batch(-1, -1, -1, 3, 0)).Item1);
        var control = Batch(7, 0, -1, 1, 3) with { Attributes = RecordBatch.ControlMask };
        Assert.Equal(ProducerAppendOutcome.Append, Append(state, control).Item1);
        Assert.Empty(state.Producers);
    }

    [Fact]
    public void Expiry_RemovesIdleProducers_ButNotOnesWithAnOpenTransaction()
    {
        var state = new ProducerStateManager();
        Append(state, Batch(1, 0, 0, 1, 0, timestamp: 1_000));
        Append(state, Batch(2, 0, 0, 1, 1, timestamp: 1_000));
        Append(state, Batch(3, 0, 0, 1, 2, timestamp: 5_000));
        state.Producers[2].CurrentTxnFirstOffset = 1;
        Assert.Equal(1, state.RemoveExpired(nowMs: 6_000, expirationMs: 3_000));
        Assert.Equal([2L, 3L], state.Producers.Keys.Order());
    }

    /// <summary>Kafka's layout, built independently of the writer (CRC-32C computed with a bitwise reference implementation).</summary>
    private const string GoldenSnapshot =
        "0001" + "8f11e4ad" + "00000002" +
        "00000000000003e8" + "0003" + "00000009" + "0000000000000029" + "00000004" + "0000018bcfe5687b" + "ffffffff" + "ffffffffffffffff" +
        "00000000000007d0" + "0000" + "ffffffff" + "ffffffffffffffff" + "00000000" + "0000018bcfe569c8" + "00000007" + "000000000000001e";

    [Fact]
    public void Snapshot_IsKafkasFileFormat_AndRoundTrips()
    {
        ProducerSnapshotEntry[] entries =
        [
            new(1000, 3, 9, 41, 4, 1_700_000_000_123, -1, -1),
            new(2000, 0, -1, -1, 0, 1_700_000_000_456, 7, 30),
        ];
        var bytes = ProducerSnapshotFile.Write(entries);
        Assert.Equal(GoldenSnapshot, Convert.ToHexString(bytes).ToLowerInvariant());
        Assert.Equal(entries, ProducerSnapshotFile.Read(bytes));
        Assert.Equal("00000000000000000042.snapshot", ProducerSnapshotFile.FileName(42));

        bytes[^1] ^= 1;
        Assert.Throws<Samsa.Protocol.ProtocolException>(() => ProducerSnapshotFile.Read(bytes));
    }

    [Fact]
    public void AStateLoadedFromItsSnapshot_StillRecognisesTheLastBatchAsADuplicate()
    {
        var state = new ProducerStateManager();
        Append(state, Batch(7, 2, 0, 5, 100));
        Append(state, Batch(7, 2, 5, 5, 105));
        var restored = new ProducerStateManager();
        restored.LoadSnapshot(state.TakeSnapshot());
        // After a restart the producer resends its last batch: the original offsets, not a second copy.
        var (outcome, original) = restored.Check(Batch(7, 2, 5, 5, 500));
        Assert.Equal(ProducerAppendOutcome.Duplicate, outcome);
        Assert.Equal((105L, 109L), (original!.Value.FirstOffset, original.Value.LastOffset));
        Assert.Equal(ProducerAppendOutcome.Append, restored.Check(Batch(7, 2, 10, 1, 110)).Outcome);
        Assert.Equal(ProducerAppendOutcome.OutOfOrderSequence, restored.Check(Batch(7, 2, 12, 1, 110)).Outcome);
    }
}
