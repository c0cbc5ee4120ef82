using Samsa.Broker.Transactions;
using Samsa.Protocol;
using Samsa.Storage.Checkpoints;
using static Samsa.Broker.Tests.Transactions.Txn;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>
/// <see cref="TransactionLog"/>: golden bytes derived by hand from TransactionLogKey.json and TransactionLogValue.json,
/// and round trips (Kafka's <c>TransactionLogTest</c>).
/// </summary>
public class TransactionLogTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static TxnTransitMetadata Transit(TransactionState state, TransactionVersion clientVersion, params TopicPartition[] partitions) =>
        new(1000, 1000, -1, 6, 5, 60_000, state, [.. partitions], state == TransactionState.Empty ? -1 : 1500, 3000, clientVersion);

    [Fact]
    public void Key_IsVersionZeroThenTheIdAsAClassicString()
    {
        // int16 version 0 | int16 length 6 | "my-txn"
        Assert.Equal(Hex("0000 0006 6D792D74786E"), TransactionLog.KeyBytes("my-txn"));
    }

    [Fact]
    public void ValueV0_IsKafkasClassicLayout()
    {
        var transit = new TxnTransitMetadata(1000, -1, -1, 5, -1, 60_000, TransactionState.Ongoing, [Foo0, Foo1], 1500, 2000, TransactionVersion.TV0);
        var expected = Hex(
            "0000" +                  // value version 0
            "00000000000003E8" +      // ProducerId 1000
            "0005" +                  // ProducerEpoch 5
            "0000EA60" +              // TransactionTimeoutMs 60000
            "01" +                    // TransactionStatus Ongoing
            "00000001" +              // TransactionPartitions: int32 count 1
            "0003 666F6F" +           //   Topic "foo" (int16 length)
            "00000002 00000000 00000001" + // PartitionIds: int32 count 2, 0, 1
            "00000000000007D0" +      // TransactionLastUpdateTimestampMs 2000
            "00000000000005DC");      // TransactionStartTimestampMs 1500
        Assert.Equal(expected, TransactionLog.ValueBytes(transit, 0));
    }

    [Fact]
    public void ValueV1_IsFlexible_WithTheTv2TaggedFields()
    {
        // A TV2 PrepareCommit. PreviousProducerId (tag 0) is written because Kafka sets it on every transition;
        // NextProducerId (tag 1) is -1, its default, so it is left out; ClientTransactionVersion is tag 2.
        var transit = new TxnTransitMetadata(1000, 1000, -1, 6, 5, 60_000, TransactionState.PrepareCommit, [Foo0], 1500, 3000, TransactionVersion.TV2);
        var expected = Hex(
            "0001" +                  // value version 1
            "00000000000003E8" +      // ProducerId 1000
            "0006" +                  // ProducerEpoch 6
            "0000EA60" +              // TransactionTimeoutMs 60000
            "02" +                    // TransactionStatus PrepareCommit
            "02" +                    // TransactionPartitions: compact length 1 + 1
            "04 666F6F" +             //   Topic "foo" (compact: length 3 + 1)
            "02 00000000" +           //   PartitionIds: compact length 1 + 1, partition 0
            "00" +                    //   no tagged fields in the partition entry
            "0000000000000BB8" +      // TransactionLastUpdateTimestampMs 3000
            "00000000000005DC" +      // TransactionStartTimestampMs 1500
            "02" +                    // two tagged fields
            "00 08 00000000000003E8" + //  tag 0 PreviousProducerId, 8 bytes, 1000
            "02 02 0002");            //  tag 2 ClientTransactionVersion, 2 bytes, 2
        Assert.Equal(expected, TransactionLog.ValueBytes(transit, 1));
    }

    [Fact]
    public void EmptyValue_HasANullPartitionArray()
    {
        var transit = new TxnTransitMetadata(1000, -1, -1, 0, -1, 60_000, TransactionState.Empty, [], -1, 3000, TransactionVersion.TV0);
        var v0 = TransactionLog.ValueBytes(transit, 0);
        Assert.Equal(Hex("FFFFFFFF"), v0[17..21]); // int32 -1 after 2 + 8 + 2 + 4 + 1 bytes
        var v1 = TransactionLog.ValueBytes(transit, 1);
        Assert.Equal(0, v1[17]); // compact null array
        Assert.Equal(0, v1[^1]); // no tagged fields: every one at its default
        Assert.Throws<InvalidOperationException>(() => TransactionLog.ValueBytes(transit with { TopicPartitions = [Foo0] }, 1));
    }

    [Fact]
    public void KafkaFourZeroValue_WithOnlyTheClientVersionTag_IsRead()
    {
        // Kafka 4.0/4.1 writes no producer id links: version 1, CompleteCommit, no partitions, tag 2 only.
        var key = TransactionLog.KeyBytes("t");
        var value = Hex("0001 00000000000003E8 0007 0000EA60 04 01 0000000000000BB8 00000000000005DC 01 02 02 0002");
        var entry = TransactionLog.Read(key, value, valueIsNull: false)!;
        var m = entry.Metadata!;
        Assert.Equal("t", entry.TransactionalId);
        Assert.Equal((1000L, -1L, -1L, (short)7, (short)-1, TransactionState.CompleteCommit, TransactionVersion.TV2),
            (m.ProducerId, m.PrevProducerId, m.NextProducerId, m.ProducerEpoch, m.LastProducerEpoch, m.State, m.ClientTransactionVersion));
        Assert.Empty(m.TopicPartitions);
        Assert.Equal((1500L, 3000L, 60_000), (m.TxnStartTimestamp, m.TxnLastUpdateTimestamp, m.TxnTimeoutMs));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void EveryStoredState_RoundTrips(short version)
    {
        // Mirrors TransactionLogTest.shouldReadWriteMessages over the states a record can hold.
        var clientVersion = version == 0 ? TransactionVersion.TV0 : TransactionVersion.TV2;
        foreach (var state in new[] { TransactionState.Empty, TransactionState.Ongoing, TransactionState.PrepareCommit, TransactionState.PrepareAbort,
                     TransactionState.CompleteCommit, TransactionState.CompleteAbort })
        {
            var partitions = state is TransactionState.Empty ? [] : new[] { Foo0, Foo1, Bar0 };
            var transit = Transit(state, clientVersion, partitions);
            var entry = TransactionLog.Read(TransactionLog.KeyBytes(Id), TransactionLog.ValueBytes(transit, version), false)!;
            Assert.Equal(Id, entry.TransactionalId);
            var loaded = entry.Metadata!.Snapshot();
            // The last epoch is not stored, and version 0 has no producer id links.
            var expected = transit with
            {
                LastProducerEpoch = -1,
                PrevProducerId = version == 0 ? -1 : transit.PrevProducerId,
            };
            Assert.Equal(expected, loaded);
        }
    }

    [Fact]
    public void NextProducerId_SurvivesTheLog_AtVersionOne()
    {
        var transit = Transit(TransactionState.PrepareCommit, TransactionVersion.TV2, Foo0) with { NextProducerId = 4242, ProducerEpoch = short.MaxValue };
        var loaded = TransactionLog.Read(TransactionLog.KeyBytes(Id), TransactionLog.ValueBytes(transit, 1), false)!.Metadata!;
        Assert.Equal((4242L, short.MaxValue), (loaded.NextProducerId, loaded.ProducerEpoch));
    }

    [Fact]
    public void Tombstones_OtherKeys_AndBadValues()
    {
        var tombstone = TransactionLog.Read(TransactionLog.KeyBytes(Id), default, valueIsNull: true)!;
        Assert.Equal(Id, tombstone.TransactionalId);
        Assert.Null(tombstone.Metadata);

        Assert.Null(TransactionLog.Read(Hex("0001 0001 74"), default, valueIsNull: true));
        Assert.Throws<InvalidDataException>(() => TransactionLog.Read(TransactionLog.KeyBytes(Id), Hex("0002 00"), false));
        Assert.Throws<ProtocolException>(() => TransactionLog.Read(TransactionLog.KeyBytes(Id), Hex("0000 0000"), false));
        Assert.Throws<InvalidOperationException>(() => TransactionLog.ValueBytes(Transit(TransactionState.Dead, TransactionVersion.TV0), 0));
    }
}
