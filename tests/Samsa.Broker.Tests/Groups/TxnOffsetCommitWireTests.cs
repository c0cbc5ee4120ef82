using Samsa.Broker.Groups;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using static Samsa.Broker.Tests.Groups.Groups;

namespace Samsa.Broker.Tests.Groups;

/// <summary>
/// TxnOffsetCommit and the markers that end it on <c>__consumer_offsets</c>, with hand-built requests as a
/// transactional producer and a transaction coordinator send them, against a real in-process broker.
/// </summary>
public class TxnOffsetCommitWireTests
{
    private const long ProducerId = 4000;

    private static TxnOffsetCommitRequest TxnCommit(string groupId, string topic, int partition, long offset, int generation = -1) => new()
    {
        TransactionalId = "tx-" + groupId,
        GroupId = groupId,
        ProducerId = ProducerId,
        ProducerEpoch = 0,
        GenerationId = generation,
        Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, CommittedOffset = offset, CommittedMetadata = "txn" }] }],
    };

    private static async Task<ErrorCode> TxnCommitAsync(TestClient client, TxnOffsetCommitRequest request, short version = 4)
    {
        var (_, response) = await client.RequestAsync<TxnOffsetCommitResponse>(request, version);
        return (ErrorCode)Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode;
    }

    private static async Task<(ErrorCode Error, long Offset)> FetchStableAsync(TestClient client, string groupId, string topic, int partition)
    {
        var request = new OffsetFetchRequest
        {
            RequireStable = true,
            Groups = [new() { GroupId = groupId, Topics = [new() { Name = topic, PartitionIndexes = [partition] }] }],
        };
        var (_, response) = await client.RequestAsync<OffsetFetchResponse>(request, 8);
        var group = Assert.Single(response.Groups);
        Assert.Equal(0, group.ErrorCode);
        var answer = Assert.Single(Assert.Single(group.Topics).Partitions);
        return ((ErrorCode)answer.ErrorCode, answer.CommittedOffset);
    }

    private static async Task<ErrorCode> MarkerAsync(TestClient client, int offsetsPartition, bool commit)
    {
        var request = new WriteTxnMarkersRequest
        {
            Markers =
            [
                new()
                {
                    ProducerId = ProducerId, ProducerEpoch = 0, TransactionResult = commit, CoordinatorEpoch = 0,
                    Topics = [new() { Name = GroupCoordinator.OffsetsTopic, PartitionIndexes = [offsetsPartition] }],
                },
            ],
        };
        var (_, response) = await client.RequestAsync<WriteTxnMarkersResponse>(request, 1);
        return (ErrorCode)Assert.Single(Assert.Single(Assert.Single(response.Markers).Topics).Partitions).ErrorCode;
    }

    [Fact]
    public async Task ATransactionalCommit_IsUnstableUntilTheCommitMarker_ThenFetched()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "txg");
        var partition = broker.Broker.Groups!.PartitionFor("txg");
        var offsetsLog = broker.Broker.Logs.Get(GroupCoordinator.OffsetsTopic, partition)!;

        Assert.Equal(ErrorCode.None, await TxnCommitAsync(client, TxnCommit("txg", "t", 0, 42)));

        Assert.Equal((ErrorCode.UnstableOffsetCommit, -1L), await FetchStableAsync(client, "txg", "t", 0));
        var (_, plain) = await FetchAsync(client, "txg", "t", 0);
        Assert.Equal(-1, plain[0].Offset);
        // The offsets are an open transaction in the log: the last stable offset stays below them.
        Assert.True(offsetsLog.LastStableOffset < offsetsLog.LogEndOffset);

        Assert.Equal(ErrorCode.None, await MarkerAsync(client, partition, commit: true));

        Assert.Equal((ErrorCode.None, 42L), await FetchStableAsync(client, "txg", "t", 0));
        Assert.Equal(offsetsLog.LogEndOffset, offsetsLog.LastStableOffset);
    }

    [Fact]
    public async Task AnAbortMarker_LeavesTheOffsetUncommitted()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "txa");
        var partition = broker.Broker.Groups!.PartitionFor("txa");
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("txa", "t", 0, 5)));

        Assert.Equal(ErrorCode.None, await TxnCommitAsync(client, TxnCommit("txa", "t", 0, 42), version: 0));
        Assert.Equal(ErrorCode.None, await MarkerAsync(client, partition, commit: false));

        Assert.Equal((ErrorCode.None, 5L), await FetchStableAsync(client, "txa", "t", 0));
    }

    [Fact]
    public async Task AnUnknownGroupWithAGeneration_IsIllegalGeneration_AndNothingIsWritten()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "txu");
        var offsetsLog = broker.Broker.Logs.Get(GroupCoordinator.OffsetsTopic, broker.Broker.Groups!.PartitionFor("txu"))!;
        var end = offsetsLog.LogEndOffset;

        Assert.Equal(ErrorCode.IllegalGeneration, await TxnCommitAsync(client, TxnCommit("txu", "t", 0, 42, generation: 1)));

        Assert.Equal(end, offsetsLog.LogEndOffset);
        Assert.Null(broker.Broker.Groups.ShardFor("txu").Shard!.Describe("txu"));
    }

    [Fact]
    public async Task AMarkerForAnOffsetsPartitionThisBrokerDoesNotCoordinate_IsNotLeaderOrFollower()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");

        // No __consumer_offsets yet: no shard, which the transaction coordinator must retry.
        Assert.Equal(ErrorCode.NotLeaderOrFollower, await MarkerAsync(client, 0, commit: true));
    }
}
