using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using static Samsa.Broker.Tests.Replication.ProduceFetchTests;

namespace Samsa.Broker.Tests.Replication;

/// <summary>
/// Idempotent and transactional batches through Produce, WriteTxnMarkers, Fetch, ListOffsets and DescribeProducers on an
/// in-process broker, with hand-built requests as Kafka's Java clients and a transaction coordinator send them.
/// </summary>
public class ProducerStateWireTests
{
    private const short ProduceVersion = 11;
    private const short FetchVersion = 12;

    private static byte[] Batch(long producerId, short epoch, int baseSequence, int count, bool transactional = false)
    {
        using var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence, IsTransactional = transactional };
        for (var i = 0; i < count; i++)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, System.Text.Encoding.UTF8.GetBytes($"v{baseSequence + i}"));
        }
        return builder.Build();
    }

    private static async Task<ProduceResponse.PartitionProduceResponse> ProduceAsync(TestClient client, string topic, byte[] batch) =>
        Assert.Single(Assert.Single((await client.RequestAsync<ProduceResponse>(Produce(topic, 0, batch), ProduceVersion)).Body.Responses).PartitionResponses);

    private static async Task<FetchResponse.PartitionData> FetchAsync(TestClient client, string topic, bool readCommitted)
    {
        var request = Fetch(topic, 0);
        request.IsolationLevel = (sbyte)(readCommitted ? 1 : 0);
        return Assert.Single(Assert.Single((await client.RequestAsync<FetchResponse>(request, FetchVersion)).Body.Responses).Partitions);
    }

    private static WriteTxnMarkersRequest Markers(string topic, long producerId, short epoch, bool commit, int coordinatorEpoch = 0) => new()
    {
        Markers =
        [
            new()
            {
                ProducerId = producerId, ProducerEpoch = epoch, TransactionResult = commit, CoordinatorEpoch = coordinatorEpoch,
                Topics = [new() { Name = topic, PartitionIndexes = [0] }],
            },
        ],
    };

    private static short MarkerError(WriteTxnMarkersResponse response) =>
        Assert.Single(Assert.Single(Assert.Single(response.Markers).Topics).Partitions).ErrorCode;

    [Fact]
    public async Task ARetriedBatch_GetsItsFirstOffset_AGapAndAStaleEpochGetKafkasErrors_AndTheLogHoldsOneCopy()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "idem");
        Assert.Equal(0, (await ProduceAsync(client, "idem", Batch(1000, 1, 0, 3))).BaseOffset);
        Assert.Equal(3, (await ProduceAsync(client, "idem", Batch(1000, 1, 3, 2))).BaseOffset);

        var retry = await ProduceAsync(client, "idem", Batch(1000, 1, 0, 3));
        var gap = await ProduceAsync(client, "idem", Batch(1000, 1, 9, 1));
        var stale = await ProduceAsync(client, "idem", Batch(1000, 0, 5, 1));

        Assert.Equal((0, 0L), (retry.ErrorCode, retry.BaseOffset));
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, gap.ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, stale.ErrorCode);
        Assert.Equal(5, broker.Broker.Logs.Get("idem", 0)!.LogEndOffset);
    }

    [Fact]
    public async Task AnOpenTransaction_IsHiddenFromReadCommitted_UntilItsMarker_AndAnAbortIsListed()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "txn");
        await ProduceAsync(client, "txn", Batch(2000, 0, 0, 2, transactional: true));

        var open = await FetchAsync(client, "txn", readCommitted: true);
        Assert.Equal((2L, 0L), (open.HighWatermark, open.LastStableOffset));
        Assert.Equal(0, open.Records!.Value.Length);
        Assert.True((await FetchAsync(client, "txn", readCommitted: false)).Records!.Value.Length > 0);
        var producers = await client.RequestAsync<DescribeProducersResponse>(new DescribeProducersRequest { Topics = [new() { Name = "txn", PartitionIndexes = [0] }] }, 0);
        var producer = Assert.Single(Assert.Single(Assert.Single(producers.Body.Topics).Partitions).ActiveProducers);
        Assert.Equal((2000L, 0, 1, 0L), (producer.ProducerId, producer.ProducerEpoch, producer.LastSequence, producer.CurrentTxnStartOffset));
        var latest = await client.RequestAsync<ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            IsolationLevel = 1,
            Topics = [new() { Name = "txn", Partitions = [new() { PartitionIndex = 0, Timestamp = -1 }] }],
        }, 8);
        Assert.Equal(0, Assert.Single(Assert.Single(latest.Body.Topics).Partitions).Offset);

        Assert.Equal(0, MarkerError((await client.RequestAsync<WriteTxnMarkersResponse>(Markers("txn", 2000, 0, commit: false, coordinatorEpoch: 3), 1)).Body));

        var ended = await FetchAsync(client, "txn", readCommitted: true);
        Assert.Equal((3L, 3L), (ended.HighWatermark, ended.LastStableOffset));
        Assert.True(ended.Records!.Value.Length > 0);
        var aborted = Assert.Single(ended.AbortedTransactions!);
        Assert.Equal((2000L, 0L), (aborted.ProducerId, aborted.FirstOffset));
        Assert.Null((await FetchAsync(client, "txn", readCommitted: false)).AbortedTransactions);
        producers = await client.RequestAsync<DescribeProducersResponse>(new DescribeProducersRequest { Topics = [new() { Name = "txn", PartitionIndexes = [0] }] }, 0);
        producer = Assert.Single(Assert.Single(Assert.Single(producers.Body.Topics).Partitions).ActiveProducers);
        Assert.Equal((-1L, 3), (producer.CurrentTxnStartOffset, producer.CoordinatorEpoch));
    }

    [Fact]
    public async Task Markers_FromAnOldEpochOrCoordinator_OrForAnUnknownPartition_AreRefused_AndClientsMayNotWriteThem()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "fence");
        await ProduceAsync(client, "fence", Batch(3000, 4, 0, 1, transactional: true));
        Assert.Equal(0, MarkerError((await client.RequestAsync<WriteTxnMarkersResponse>(Markers("fence", 3000, 4, commit: true, coordinatorEpoch: 7), 1)).Body));
        var end = broker.Broker.Logs.Get("fence", 0)!.LogEndOffset;

        Assert.Equal((short)ErrorCode.InvalidProducerEpoch,
            MarkerError((await client.RequestAsync<WriteTxnMarkersResponse>(Markers("fence", 3000, 3, commit: false, coordinatorEpoch: 7), 1)).Body));
        Assert.Equal((short)ErrorCode.TransactionCoordinatorFenced,
            MarkerError((await client.RequestAsync<WriteTxnMarkersResponse>(Markers("fence", 3000, 4, commit: false, coordinatorEpoch: 6), 1)).Body));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition,
            MarkerError((await client.RequestAsync<WriteTxnMarkersResponse>(Markers("nope", 3000, 4, commit: false), 1)).Body));
        var marker = RecordBatchBuilder.EndTransactionMarker(ControlRecordType.Commit, 3000, 4, 7, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal((short)ErrorCode.InvalidRecord, (await ProduceAsync(client, "fence", marker)).ErrorCode);
        Assert.Equal(end, broker.Broker.Logs.Get("fence", 0)!.LogEndOffset);
    }
}
